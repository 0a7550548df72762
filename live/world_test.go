package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// world is live sessions over the fake sandbox-agent (internal/fakeagent), in memory: no binary, no
// sandbox, no socket. Built inside a testing/synctest bubble, every timer of the sessions and the fake
// runs on the bubble's fake clock, so tests wait for exact durations in no real time.
type world struct {
	agent *fakeagent.Agent
	cfg   *Config
	store *state.Store
	ctx   context.Context // cancelled, and every session goroutine joined, at the test's end
	wg    sync.WaitGroup
}

// worldTest runs fn in a synctest bubble with a fresh world.
func worldTest(t *testing.T, opts fakeagent.Options, fn func(t *testing.T, w *world)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) { fn(t, newWorld(t, opts)) })
}

func newWorld(t *testing.T, opts fakeagent.Options) *world {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{agent: fakeagent.New(t, opts), store: store, ctx: ctx}
	w.cfg = testConfig(store)
	w.cfg.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.cfg.Spawn = func(fn func(context.Context)) bool { w.goFn(func() { fn(ctx) }); return true }
	t.Cleanup(func() { cancel(); w.wg.Wait() }) // before the fake's own cleanup (registered first)
	return w
}

func (w *world) goFn(fn func()) {
	w.wg.Add(1)
	go func() { defer w.wg.Done(); fn() }()
}

// open starts a claude session on a new server id, as the manager does: initialize, session/new, then the
// session is live over its own log with its stream running.
func (w *world) open(t *testing.T, name string) *Session { return w.openWith(t, name, nil, nil) }

// openVia is open with the session's transport wrapped by wrap (when not nil), e.g. to see what is posted.
func (w *world) openVia(t *testing.T, name string, wrap func(acp.Transport) acp.Transport) *Session {
	t.Helper()
	return w.openWith(t, name, nil, wrap)
}

// openWith is open with the session's record changed by edit before it goes live (a budget, say), and its
// transport wrapped by wrap (when not nil).
func (w *world) openWith(t *testing.T, name string, edit func(*state.Session), wrap func(acp.Transport) acp.Transport) *Session {
	t.Helper()
	ctx := t.Context()
	var tr acp.Transport = &acp.HTTP{BaseURL: fakeagent.URL, Token: w.agent.Token(), Client: w.agent.Client()}
	if wrap != nil {
		tr = wrap(tr)
	}
	client := &acp.Client{T: tr, ServerID: "srv-" + name}
	if _, err := client.Request(ctx, acp.Request{ID: acp.NumberID(0), Method: acp.MethodInitialize, Params: acp.InitializeParams{ProtocolVersion: 1}}, "claude", time.Minute); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	res, err := client.Request(ctx, acp.Request{ID: acp.NumberID(1), Method: acp.MethodNew, Params: acp.SessionParams{Cwd: "/work", MCPServers: []any{}}}, "", time.Minute)
	if err != nil {
		t.Fatalf("session/new: %v", err)
	}
	var sn struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(res, &sn); err != nil || sn.SessionID == "" {
		t.Fatalf("session/new answered %s (%v)", res, err)
	}
	rec := state.Session{Sandbox: "sb", Name: name, Agent: "claude", ServerID: client.ServerID, SessionID: sn.SessionID, State: events.NewState()}
	if edit != nil {
		edit(&rec)
	}
	if err := w.store.PutSession(rec); err != nil {
		t.Fatal(err)
	}
	lg, err := eventlog.Open(w.store.LogPath(rec.Sandbox, rec.Name))
	if err != nil {
		t.Fatal(err)
	}
	l := Open(w.cfg, rec, lg, client)
	l.Start(w.ctx, w.goFn)
	t.Cleanup(l.Stop)
	return l
}

// readTurn follows a session from cursor until it no longer runs, and returns the events and last page.
func readTurn(t *testing.T, l *Session, cursor int64) ([]events.Event, Page) {
	t.Helper()
	var all []events.Event
	for deadline := time.Now().Add(10 * time.Minute); ; { // the bubble's clock: no real time passes
		if time.Now().After(deadline) {
			t.Fatalf("the turn is still %s after 10 minutes; events so far: %+v", l.Snapshot().State.Status, all)
		}
		var page Page
		err := l.WaitFor(t.Context(), 30*time.Second, nil, func() (bool, error) {
			var err error
			page, err = l.Page(PageRequest{Cursor: cursor})
			return err != nil || len(page.Events) > 0 || page.Status != events.StatusRunning, err
		})
		if err != nil {
			t.Fatalf("page: %v", err)
		}
		all = append(all, page.Events...)
		cursor = page.NextCursor
		if !page.More && len(page.Events) == 0 && page.Status != events.StatusRunning && page.Status != events.StatusWaitingPermission {
			return all, page
		}
	}
}

// waitText reads pages from cursor until the agent's text so far is want, and returns the cursor after it.
func waitText(t *testing.T, l *Session, cursor int64, want string) int64 {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Minute); got != want; {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q: have %q after 10 minutes", want, got)
		}
		var page Page
		err := l.WaitFor(t.Context(), 30*time.Second, nil, func() (bool, error) {
			var err error
			page, err = l.Page(PageRequest{Cursor: cursor})
			return err != nil || len(page.Events) > 0 || page.Status != events.StatusRunning, err
		})
		if err != nil || (len(page.Events) == 0 && page.Status != events.StatusRunning) {
			t.Fatalf("waiting for %q (have %q): %+v, %v", want, got, page, err)
		}
		got += texts(page.Events)
		cursor = page.NextCursor
	}
	return cursor
}

// texts joins the agent's text in evs.
func texts(evs []events.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Kind == events.KindAgentMessage {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

// outMethods counts the envelopes of a method the session sent, from its log.
func outMethods(t *testing.T, l *Session, method string) int {
	t.Helper()
	n := 0
	for _, r := range logged(t, l, "out") {
		var env acp.Envelope
		if json.Unmarshal(r.Env, &env) == nil && env.Method == method {
			n++
		}
	}
	return n
}

// logged lists the records of the session's log in a direction ("in", "out"), as envelopes.
func logged(t *testing.T, l *Session, dir string) []eventlog.Record {
	t.Helper()
	recs, err := l.Log().Read(0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []eventlog.Record
	for _, r := range recs {
		if r.Dir == dir {
			out = append(out, r)
		}
	}
	return out
}

// testLog sends the sessions' logs to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
