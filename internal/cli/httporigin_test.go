package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const initBodyJSON = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestHTTPOrigin: the Origin header is validated as the MCP specification requires: none (non-browser
// clients) and loopback origins of the server's own port pass, and so do --http-allowed-origins; any other
// origin is 403 with a JSON body, before the token is even looked at.
func TestHTTPOrigin(t *testing.T) {
	s := startHTTP(t, "127.0.0.1:0", httpTestToken, httpOptions{AllowedOrigins: []string{"https://mcp.example.com"}})
	port := s.url[strings.LastIndex(s.url, ":")+1 : strings.LastIndex(s.url, "/")]
	tests := []struct {
		name    string
		method  string
		origins []string
		token   bool
		status  int
	}{
		{"no Origin (a non-browser client)", http.MethodPost, nil, true, 200},
		{"127.0.0.1 on our port", http.MethodPost, []string{"http://127.0.0.1:" + port}, true, 200},
		{"localhost on our port", http.MethodPost, []string{"http://localhost:" + port}, true, 200},
		{"::1 on our port", http.MethodPost, []string{"http://[::1]:" + port}, true, 200},
		{"letter case does not matter", http.MethodPost, []string{"HTTP://LocalHost:" + port}, true, 200},
		{"an allowed origin", http.MethodPost, []string{"https://mcp.example.com"}, true, 200},
		{"an allowed origin with its default port", http.MethodPost, []string{"https://mcp.example.com:443"}, true, 200},
		{"a foreign origin", http.MethodPost, []string{"http://evil.example"}, true, 403},
		{"a rebound name on our port", http.MethodPost, []string{"http://evil.example:" + port}, true, 403},
		{"loopback on another port", http.MethodPost, []string{"http://127.0.0.1:1"}, true, 403},
		{"https on our port", http.MethodPost, []string{"https://127.0.0.1:" + port}, true, 403},
		{"the allowed host over http", http.MethodPost, []string{"http://mcp.example.com"}, true, 403},
		{"null (sandboxed frame, file://)", http.MethodPost, []string{"null"}, true, 403},
		{"not an origin", http.MethodPost, []string{"http://127.0.0.1:" + port + "/path"}, true, 403},
		{"two Origin headers", http.MethodPost, []string{"http://127.0.0.1:" + port, "http://evil.example"}, true, 403},
		{"a foreign origin opening the event stream", http.MethodGet, []string{"http://evil.example"}, true, 403},
		{"a foreign origin without a token", http.MethodPost, []string{"http://evil.example"}, false, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, tt.method, s.url, strings.NewReader(initBodyJSON))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.token {
				req.Header.Set("Authorization", "Bearer "+httpTestToken)
			}
			for _, o := range tt.origins {
				req.Header.Add("Origin", o)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == 200 && tt.status == 200 {
				return // a GET that passed would be an endless event stream: the status is the answer
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.500s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 403 {
				var e struct{ Error, ErrorDescription string }
				if json.Unmarshal(body, &e) != nil || e.Error != "forbidden_origin" || !strings.Contains(string(body), "--http-allowed-origins") {
					t.Errorf("403 body %q, want a JSON forbidden_origin error that says what to do", body)
				}
			}
		})
	}
	if !strings.Contains(s.logs.String(), "origin that is not allowed") {
		t.Error("refused origins are not logged")
	}
}

// TestHTTPBodyDeadline: a client that sends its headers and then trickles its body, one byte every 50 ms,
// is answered 408 and disconnected once the body deadline passes, instead of holding the connection. One
// without the token gets its 401 at once and is disconnected at the same deadline.
func TestHTTPBodyDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	s := startHTTP(t, "127.0.0.1:0", httpTestToken, httpOptions{BodyTimeout: deadline})
	addr := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), httpEndpoint)
	for _, tt := range []struct {
		name   string
		token  string
		status int
	}{
		{"with the token", httpTestToken, http.StatusRequestTimeout},
		{"without the token", "wrong-token-0000000000", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
				"Accept: application/json, text/event-stream\r\nContent-Length: 100000\r\n\r\n{", httpEndpoint, addr, tt.token)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			// Far longer than the deadline; the trickle alone would take 100 000 × 50 ms.
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to a trickled body: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			// The server hangs up: the read ends in EOF (or a reset), not at our 30 s deadline.
			if _, err := io.Copy(io.Discard, br); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("the connection is still open while the body trickles: %v", err)
				}
			}
		})
	}
}

// TestReadBodyLiftsDeadline: once the body is in, the handler may run far past the body deadline (a long
// poll) without its request being cancelled, which an http.Server ReadTimeout would do.
func TestReadBodyLiftsDeadline(t *testing.T) {
	const deadline = 100 * time.Millisecond
	srv := httptest.NewServer(readBody(deadline, 1<<20, slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case <-time.After(5 * deadline):
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok %s", b)
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok hello" {
		t.Errorf("a handler running past the body deadline: %d %q, want 200 \"ok hello\"", resp.StatusCode, body)
	}
}
