package acp

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAgent imitates the HTTP surface of sandbox-agent 0.4.2 that the client uses (docs/upstream/sandbox-agent.md
// §5, §6, §9, §10):
//
//   - GET /v1/health: {"status":"ok"}, or 401 token_invalid when a token is set and not sent.
//   - POST /v1/acp/{id}: the first POST for an id needs ?agent= (else 400 invalid_request); requests get 200
//     with a JSON-RPC response (method "fail" gets a -32601 error, method "block" waits until release is
//     closed), notifications and client responses get 202 with no body.
//   - GET /v1/acp/{id}: 404 session_not_found for an unknown id, else an event stream replaying the
//     scripted envelopes with ids > Last-Event-ID, then heartbeats until the client leaves.
//   - DELETE /v1/acp/{id}: never returns (the 0.4.2 bug) until the client gives up.
type fakeAgent struct {
	srv       *httptest.Server
	token     string
	heartbeat time.Duration
	release   chan struct{} // closed to release "block" requests
	quit      chan struct{} // closed at cleanup so no handler outlives the test

	mu      sync.Mutex
	servers map[string]string // server id → agent
	events  []string          // envelopes streamed by every known server id; SSE id = index+1
	posts   []string          // request URIs of POSTs, in order
}

func newFakeAgent(t *testing.T, token string) *fakeAgent {
	t.Helper()
	fa := &fakeAgent{
		token:     token,
		heartbeat: 20 * time.Millisecond,
		release:   make(chan struct{}),
		quit:      make(chan struct{}),
		servers:   map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", fa.health)
	mux.HandleFunc("POST /v1/acp/{id}", fa.post)
	mux.HandleFunc("GET /v1/acp/{id}", fa.stream)
	mux.HandleFunc("DELETE /v1/acp/{id}", fa.delete)
	fa.srv = httptest.NewServer(fa.auth(mux))
	t.Cleanup(fa.srv.Close)
	t.Cleanup(func() { close(fa.quit) }) // runs first: unblocks hanging handlers before Close waits for them
	return fa
}

// addServer registers a server id as if its first POST had happened, with the envelopes its SSE replays.
func (fa *fakeAgent) addServer(id string, events ...string) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.servers[id] = "mock"
	fa.events = append(fa.events, events...)
}

func (fa *fakeAgent) postURIs() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return append([]string(nil), fa.posts...)
}

func (fa *fakeAgent) port() int { return fa.srv.Listener.Addr().(*net.TCPAddr).Port }

func problem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:sandbox-agent:error:" + kind, "title": http.StatusText(status), "status": status, "detail": detail,
	})
}

func (fa *fakeAgent) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fa.token != "" && r.Header.Get("Authorization") != "Bearer "+fa.token {
			problem(w, http.StatusUnauthorized, "token_invalid", "token invalid")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func accepts(r *http.Request, typ string) bool {
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, typ) || strings.Contains(a, "*/*")
}

func (fa *fakeAgent) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"ok"}`)
}

func (fa *fakeAgent) post(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	fa.mu.Lock()
	fa.posts = append(fa.posts, r.URL.RequestURI())
	fa.mu.Unlock()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported media type: content-type must be application/json")
		return
	}
	if !accepts(r, "application/json") {
		problem(w, http.StatusNotAcceptable, "not_acceptable", "accept must allow application/json")
		return
	}
	var env Envelope
	if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", "invalid request: request body must be a JSON-RPC object")
		return
	}
	fa.mu.Lock()
	agent, known := fa.servers[id]
	switch q := r.URL.Query().Get("agent"); {
	case !known && q == "":
		fa.mu.Unlock()
		problem(w, http.StatusBadRequest, "invalid_request", "invalid request: missing required 'agent' query parameter for first POST to /v1/acp/"+id)
		return
	case known && q != "" && q != agent:
		fa.mu.Unlock()
		problem(w, http.StatusConflict, "conflict", fmt.Sprintf("conflict: server '%s' already exists for agent '%s'; requested '%s'", id, agent, q))
		return
	case !known:
		fa.servers[id] = q
	}
	fa.mu.Unlock()

	if !env.IsRequest() { // notification or our response to an agent request
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch env.Method {
	case "block":
		select {
		case <-fa.release:
		case <-r.Context().Done():
			return
		case <-fa.quit:
			return
		}
	case "fail":
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found","data":{"details":"no such method"}}}`, env.ID)
		return
	}
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"method":%q,"params":%s}}`, env.ID, env.Method, orNull(env.Params))
}

func orNull(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(raw)
}

func (fa *fakeAgent) stream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !accepts(r, "text/event-stream") {
		problem(w, http.StatusNotAcceptable, "not_acceptable", "accept must allow text/event-stream")
		return
	}
	fa.mu.Lock()
	_, known := fa.servers[id]
	events := append([]string(nil), fa.events...)
	fa.mu.Unlock()
	if !known {
		problem(w, http.StatusNotFound, "session_not_found", "session not found: "+id)
		return
	}
	var last int
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		last, _ = strconv.Atoi(h)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := w.(http.Flusher).Flush
	flush()
	for i, env := range events {
		if i+1 > last {
			fmt.Fprintf(w, "event: message\nid: %d\ndata: %s\n\n", i+1, env)
		}
	}
	flush()
	tick := time.NewTicker(fa.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			fmt.Fprint(w, ": heartbeat\n\n")
			flush()
		case <-r.Context().Done():
			return
		case <-fa.quit:
			return
		}
	}
}

func (fa *fakeAgent) delete(w http.ResponseWriter, r *http.Request) {
	select { // 0.4.2: DELETE never returns
	case <-r.Context().Done():
	case <-fa.quit:
	}
}
