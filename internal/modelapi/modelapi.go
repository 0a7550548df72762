// Package modelapi serves scripted model APIs on the host's loopback for tests that run real coding agents
// (Claude Code, Codex, OpenCode): the Anthropic Messages API, the OpenAI Responses API and OpenAI-compatible
// chat completions, each streamed as the real API streams it. A test queues Steps; every model request the agent
// makes takes the next one (text, a tool call, a slow stream, or an HTTP failure), so a conversation is
// deterministic without a model provider. Requests the agent makes besides the conversation (titles, quota
// checks) can be answered without taking a step through Server.Aside.
package modelapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Step is the model's answer to one request.
type Step struct {
	Text string // streamed in chunks of about ChunkSize bytes; may be empty when Tool is set
	Tool *Tool  // a tool call after the text
	// Delay is the pause before each chunk: a slow model, for cancelling mid-stream.
	Delay time.Duration
	// Fail, when set, is the HTTP status to answer with instead (429, 500, 529 overloaded...), with the
	// provider's error body and ErrorMessage.
	Fail         int
	ErrorMessage string
	Usage        Usage // tokens reported; zero means a small made-up count
}

// Tool is a tool call the model makes.
type Tool struct {
	Name  string
	Input map[string]any
}

// Usage is a token count the API reports.
type Usage struct{ Input, Output int }

// Request is one request the agent made, as recorded.
type Request struct {
	Path   string
	Model  string
	Stream bool
	Body   map[string]any
	Aside  bool // answered by the Aside rule, not a step
	Step   int  // index of the step that answered it, -1 when none
}

// ChunkSize is how many bytes of text go in one streamed delta.
const ChunkSize = 8

// Server is a scripted model API on 127.0.0.1.
type Server struct {
	URL string // http://127.0.0.1:PORT, without a path
	// Aside, when set, picks requests answered with AsideText without taking a step.
	Aside     func(Request) bool
	AsideText string

	t     testing.TB
	srv   *http.Server
	mu    sync.Mutex
	steps []Step
	next  int
	reqs  []Request
	wake  chan struct{}
}

// start serves h on a free loopback port until the test ends.
func start(t testing.TB, route func(s *Server) http.Handler) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + l.Addr().String(), t: t, wake: make(chan struct{}, 1), AsideText: "ok"}
	s.srv = &http.Server{Handler: route(s), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Push queues steps for the next requests.
func (s *Server) Push(steps ...Step) {
	s.mu.Lock()
	s.steps = append(s.steps, steps...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Requests returns the requests recorded so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Pending is the number of queued steps not yet taken.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.steps) - s.next
}

// take records r and returns the step that answers it; ok=false for an aside. With no step queued, the
// request waits up to 30 s for a Push (an agent may ask before the test has queued the answer), then fails.
func (s *Server) take(r *http.Request, req *Request) (Step, bool, error) {
	aside := s.Aside != nil && s.Aside(*req)
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if aside {
			req.Aside, req.Step = true, -1
			s.reqs = append(s.reqs, *req)
			s.mu.Unlock()
			s.t.Logf("modelapi: %s %s (aside)", req.Path, req.Model)
			return Step{Text: s.AsideText}, false, nil
		}
		if s.next < len(s.steps) {
			st := s.steps[s.next]
			req.Step = s.next
			s.next++
			s.reqs = append(s.reqs, *req)
			s.mu.Unlock()
			s.t.Logf("modelapi: %s %s stream=%v: step %d", req.Path, req.Model, req.Stream, req.Step)
			return st, true, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline.C:
			req.Step = -1
			s.mu.Lock()
			s.reqs = append(s.reqs, *req)
			s.mu.Unlock()
			return Step{}, false, fmt.Errorf("no scripted step for request %d to %s", len(s.reqs), req.Path)
		case <-r.Context().Done():
			return Step{}, false, r.Context().Err()
		}
	}
}

// decode reads a JSON request body into a Request.
func decode(r *http.Request) (Request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return Request{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return Request{}, fmt.Errorf("request body: %w", err)
	}
	req := Request{Path: r.URL.Path, Body: m, Step: -1}
	req.Model, _ = m["model"].(string)
	req.Stream, _ = m["stream"].(bool)
	return req, nil
}

// sse writes server-sent events, flushing each.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sse{w: w, f: f}
}

// event writes one event; name may be empty (data-only, as OpenAI's chat API streams).
func (e *sse) event(name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var sb strings.Builder
	if name != "" {
		sb.WriteString("event: " + name + "\n")
	}
	sb.WriteString("data: " + string(b) + "\n\n")
	if _, err := io.WriteString(e.w, sb.String()); err != nil {
		return err
	}
	if e.f != nil {
		e.f.Flush()
	}
	return nil
}

// chunks splits text into streamed pieces.
func chunks(text string) []string {
	var out []string
	for len(text) > ChunkSize {
		out = append(out, text[:ChunkSize])
		text = text[ChunkSize:]
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

// pause waits d, or returns false when the client has gone (a cancelled turn).
func pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (u Usage) or(in, out int) Usage {
	if u.Input == 0 && u.Output == 0 {
		return Usage{in, out}
	}
	return u
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
