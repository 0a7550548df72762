// Package fakeagent is an in-process stand-in for sandbox-agent 0.4.2's HTTP surface, for hermetic tests of
// the code that drives it (acp, manager). It follows what docs/upstream/sandbox-agent.md records of the real
// binary, section by section:
//
//   - §5: GET /v1/health answers {"status":"ok"}; GET /v1/acp lists the live server ids; POST, GET (SSE)
//     and DELETE /v1/acp/{server_id}.
//   - §6: the first POST for a server id needs ?agent= (else 400 invalid_request), another agent on a live id
//     is 409 conflict; Content-Type must be application/json (415) and Accept must allow it (406); a request
//     gets 200 with its JSON-RPC response, a notification or a response to the agent gets 202 with no body.
//     session/prompt is held open until the turn ends, and the turn goes on when the client stops waiting.
//     Every envelope from the agent (responses included, never the client's POSTs) goes to the SSE stream as
//     `event: message` / `id: N` / `data: …`, ids from 1 per server; a connecting stream gets the ring of the
//     last envelopes (1024 by default) above its Last-Event-ID (a stale id silently starts at the oldest kept),
//     then the live ones, with a `: heartbeat` comment every 15 s. An unknown id is 404 session_not_found.
//   - §6.1: ACP's initialize, session/new, session/set_mode, session/set_config_option, session/set_model,
//     authenticate, session/prompt (a Turn, scripted by the test: text, tool calls, usage_update) and the
//     session/cancel notification; the agent's session/request_permission requests are answered by a POSTed
//     response with the same id.
//   - §9: errors are application/problem+json {"type":"urn:sandbox-agent:error:<kind>",…}; an unknown
//     JSON-RPC method is HTTP 200 with error -32601; a missing or wrong token is 401 token_invalid.
//   - §10: DELETE never returns (the 0.4.2 bug) until the client gives up; the id leaves GET /v1/acp at once.
//
// Tests steer what the real binary only does under load or by accident: Drop withholds live envelopes from
// connected streams (the lagging broadcast of §6: a gap the ring can refill), a small Ring makes a gap
// unfillable, CloseStreams ends every stream (a dropped connection), Restart forgets every server id (a
// restarted sandbox-agent), Die makes it unreachable (killed, or its sandbox stopped) and Start brings up a
// fresh one after Die (the stopped sandbox started again).
//
// It serves over in-memory connections (net.Pipe, through Client or Dial), so tests can run inside a
// testing/synctest bubble with fake time; Listen serves it on a loopback port as well, for clients that
// need one (curl).
package fakeagent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure an Agent. The zero value is sandbox-agent's defaults and an agent that echoes prompts.
type Options struct {
	// Token, when set, is the bearer token every request must carry (§14).
	Token string
	// Heartbeat is the interval of `: heartbeat` comments on a stream (default 15 s, §6).
	Heartbeat time.Duration
	// Ring is how many envelopes a server keeps for replay (default 1024, §6).
	Ring int
	// Echo makes every request answer {"method":…,"params":…} (a transport test's echo agent), except
	// "fail" (a -32601 error) and "block" (held until Release). Otherwise the fake is an ACP agent (§6.1).
	Echo bool
	// Prompt runs each session/prompt turn; nil echoes the prompt's text back as one agent_message_chunk.
	// It runs in a goroutine of its own; returning without End ends the turn with end_turn.
	Prompt func(*Turn)
	// AgentInfo is initialize's agentInfo (default {"name":"fakeagent","version":"0.0.0"}); Init, when set,
	// replaces initialize's whole result.
	AgentInfo json.RawMessage
	Init      json.RawMessage
	// NewSession, when set, is session/new's result (default {"sessionId":"fake-session-N"}).
	NewSession json.RawMessage
}

// Agent is one fake sandbox-agent process.
type Agent struct {
	opts    Options
	handler http.Handler

	mu      sync.Mutex
	servers map[string]*server
	posts   []string // request URIs of POSTs, in order
	drop    int      // live envelopes still to withhold from connected streams
	gets    []int64  // the Last-Event-ID of every stream connected, in order (0: none)
	dead    bool
	closed  bool
	quit    chan struct{} // closed by Die or Close: every handler and turn of this life returns
	release chan struct{} // closed by Release: "block" requests return
	streams chan struct{} // closed and replaced by CloseStreams
	wg      sync.WaitGroup

	mem    *http.Server
	ln     *pipeListener
	client *http.Client
	hs     *httptest.Server
}

// server is what sandbox-agent holds for one server id: its agent, its replay ring, its live streams, the
// requests the agent waits on and the turns running.
type server struct {
	agent    string
	next     int64
	ring     []frame
	subs     map[chan frame]struct{}
	waiting  map[string]chan json.RawMessage // the agent's requests awaiting the client's response, by id
	turns    map[string]*Turn                // running turns, by sessionId
	cwds     map[string]string               // each session's cwd (session/new), by sessionId
	sessions int
	created  time.Time
}

type frame struct {
	id   int64
	data []byte
}

// New starts a fake sandbox-agent serving in memory, stopped at the test's end. Call it inside a synctest
// bubble when the test runs in one.
func New(tb testing.TB, opts Options) *Agent {
	tb.Helper()
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Ring <= 0 {
		opts.Ring = 1024
	}
	a := &Agent{opts: opts, servers: map[string]*server{}, quit: make(chan struct{}), release: make(chan struct{}),
		streams: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", a.health)
	mux.HandleFunc("GET /v1/acp", a.list)
	mux.HandleFunc("POST /v1/acp/{id}", a.post)
	mux.HandleFunc("GET /v1/acp/{id}", a.stream)
	mux.HandleFunc("DELETE /v1/acp/{id}", a.delete)
	a.handler = a.auth(mux)
	a.serveLocked()
	a.client = &http.Client{Transport: &http.Transport{DialContext: a.Dial}}
	tb.Cleanup(a.Close)
	return a
}

// serveLocked starts serving in memory on a fresh listener (at New, and at every Start). The caller holds
// a.mu or is New.
func (a *Agent) serveLocked() {
	a.ln = newPipeListener()
	a.mem = &http.Server{Handler: a.handler}
	go func(mem *http.Server, ln net.Listener) { _ = mem.Serve(ln) }(a.mem, a.ln)
}

// Token is the bearer token the fake wants ("" for none).
func (a *Agent) Token() string { return a.opts.Token }

// Handler is the fake's HTTP handler, for serving it some other way.
func (a *Agent) Handler() http.Handler { return a.handler }

// Client is an HTTP client whose every connection reaches this fake in memory, whatever the URL's host.
func (a *Agent) Client() *http.Client { return a.client }

// URL is the base URL to pair with Client (any host works).
const URL = "http://sandbox-agent"

// Dial opens an in-memory connection to the fake; once it died, it fails like a refused TCP connect.
func (a *Agent) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	a.mu.Lock()
	dead, ln := a.dead || a.closed, a.ln
	a.mu.Unlock()
	if dead {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return ln.dial(ctx)
}

// Listen serves the fake on a loopback port as well and returns its base URL (http://127.0.0.1:port).
func (a *Agent) Listen(tb testing.TB) string {
	tb.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hs == nil {
		a.hs = httptest.NewServer(a.handler)
	}
	return a.hs.URL
}

// Port is the loopback port Listen serves on.
func (a *Agent) Port() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hs.Listener.Addr().(*net.TCPAddr).Port
}

// Close stops the fake: every handler and turn returns, connections close. It is idempotent.
func (a *Agent) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	if !a.dead {
		close(a.quit)
	}
	hs, mem := a.hs, a.mem
	a.mu.Unlock()
	a.wg.Wait()
	_ = mem.Close()
	a.client.CloseIdleConnections()
	if hs != nil {
		hs.Close()
	}
}

// Die kills the fake as a crash would, or as stopping its sandbox does: streams, held requests and turns
// end, nothing more is emitted (a turn's script that returns on Stopped ends no turn), and every later
// connection is refused (acp.ErrUnreachable) until Start.
func (a *Agent) Die() {
	a.mu.Lock()
	if a.dead || a.closed {
		a.mu.Unlock()
		return
	}
	a.dead = true
	close(a.quit)
	hs, mem := a.hs, a.mem
	a.mu.Unlock()
	_ = mem.Close()
	a.client.CloseIdleConnections()
	if hs != nil {
		hs.CloseClientConnections()
		hs.Listener.Close()
	}
}

// Start brings a dead fake up again as a new sandbox-agent process, as starting a stopped sandbox does
// (the Docker backend's sandbox-agent is its container's main process): in memory only (a Listen port
// stays closed), with no server id from before, and connections are taken again. It does nothing unless
// the fake is dead.
func (a *Agent) Start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.dead || a.closed {
		return
	}
	a.dead = false
	a.quit = make(chan struct{})
	a.servers = map[string]*server{}
	a.serveLocked()
}

// Alive reports whether the fake takes connections: not dead (or dead and started again), not closed.
func (a *Agent) Alive() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.dead && !a.closed
}

// Restart forgets every server id, as a restarted sandbox-agent does: their streams end, and reconnecting
// to one is 404 session_not_found.
func (a *Agent) Restart() {
	a.mu.Lock()
	a.servers = map[string]*server{}
	a.mu.Unlock()
	a.CloseStreams()
}

// CloseStreams ends every SSE stream connected now, as a dropped connection does. Clients reconnect.
func (a *Agent) CloseStreams() {
	a.mu.Lock()
	close(a.streams)
	a.streams = make(chan struct{})
	a.mu.Unlock()
}

// Drop withholds the next n live envelopes from every connected stream (they still enter the ring), as
// sandbox-agent's broadcast does to a stream that falls behind (§6): the client sees a gap in the ids.
func (a *Agent) Drop(n int) {
	a.mu.Lock()
	a.drop += n
	a.mu.Unlock()
}

// Release lets every "block" request of an Echo agent return.
func (a *Agent) Release() { close(a.release) }

// Posts lists the request URIs of the POSTs received, in order.
func (a *Agent) Posts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.posts...)
}

// Connects lists the Last-Event-ID of every stream connected so far (0 when none was sent), in order.
func (a *Agent) Connects() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.gets...)
}

// Streams counts the SSE streams connected now, over all server ids.
func (a *Agent) Streams() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, s := range a.servers {
		n += len(s.subs)
	}
	return n
}

// AddServer registers a server id as if its first POST (for agent) had happened, with envelopes already
// emitted (ids from 1), as a stream would replay them.
func (a *Agent) AddServer(id, agent string, envelopes ...string) {
	a.mu.Lock()
	s := a.serverLocked(id, agent)
	a.mu.Unlock()
	for _, e := range envelopes {
		a.emit(s, []byte(e))
	}
}

// Emit sends an envelope from the agent of a server id to its streams; it returns the envelope's SSE id.
func (a *Agent) Emit(id string, envelope string) int64 {
	a.mu.Lock()
	s := a.servers[id]
	a.mu.Unlock()
	if s == nil {
		panic("fakeagent: Emit to unknown server id " + id)
	}
	return a.emit(s, []byte(envelope))
}

// life is the quit channel of the fake's current life: closed when it dies or closes.
func (a *Agent) life() chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.quit
}

// ServerIDs lists the live server ids.
func (a *Agent) ServerIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for id := range a.servers {
		ids = append(ids, id)
	}
	return ids
}

// LastID is the SSE id of the newest envelope of a server id (0 for none or an unknown id).
func (a *Agent) LastID(id string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.servers[id]; s != nil {
		return s.next
	}
	return 0
}

func (a *Agent) serverLocked(id, agent string) *server {
	s := a.servers[id]
	if s == nil {
		s = &server{agent: agent, subs: map[chan frame]struct{}{}, waiting: map[string]chan json.RawMessage{},
			turns: map[string]*Turn{}, cwds: map[string]string{}, created: time.Now()}
		a.servers[id] = s
	}
	return s
}

// emit numbers an envelope, keeps it in the ring and hands it to the live streams (unless withheld).
func (a *Agent) emit(s *server, data []byte) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return s.next // a dead process says nothing: no envelope reaches the ring or a stream
	}
	s.next++
	f := frame{id: s.next, data: data}
	s.ring = append(s.ring, f)
	if over := len(s.ring) - a.opts.Ring; over > 0 {
		s.ring = append(s.ring[:0:0], s.ring[over:]...)
	}
	if a.drop > 0 && len(s.subs) > 0 {
		a.drop--
		return f.id
	}
	for ch := range s.subs {
		select {
		case ch <- f:
		default: // a stream that falls behind skips envelopes, as the real broadcast does
		}
	}
	return f.id
}
