package manager

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakebackend"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// domainWorld is a manager over the in-memory backend and the fake sandbox-agent (internal/fakebackend,
// internal/fakeagent): no sandbox-agent binary, no Docker, no socket. Built inside a testing/synctest bubble,
// every timer the manager and the fake use runs on the bubble's fake clock, so the tests wait for exact
// durations (cancel_turn's 5 s, progress every 3 s) in no real time and cannot flake on a loaded machine.
type domainWorld struct {
	m     *Manager
	cfg   Config // m's, for another manager over the same world (a restarted server)
	agent *fakeagent.Agent
	b     *fakebackend.Backend
	store *state.Store
	home  string
	logs  *syncbuf.Buffer // what the manager logged
}

// domainTest runs fn in a synctest bubble with a fresh world; the manager and the fake are closed (and
// every goroutine of theirs joined) before the bubble ends.
func domainTest(t *testing.T, opts fakeagent.Options, fn func(t *testing.T, w *domainWorld)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		fn(t, newDomainWorld(t, opts))
	})
}

// newDomainWorld builds a world; each of configure may change the manager's Config first.
func newDomainWorld(t *testing.T, opts fakeagent.Options, configure ...func(*Config)) *domainWorld {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	w := &domainWorld{agent: fakeagent.New(t, opts), store: store, home: home, logs: &syncbuf.Buffer{}}
	w.b = fakebackend.New(w.agent)
	w.cfg = Config{Backends: map[string]sandbox.Backend{fakebackend.Name: w.b}, DefaultBackend: fakebackend.Name,
		Store: store, DefaultAgent: "claude", Policy: WorkspacePolicy{Home: home},
		Logger: slog.New(slog.NewTextHandler(testLog{t, w.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, fn := range configure {
		fn(&w.cfg)
	}
	w.m = New(w.cfg)
	t.Cleanup(w.m.Close) // before the fake's own cleanup (registered first): the streams end quietly
	return w
}

// testLog sends the manager's logs to the test log, and to also when set.
type testLog struct {
	t    *testing.T
	also io.Writer
}

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	if w.also != nil {
		return w.also.Write(p)
	}
	return len(p), nil
}

// session creates a sandbox (direct isolation: no host git) over a fresh workspace and opens a claude
// session in it, as the fake agent's first server id.
func (w *domainWorld) session(t *testing.T, sandboxName string) SessionResult {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.CreateSandbox(t.Context(), CreateSandboxRequest{Workspace: ws, Name: sandboxName, Isolation: IsolationDirect}); err != nil {
		t.Fatalf("create_sandbox: %v", err)
	}
	s, err := w.m.CreateSession(t.Context(), CreateSessionRequest{Sandbox: sandboxName, Agent: "claude"})
	if err != nil {
		t.Fatalf("create_session: %v", err)
	}
	return s
}

// readTurn reads get_events from cursor until the session is no longer running, and returns the events.
func (w *domainWorld) readTurn(t *testing.T, sandboxName, session string, cursor int64) ([]events.Event, live.Page) {
	t.Helper()
	var all []events.Event
	for deadline := time.Now().Add(10 * time.Minute); ; { // the bubble's clock: no real time passes
		if time.Now().After(deadline) {
			t.Fatalf("the turn is still %s after 10 minutes; events so far: %+v", w.m.cached(sandboxName, session).Snapshot().State.Status, all)
		}
		page, err := w.m.GetEvents(t.Context(), EventsRequest{Sandbox: sandboxName, Session: session, Cursor: cursor, Wait: 30 * time.Second})
		if err != nil {
			t.Fatalf("get_events: %v", err)
		}
		all = append(all, page.Events...)
		cursor = page.NextCursor
		if !page.More && len(page.Events) == 0 && page.Status != events.StatusRunning {
			if page.Status == events.StatusWaitingPermission {
				// get_events does not wait on a turn that waits for an answer: looping would spin with
				// the bubble's clock stopped, in real time, for ever.
				t.Fatalf("the turn waits for a permission answer (%+v); events so far: %+v", page.Pending, all)
			}
			return all, page
		}
	}
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
