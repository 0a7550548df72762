package acp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// newFakeAgent is the fake sandbox-agent (internal/fakeagent) as an echo agent: every request is answered
// {"method":…,"params":…}, "fail" with a -32601 error, and "block" is held. Heartbeats come every 20 ms.
func newFakeAgent(t *testing.T, token string) *fakeagent.Agent {
	t.Helper()
	return fakeagent.New(t, fakeagent.Options{Token: token, Echo: true, Heartbeat: 20 * time.Millisecond})
}

// httpClient reaches fa over its in-memory connections: no socket, so a synctest bubble sees every wait.
func httpClient(fa *fakeagent.Agent, serverID string) *Client {
	return &Client{T: &HTTP{BaseURL: fakeagent.URL, Token: fa.Token(), Client: fa.Client()}, ServerID: serverID}
}

func TestClientRequest(t *testing.T) {
	tests := []struct {
		name       string
		known      bool // the server id exists already (its first POST happened)
		agent      string
		method     string
		params     any
		wantResult string
		wantRPC    int    // JSON-RPC error code, when an *RPCError is expected
		wantKind   string // problem kind, when a *ProblemError is expected
		wantStatus int
	}{
		{name: "first request with agent gets the JSON-RPC result", agent: "mock", method: MethodInitialize,
			params: map[string]any{"protocolVersion": 1}, wantResult: `{"method":"initialize","params":{"protocolVersion":1}}`},
		{name: "later request without agent gets the result", known: true, method: MethodNew,
			params: map[string]any{"cwd": "/ws", "mcpServers": []any{}}, wantResult: `{"method":"session/new","params":{"cwd":"/ws","mcpServers":[]}}`},
		{name: "JSON-RPC error in a 200 reply is an *RPCError", known: true, method: "fail", wantRPC: -32601},
		{name: "first request without agent is a 400 invalid_request problem", method: MethodInitialize,
			wantKind: "invalid_request", wantStatus: http.StatusBadRequest},
		{name: "another agent on an existing id is a 409 conflict problem", known: true, agent: "claude", method: MethodInitialize,
			wantKind: "conflict", wantStatus: http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAgent(t, "")
			if tt.known {
				fa.AddServer("sdk-mock-1", "mock")
			}
			c := httpClient(fa, "sdk-mock-1")
			got, err := c.Request(t.Context(), Request{ID: NumberID(1), Method: tt.method, Params: tt.params}, tt.agent, 5*time.Second)
			switch {
			case tt.wantRPC != 0:
				var re *RPCError
				if !errors.As(err, &re) {
					t.Fatalf("got %v, want an *RPCError", err)
				}
				if re.Code != tt.wantRPC {
					t.Errorf("RPC error code: got %d, want %d", re.Code, tt.wantRPC)
				}
			case tt.wantKind != "":
				var pe *ProblemError
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want a *ProblemError", err)
				}
				if pe.Kind() != tt.wantKind || pe.Status != tt.wantStatus {
					t.Errorf("problem: got %d %s, want %d %s", pe.Status, pe.Kind(), tt.wantStatus, tt.wantKind)
				}
			default:
				if err != nil {
					t.Fatalf("Request: %v", err)
				}
				if string(got) != tt.wantResult {
					t.Errorf("result: got %s, want %s", got, tt.wantResult)
				}
			}
		})
	}
}

func TestClientRequestSendsAgentOnlyWhenGiven(t *testing.T) {
	fa := newFakeAgent(t, "")
	c := httpClient(fa, "sdk mock/1") // escaped into one path segment
	if _, err := c.Request(t.Context(), Request{ID: NumberID(0), Method: MethodInitialize}, "mock", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(t.Context(), Request{ID: StringID("x"), Method: MethodNew}, "", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, want := fa.Posts(), []string{"/v1/acp/sdk%20mock%2F1?agent=mock", "/v1/acp/sdk%20mock%2F1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POSTs: got %q, want %q", got, want)
	}
}

func TestClientPost(t *testing.T) {
	tests := []struct {
		name     string
		known    bool
		env      json.Marshaler
		wantKind string
	}{
		{name: "a notification is accepted with 202", known: true,
			env: Notification{Method: MethodCancel, Params: CancelParams{SessionID: "s"}}},
		{name: "a permission answer is accepted with 202", known: true,
			env: Response{ID: StringID("perm-1"), Result: SelectOption("allow")}},
		{name: "an envelope encoded already is accepted with 202", known: true,
			env: json.RawMessage(`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s"}}`)},
		{name: "a post to an id that was never started is an invalid_request problem",
			env: Notification{Method: MethodCancel}, wantKind: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAgent(t, "")
			if tt.known {
				fa.AddServer("s1", "mock")
			}
			err := httpClient(fa, "s1").Post(t.Context(), tt.env, 5*time.Second)
			if tt.wantKind == "" {
				if err != nil {
					t.Errorf("Post: got %v, want nil", err)
				}
				return
			}
			var pe *ProblemError
			if !errors.As(err, &pe) || pe.Kind() != tt.wantKind {
				t.Errorf("Post: got %v, want a %s problem", err, tt.wantKind)
			}
		})
	}
}

func TestClientStart(t *testing.T) {
	t.Parallel()
	tests := []startCase{
		{name: "a reply within the wait is done", method: MethodPrompt, wait: 5 * time.Second, wantDone: true,
			wantResult: `{"method":"session/prompt","params":{"sessionId":"s"}}`},
		{name: "a reply slower than the wait means started: no result, not done, no error", method: "block",
			wait: 300 * time.Millisecond},
		{name: "an agent error is returned, not done", method: "fail", wait: 5 * time.Second, wantRPC: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { testClientStart(t, tt) })
		})
	}
}

type startCase struct {
	name       string
	method     string
	wait       time.Duration
	wantDone   bool
	wantResult string
	wantRPC    bool
}

// testClientStart runs in a synctest bubble: the wait is measured on the fake clock, exactly.
func testClientStart(t *testing.T, tt startCase) {
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock")
	start := time.Now()
	req, err := Request{ID: StringID("turn-1"), Method: tt.method, Params: map[string]any{"sessionId": "s"}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, done, err := httpClient(fa, "s1").Start(t.Context(), req, tt.wait)
	elapsed := time.Since(start)
	if done != tt.wantDone || string(got) != tt.wantResult {
		t.Errorf("Start: got (%s, %v), want (%s, %v)", got, done, tt.wantResult, tt.wantDone)
	}
	var re *RPCError
	if tt.wantRPC != errors.As(err, &re) || (!tt.wantRPC && err != nil) {
		t.Errorf("Start error: got %v, want RPC error %v", err, tt.wantRPC)
	}
	if !tt.wantDone && !tt.wantRPC && elapsed != tt.wait {
		t.Errorf("Start returned after %v, want %v", elapsed, tt.wait)
	}
}

func TestClientCloseReturnsAfterTwoSecondsWhenDeleteHangs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fa := newFakeAgent(t, "")
		fa.AddServer("s1", "mock")
		start := time.Now()
		httpClient(fa, "s1").Close(t.Context())
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("Close took %v, want 2s", elapsed)
		}
	})
}

// sseEnvelopes are what a scripted agent's turn looks like on the stream.
var sseEnvelopes = []string{
	`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{},"authMethods":[]}}`,
	`{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s"}}`,
	`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Hel"}}}}`,
	`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"lo"}}}}`,
	`{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn"}}`,
}

type streamed struct {
	id   int64
	data string
}

func wantStreamed(from int64) []streamed {
	var out []streamed
	for i, env := range sseEnvelopes {
		if int64(i+1) > from {
			out = append(out, streamed{int64(i + 1), env})
		}
	}
	return out
}

func TestClientStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lastID int64
	}{
		{name: "from zero replays every envelope in order", lastID: 0},
		{name: "Last-Event-ID replays only later ids", lastID: 2},
		{name: "a caught-up client gets only heartbeats", lastID: int64(len(sseEnvelopes))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { testClientStream(t, tt.lastID) })
		})
	}
}

// testClientStream runs in a synctest bubble: maxDur passes on the fake clock, exactly.
func testClientStream(t *testing.T, lastID int64) {
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock", sseEnvelopes...)
	var got []streamed
	beats, connected := 0, 0
	const maxDur = 300 * time.Millisecond
	start := time.Now()
	err := httpClient(fa, "s1").Stream(t.Context(), lastID, maxDur, func(id int64, data []byte) error {
		got = append(got, streamed{id, string(data)})
		return nil
	}, func() { beats++ }, func() { connected++ })
	if err != nil {
		t.Fatalf("Stream: got %v, want nil once maxDur passes", err)
	}
	if connected != 1 {
		t.Errorf("connected called %d times, want once", connected)
	}
	if elapsed := time.Since(start); elapsed != maxDur {
		t.Errorf("Stream returned after %v, want %v", elapsed, maxDur)
	}
	if want := wantStreamed(lastID); !reflect.DeepEqual(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	// One per 20 ms, give or take the tick due at maxDur itself (the deadline falls at the same instant)
	// and the transport's ": connected" comment, which counts as one.
	if n := int(maxDur / (20 * time.Millisecond)); beats < n-1 || beats > n+1 {
		t.Errorf("%d heartbeats reached beat in %v, want one per 20 ms", beats, maxDur)
	}
}

func TestClientStreamStopsOnCallbackError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fa := newFakeAgent(t, "")
		fa.AddServer("s1", "mock", sseEnvelopes...)
		errStop := errors.New("stop")
		var ids []int64
		start := time.Now()
		err := httpClient(fa, "s1").Stream(t.Context(), 0, 10*time.Second, func(id int64, _ []byte) error {
			ids = append(ids, id)
			if id == 2 {
				return errStop
			}
			return nil
		}, nil, nil)
		if !errors.Is(err, errStop) {
			t.Errorf("Stream: got %v, want %v", err, errStop)
		}
		if want := []int64{1, 2}; !reflect.DeepEqual(ids, want) {
			t.Errorf("ids: got %v, want %v", ids, want)
		}
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("Stream took %v of the bubble's clock after the callback failed, want it to stop at once", elapsed)
		}
	})
}

func TestClientStreamUnknownIDIsSessionNotFound(t *testing.T) {
	fa := newFakeAgent(t, "")
	err := httpClient(fa, "gone").Stream(t.Context(), 0, 5*time.Second, func(int64, []byte) error { return nil }, nil, nil)
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Kind() != "session_not_found" || pe.Status != http.StatusNotFound {
		t.Errorf("Stream: got %v, want a 404 session_not_found problem", err)
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name        string
		serverToken string
		clientToken string
		wantKind    string
	}{
		{name: "a server without a token is healthy"},
		{name: "the right bearer token is accepted", serverToken: "s3cret", clientToken: "s3cret"},
		{name: "no bearer token is 401 token_invalid", serverToken: "s3cret", wantKind: "token_invalid"},
		{name: "a wrong bearer token is 401 token_invalid", serverToken: "s3cret", clientToken: "guess", wantKind: "token_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fa := newFakeAgent(t, tt.serverToken)
			err := Health(t.Context(), &HTTP{BaseURL: fakeagent.URL, Token: tt.clientToken, Client: fa.Client()}, 5*time.Second)
			if tt.wantKind == "" {
				if err != nil {
					t.Errorf("Health: got %v, want nil", err)
				}
				return
			}
			var pe *ProblemError
			if !errors.As(err, &pe) || pe.Kind() != tt.wantKind || pe.Status != http.StatusUnauthorized {
				t.Errorf("Health: got %v, want a 401 %s problem", err, tt.wantKind)
			}
		})
	}
}

func TestHTTPClosedPortIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://%s", ln.Addr())
	ln.Close()
	tr := &HTTP{BaseURL: base}
	c := &Client{T: tr, ServerID: "s1"}
	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Health", func(ctx context.Context) error { return Health(ctx, tr, 5*time.Second) }},
		{"Request", func(ctx context.Context) error {
			_, err := c.Request(ctx, Request{ID: NumberID(1), Method: MethodInitialize}, "mock", 5*time.Second)
			return err
		}},
		{"Post", func(ctx context.Context) error { return c.Post(ctx, Notification{Method: MethodCancel}, 5*time.Second) }},
		{"Stream", func(ctx context.Context) error {
			return c.Stream(ctx, 0, 5*time.Second, func(int64, []byte) error { return nil }, nil, nil)
		}},
	}
	for _, op := range ops {
		t.Run(op.name+" on a closed port is ErrUnreachable", func(t *testing.T) {
			if err := op.call(t.Context()); !errors.Is(err, ErrUnreachable) {
				t.Errorf("got %v, want ErrUnreachable", err)
			}
		})
	}
}

func TestProblemErrorParsing(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantKind   string
		wantString string
	}{
		{name: "problem+json keeps kind and detail", status: 404,
			body:     `{"type":"urn:sandbox-agent:error:session_not_found","title":"Not Found","status":404,"detail":"session not found: s1"}`,
			wantKind: "session_not_found", wantString: "sandbox-agent: HTTP 404 session_not_found: session not found: s1"},
		{name: "a body that is not problem+json becomes the title", status: 502, body: "<html>\n bad   gateway\n</html>",
			wantKind: "", wantString: "sandbox-agent: HTTP 502 : <html> bad gateway </html>"},
		{name: "an empty body still reports the status", status: 500, body: "",
			wantKind: "", wantString: "sandbox-agent: HTTP 500 : "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseProblem(tt.status, []byte(tt.body))
			var pe *ProblemError
			if !errors.As(err, &pe) {
				t.Fatalf("got %T, want *ProblemError", err)
			}
			if pe.Kind() != tt.wantKind || pe.Status != tt.status || err.Error() != tt.wantString {
				t.Errorf("got kind %q status %d %q, want kind %q status %d %q", pe.Kind(), pe.Status, err, tt.wantKind, tt.status, tt.wantString)
			}
		})
	}
}

// TestRPCErrorText: the reason an agent gives is in the error's text, wherever the adapter puts it.
func TestRPCErrorText(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"none", ``, "agent error -32603: Internal error"},
		{"details (claude-agent-acp, sandbox-agent)", `{"details":"Query closed"}`, "agent error -32603: Internal error: Query closed"},
		// codex-acp 0.16.0 when the model API answers 500 (measured).
		{"codex message and class", `{"codex_error_info":"internal_server_error","message":"We're currently experiencing high demand, which may cause temporary errors."}`,
			"agent error -32603: Internal error: We're currently experiencing high demand, which may cause temporary errors. (internal_server_error)"},
		{"not an object", `"text"`, "agent error -32603: Internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &RPCError{Code: -32603, Message: "Internal error", Data: json.RawMessage(tc.data)}
			if got := e.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
