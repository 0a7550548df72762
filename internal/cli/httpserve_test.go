package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

const httpTestToken = "test-token-5b0c1e7d9a3f4e21"

// httpServer is serveHTTP running the real MCP server (newServer) on the sbx test double.
type httpServer struct {
	url  string
	logs *syncbuf.Buffer
}

// startHTTP serves newServer's MCP server with serveHTTP on addr until the test ends; cleanup checks that
// it stops cleanly and promptly.
func startHTTP(t *testing.T, addr, token string, opts ...httpOptions) *httpServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PATH": bin, "HOME": t.TempDir(), "FAKECLI_ROOT": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig([]string{"--backend=sbx", "--sbx-bin=" + filepath.Join(bin, "sbx"), "--state-dir=" + t.TempDir(),
		"--cli-env=FAKECLI_ROOT"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testkit.LogWriter(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, mgr, err := newServer(cfg, getenv, logger, redact.FromEnv(cfg.passEnv, getenv))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var o httpOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	go func() { done <- serveHTTP(ctx, srv, addr, token, o, logger, func(a net.Addr) { addrs <- a }) }()
	var bound net.Addr
	select {
	case bound = <-addrs:
	case err := <-done:
		cancel()
		t.Fatalf("serveHTTP: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serveHTTP did not report its address within 10 s")
	}
	t.Cleanup(func() {
		cancel()
		start := time.Now()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serveHTTP after cancel: %v", err)
			}
			if d := time.Since(start); d > httpShutdownGrace+time.Second {
				t.Errorf("shutdown took %v", d)
			}
		case <-time.After(httpShutdownGrace + 5*time.Second):
			t.Errorf("serveHTTP did not return after cancel")
		}
		mgr.Close()
		if strings.Contains(logs.String(), token) {
			t.Errorf("the token is in the server's log")
		}
	})
	return &httpServer{url: "http://" + bound.String() + httpEndpoint, logs: logs}
}

// connect starts an mcp-go Streamable HTTP client with Authorization: Bearer token and initializes it
// with protocol version v.
func (s *httpServer) connect(t *testing.T, token, v string) (*client.Client, error) {
	t.Helper()
	c, err := client.NewStreamableHttpClient(s.url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = v
	init.Params.ClientInfo = mcp.Implementation{Name: "http-test", Version: "1"}
	_, err = c.Initialize(ctx, init)
	return c, err
}

// TestHTTPServe: an mcp-go Streamable HTTP client with the token sees the same server as over stdio, in
// both protocol eras: tools with schemas, prompts, resources, and a tool call.
func TestHTTPServe(t *testing.T) {
	s := startHTTP(t, "127.0.0.1:0", httpTestToken)
	for _, v := range []string{"2025-06-18", mcp.LATEST_PROTOCOL_VERSION} {
		t.Run(v, func(t *testing.T) {
			c, err := s.connect(t, httpTestToken, v)
			if err != nil {
				t.Fatalf("initialize: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			testkit.CheckToolSchemas(t, tools.Tools)
			prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
			if err != nil || len(prompts.Prompts) == 0 {
				t.Errorf("prompts/list: %v, %d prompts", err, len(prompts.Prompts))
			}
			if _, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{}); err != nil {
				t.Errorf("resources/templates/list: %v", err)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "list_sandboxes"
			req.Params.Arguments = map[string]any{}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatalf("list_sandboxes: %v", err)
			}
			if res.IsError || res.StructuredContent == nil {
				t.Errorf("list_sandboxes: error %v, structured %v: %s", res.IsError, res.StructuredContent, testkit.Text(res))
			}
		})
	}
}

// TestHTTPUnauthorized: without the token, or with another one, every request is 401 with a Bearer
// challenge and a JSON body, and nothing reaches MCP.
func TestHTTPUnauthorized(t *testing.T) {
	s := startHTTP(t, "127.0.0.1:0", httpTestToken)
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	tests := []struct {
		name, method, auth string
		status             int
		challenge          string
	}{
		{"no Authorization header", http.MethodPost, "", 401, `Bearer realm="sandbox-mcp"`},
		{"a wrong token", http.MethodPost, "Bearer " + httpTestToken + "x", 401, `Bearer realm="sandbox-mcp", error="invalid_token"`},
		{"a prefix of the token", http.MethodPost, "Bearer " + httpTestToken[:10], 401, `Bearer realm="sandbox-mcp", error="invalid_token"`},
		{"the token as Basic credentials", http.MethodPost, "Basic " + httpTestToken, 401, `Bearer realm="sandbox-mcp"`},
		{"an empty bearer token", http.MethodPost, "Bearer ", 401, `Bearer realm="sandbox-mcp"`},
		{"GET of the event stream without a token", http.MethodGet, "", 401, `Bearer realm="sandbox-mcp"`},
		{"DELETE of a session without a token", http.MethodDelete, "", 401, `Bearer realm="sandbox-mcp"`},
		{"the right token, scheme in lower case", http.MethodPost, "bearer " + httpTestToken, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, s.url, strings.NewReader(initBody))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 401 {
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			var e struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.ErrorDescription == "" ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %q (%s), want a JSON error with a description", body, resp.Header.Get("Content-Type"))
			}
		})
	}

	// mcp-go's client reports the 401 as an authorization error.
	_, err := s.connect(t, "wrong-token-0000000000", "2025-06-18")
	if !errors.Is(err, transport.ErrAuthorizationRequired) {
		t.Errorf("initialize with a wrong token: %v, want transport.ErrAuthorizationRequired", err)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "HTTP request with a wrong bearer token") || strings.Contains(logs, "wrong-token-0000000000") {
		t.Errorf("want the failure logged without the token it carried")
	}
}

// TestHTTPProtections: mcp-go's DNS rebinding protection still answers behind our auth, other paths are
// 404, and an oversized body is refused.
func TestHTTPProtections(t *testing.T) {
	s := startHTTP(t, ":0", httpTestToken)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Errorf("--http :0 served %s, want loopback", s.url)
	}
	do := func(t *testing.T, path, host string, body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, strings.TrimSuffix(s.url, httpEndpoint)+path, body)
		req.Header.Set("Authorization", "Bearer "+httpTestToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(t, httpEndpoint, "attacker.example:80", strings.NewReader(`{}`)); code != http.StatusForbidden {
		t.Errorf("a rebinding Host header: status %d (%s), want 403", code, body)
	}
	if code, _ := do(t, "/other", "", strings.NewReader(`{}`)); code != http.StatusNotFound {
		t.Errorf("another path: status %d, want 404", code)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", httpMaxBody) + `"}}`
	if code, body := do(t, httpEndpoint, "", strings.NewReader(big)); code != http.StatusBadRequest || !strings.Contains(body, "request body too large") {
		t.Errorf("a body over %d bytes: status %d, %.200s; want 400, request body too large", httpMaxBody, code, body)
	}
}

// TestHTTPShutdown: an open event stream does not hold the server past its grace period.
func TestHTTPShutdown(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin")
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--backend=sbx", "--sbx-bin=" + filepath.Join(bin, "sbx"), "--state-dir=" + t.TempDir()},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testkit.LogWriter(t), nil))
	srv, mgr, err := newServer(cfg, func(string) string { return "" }, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(ctx, srv, "127.0.0.1:0", httpTestToken, httpOptions{}, logger, func(a net.Addr) { addrs <- a })
	}()
	url := "http://" + (<-addrs).String() + httpEndpoint

	//lint:ignore SA1019 the standalone GET stream is what this test must see closed at shutdown; hosts on
	// protocol versions before 2026-07-28 still open it.
	c, err := client.NewStreamableHttpClient(url, transport.WithContinuousListening(),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + httpTestToken}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	// A raw GET stream too, which the client above may or may not hold open at this moment.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+httpTestToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: status %d", resp.StatusCode)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveHTTP: %v", err)
		}
		t.Logf("stopped in %v with an open event stream", time.Since(start).Round(time.Millisecond))
	case <-time.After(httpShutdownGrace + 5*time.Second):
		t.Fatal("serveHTTP did not return")
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("still answering after shutdown")
	}
}

// TestHTTPRefusesToStart: no token, a weak token, or a bad address stops serveHTTP before it listens.
func TestHTTPRefusesToStart(t *testing.T) {
	tests := []struct {
		name, addr, token, want string
	}{
		{"0.0.0.0 without a token", "0.0.0.0:0", "", "--http needs a bearer token: set SANDBOX_MCP_HTTP_TOKEN or pass --http-token-file"},
		{"loopback without a token", "127.0.0.1:0", "", "--http needs a bearer token"},
		{"a short token", "127.0.0.1:0", "short", "5 characters long: use at least 16"},
		{"a token with a space", "127.0.0.1:0", "abcdefgh ijklmnopq", "printable ASCII without spaces"},
		{"an address without a port", "localhost", httpTestToken, `--http "localhost": want HOST:PORT or :PORT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			var logs bytes.Buffer
			err := serveHTTP(t.Context(), nil, tt.addr, tt.token, httpOptions{}, slog.New(slog.NewTextHandler(&logs, nil)), func(net.Addr) { called = true })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("serveHTTP(%q) = %v, want an error containing %q", tt.addr, err, tt.want)
			}
			if called {
				t.Errorf("ready was called")
			}
			if tt.token != "" && strings.Contains(err.Error()+logs.String(), tt.token) {
				t.Errorf("the token is in the error or the log")
			}
		})
	}
}

func TestHTTPToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have cleared bits
			t.Fatal(err)
		}
		return p
	}
	private := write("private", "  "+httpTestToken+"\n", 0o600)
	groupReadable := write("group", httpTestToken, 0o640)
	worldReadable := write("world", httpTestToken, 0o644)
	empty := write("empty", " \n", 0o600)
	tests := []struct {
		name, env, file, want, wantErr string
	}{
		{"the environment variable, trimmed", " " + httpTestToken + "\n", "", httpTestToken, ""},
		{"neither set gives no token", "", "", "", ""},
		{"a 0600 file, trimmed", "", private, httpTestToken, ""},
		{"a 0640 file is accepted", "", groupReadable, httpTestToken, ""},
		{"a 0644 file is refused", "", worldReadable, "", "readable by every user (mode 0644): chmod 600"},
		{"an empty file is refused", "", empty, "", "is empty"},
		{"a missing file is refused", "", filepath.Join(dir, "missing"), "", "no such file"},
		{"a directory is refused", "", dir, "", "not a regular file"},
		{"both set is refused", httpTestToken, private, "", "both SANDBOX_MCP_HTTP_TOKEN and --http-token-file are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadHTTPToken(func(k string) string {
				if k == httpTokenEnv {
					return tt.env
				}
				return ""
			}, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadHTTPToken = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), httpTestToken) {
					t.Errorf("the token is in the error")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("loadHTTPToken = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestHTTPListenAddr: a bare port binds loopback; any other address is kept.
func TestHTTPListenAddr(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "127.0.0.1:0": "127.0.0.1:0", "[::1]:9": "[::1]:9",
		"0.0.0.0:80": "0.0.0.0:80", "localhost:1": "localhost:1"} {
		if got, err := httpListenAddr(in); err != nil || got != want {
			t.Errorf("httpListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
