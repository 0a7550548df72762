// Package testkit holds the helpers the command's tests (internal/cli) and the end-to-end scenarios (e2e,
// e2e/agents) share: the MCP harness that runs the real server in-process, the sandbox CLI test double's
// environment, following a session's events, and a writer into the test log. One copy, so a fix to the
// harness reaches every test.
package testkit

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// RunFunc is the command's entry point (cli.Run), passed in so that this package does not import the
// command and the command's own tests can use it.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error

// Harness calls the tools of one MCP server through a real MCP client. It is safe for concurrent use:
// tests fan calls out over goroutines.
type Harness struct {
	T      *testing.T
	Client *client.Client
	Env    map[string]string
	State  string // the server's --state-dir, when Start saw one
	// CallTimeout bounds one tool call (default 90 s); real agents get longer.
	CallTimeout time.Duration

	mu    sync.Mutex
	calls map[string][]time.Duration // each tool's call times, logged when the test ends (Start)
}

// New is a harness over an initialized client c.
func New(t *testing.T, c *client.Client, env map[string]string) *Harness {
	return &Harness{T: t, Client: c, Env: env, calls: map[string][]time.Duration{}}
}

// ServerID reads a session's sandbox-agent server id from the server's state: unique per session, it
// picks out that session's processes on this machine.
func (h *Harness) ServerID(sandbox, session string) string {
	h.T.Helper()
	data, err := os.ReadFile(filepath.Join(h.State, "sessions", sandbox, session+".json"))
	if err != nil {
		h.T.Fatal(err)
	}
	var rec struct {
		ServerID string `json:"server_id"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || rec.ServerID == "" {
		h.T.Fatalf("session record %s/%s: %v", sandbox, session, err)
	}
	return rec.ServerID
}

// Options are StartWith's extras.
type Options struct {
	Stdout io.Writer // also receives every byte the server writes to stdout (each JSON-RPC message)
	Stderr io.Writer // also receives the server's log
	Client []client.ClientOption
}

// Start starts run with args and an environment made of env only (nothing leaks from the test's), over
// pipes, with a real MCP client on the other end: the stdio framing, the worker pool and the handlers are
// all the production ones. The server stops when the test ends.
func Start(t *testing.T, run RunFunc, args []string, env map[string]string) *Harness {
	t.Helper()
	return StartWith(t, run, args, env, Options{})
}

// StartWith is Start with the server's output captured and client options.
func StartWith(t *testing.T, run RunFunc, args []string, env map[string]string, o Options) *Harness {
	t.Helper()
	var stderr io.Writer = LogWriter(t)
	if o.Stderr != nil {
		stderr = io.MultiWriter(o.Stderr, stderr)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		err := run(ctx, args, getenv, inR, outW, stderr)
		outW.Close()
		done <- err
	}()
	var out io.Reader = outR
	if o.Stdout != nil {
		out = io.TeeReader(outR, o.Stdout)
	}
	c := client.NewClient(transport.NewIO(out, inW, nil), o.Client...)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	ictx, icancel := context.WithTimeout(ctx, 10*time.Second)
	defer icancel()
	if _, err := c.Initialize(ictx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	h := New(t, c, env)
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--state-dir="); ok {
			h.State = v
		}
	}
	t.Cleanup(func() {
		_ = c.Close()
		inW.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("server did not stop within 20 s")
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for name, ds := range h.calls {
			var total time.Duration
			for _, d := range ds {
				total += d
			}
			t.Logf("%s: %d calls, mean %v", name, len(ds), total/time.Duration(len(ds)))
		}
	})
	return h
}

// InProcess is a harness over srv through mcp-go's in-process client, initialized: for tests that need
// the server's parts (its manager) at hand.
func InProcess(t *testing.T, srv *server.MCPServer, env map[string]string) *Harness {
	t.Helper()
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: t.Name(), Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return New(t, c, env)
}

// Call invokes a tool and returns its result; a protocol error fails the test.
func (h *Harness) Call(name string, args map[string]any) *mcp.CallToolResult {
	h.T.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	timeout := h.CallTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	res, err := h.Client.CallTool(ctx, req)
	h.mu.Lock()
	h.calls[name] = append(h.calls[name], time.Since(start))
	h.mu.Unlock()
	if err != nil {
		h.T.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

// OK calls a tool that must succeed and decodes its structured content into out.
func (h *Harness) OK(name string, args map[string]any, out any) {
	h.T.Helper()
	res := h.Call(name, args)
	if res.IsError {
		h.T.Fatalf("%s(%v) failed: %s", name, args, Text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		h.T.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		h.T.Fatalf("%s: decode %s: %v", name, b, err)
	}
}

// Fails calls a tool that must return an error result, and returns its text.
func (h *Harness) Fails(name string, args map[string]any) string {
	h.T.Helper()
	res := h.Call(name, args)
	if !res.IsError {
		h.T.Fatalf("%s(%v) succeeded, want an error result: %s", name, args, Text(res))
	}
	return Text(res)
}

// Text is the text content of a tool result, one part a line.
func Text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
