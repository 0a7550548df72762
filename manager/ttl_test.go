package manager

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// TestMain lets this test binary run as the sandbox CLI test double (internal/fakecli). It is the package's
// only TestMain: other tests that need the fake CLIs share it.
func TestMain(m *testing.M) {
	fakecli.Dispatch()
	os.Exit(m.Run())
}

// fakeWorld is a manager over the real sbx backend driving the CLI test double, with the real
// sandbox-agent and the scripted agent (as "mock") in its template.
type fakeWorld struct {
	m     *Manager
	sbx   *sandbox.Sbx
	store *state.Store
	port  int
}

func newFakeWorld(t *testing.T) *fakeWorld {
	t.Helper()
	dir := t.TempDir()
	bin, templates, home := filepath.Join(dir, "bin"), filepath.Join(dir, "templates"), filepath.Join(dir, "home")
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.SandboxTemplate(t, templates, "sandbox-mcp/test:latest", true)
	runner := &sandbox.Exec{Timeout: 60 * time.Second, Env: []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + home,
		"FAKECLI_ROOT=" + filepath.Join(dir, "fakecli"), "FAKECLI_TEMPLATES=" + templates}}
	sbx := sandbox.NewSbx(runner, sandbox.SbxOptions{Binary: filepath.Join(bin, "sbx"), Template: "sandbox-mcp/test:latest"})
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWorld{sbx: sbx, store: store, port: testenv.FreePort(t)}
	w.m = New(Config{Backends: map[string]sandbox.Backend{"sbx": sbx}, DefaultBackend: "sbx", Store: store,
		AgentPort: w.port, DefaultAgent: "claude", Policy: WorkspacePolicy{Home: home},
		Logger: slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() {
		// Removing the sandboxes kills the sandbox-agents the double runs as local processes.
		recs, _ := store.ListSandboxes()
		for _, r := range recs {
			if _, err := w.m.DestroySandbox(context.Background(), r.Name); err != nil {
				t.Errorf("destroy %s: %v", r.Name, err)
			}
		}
		w.m.Close()
	})
	return w
}

// testLog sends the manager's logs to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// sandboxWithSession creates a sandbox over a fresh workspace and opens a mock session in it.
func (w *fakeWorld) sandboxWithSession(t *testing.T, name string) SessionResult {
	t.Helper()
	ctx := t.Context()
	if _, err := w.m.CreateSandbox(ctx, CreateSandboxRequest{Workspace: t.TempDir(), Name: name}); err != nil {
		t.Fatalf("create sandbox: %v", err)
	}
	s, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: name, Agent: "mock"})
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	return s
}

// janitor runs RunJanitor until the test ends or stop is called.
func (w *fakeWorld) janitor(t *testing.T, ttl, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.m.RunJanitor(ctx, ttl, every) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func (w *fakeWorld) status(t *testing.T, name string) string {
	t.Helper()
	info, err := w.sbx.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("sbx get %s: %v", name, err)
	}
	return info.Status
}

// agentListening reports whether sandbox-agent's port takes connections (the double runs it on loopback).
func (w *fakeWorld) agentListening() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(w.port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTTLStopsIdleSandboxAndCreateSessionStartsItAgain(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "ttl-idle")
	if !w.agentListening() {
		t.Fatal("sandbox-agent is not listening after create_session")
	}
	const ttl = 300 * time.Millisecond
	stop := w.janitor(t, ttl, 50*time.Millisecond)

	start := time.Now()
	waitFor(t, 5*time.Second, "the idle sandbox is stopped", func() bool { return w.status(t, "ttl-idle") == sandbox.StatusStopped })
	if took := time.Since(start); took < ttl {
		t.Errorf("stopped after %v, before its TTL of %v", took, ttl)
	}
	if w.agentListening() {
		t.Error("sandbox-agent still listens after the stop")
	}
	if _, err := w.store.GetSandbox("ttl-idle"); err != nil {
		t.Errorf("the sandbox record was not kept: %v", err)
	}
	page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-idle", Session: s.Name})
	want := "stopped after 300ms idle (--idle-ttl); create a session to start again"
	if err != nil || page.Status != events.StatusEnded || page.LastError != want {
		t.Errorf("session after the stop: status %q, last_error %q, %v; want ended with %q", page.Status, page.LastError, err, want)
	}
	stop()

	s2, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "ttl-idle", Agent: "mock"})
	if err != nil {
		t.Fatalf("create_session after the stop: %v", err)
	}
	if got := w.status(t, "ttl-idle"); got != sandbox.StatusRunning || !w.agentListening() {
		t.Errorf("after create_session: sandbox %s, sandbox-agent listening %v; want both up", got, w.agentListening())
	}
	res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-idle", Session: s2.Name, Message: "say back again", Wait: 10 * time.Second})
	if err != nil || !res.Done || !strings.Contains(res.FinalText, "back again") {
		t.Errorf("a turn after the restart: %+v, %v", res, err)
	}
}

func TestTTLKeepsSandboxInUse(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "ttl-used")
	const ttl = 600 * time.Millisecond
	w.janitor(t, ttl, 50*time.Millisecond)

	// Every call naming the sandbox is a use: one every 100 ms keeps it up for three TTLs. Nothing here
	// starts a stopped sandbox again, so one look at the end sees any stop in between.
	calls := []func() error{
		func() error {
			_, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-used", Session: s.Name})
			return err
		},
		func() error { _, err := w.m.ListSessions(ctx, "ttl-used"); return err },
	}
	for start, i := time.Now(), 0; time.Since(start) < 3*ttl; i++ {
		if err := calls[i%len(calls)](); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := w.status(t, "ttl-used"); got != sandbox.StatusRunning {
		t.Fatalf("stopped while in use: %s", got)
	}
	waitFor(t, 5*time.Second, "stopped once nobody uses it", func() bool { return w.status(t, "ttl-used") == sandbox.StatusStopped })
}

func TestTTLNeverStopsRunningTurnOrPendingPermission(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "ttl-busy")
	const ttl = 200 * time.Millisecond
	stop := w.janitor(t, ttl, 50*time.Millisecond)

	if _, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-busy", Session: s.Name, Message: "sleep 1500; say slept"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1000 * time.Millisecond) // five TTLs, twenty rounds, nobody calling
	if got := w.status(t, "ttl-busy"); got != sandbox.StatusRunning {
		t.Fatalf("stopped with a turn running: %s", got)
	}
	// Once the turn is over, nothing holds it.
	waitFor(t, 5*time.Second, "stopped after the turn ended", func() bool { return w.status(t, "ttl-busy") == sandbox.StatusStopped })
	stop()

	s2, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "ttl-busy", Agent: "mock"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "ttl-busy", Session: s2.Name, Message: "perm rm -rf build", Wait: 10 * time.Second})
	if err != nil || res.Status != events.StatusWaitingPermission {
		t.Fatalf("send: %+v, %v; want waiting_permission", res, err)
	}
	w.janitor(t, ttl, 50*time.Millisecond)
	time.Sleep(1000 * time.Millisecond)
	if got := w.status(t, "ttl-busy"); got != sandbox.StatusRunning {
		t.Fatalf("stopped with a permission pending: %s", got)
	}
	if _, err := w.m.RespondPermission(ctx, "ttl-busy", s2.Name, "perm-1", "allow"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "stopped after the answer", func() bool { return w.status(t, "ttl-busy") == sandbox.StatusStopped })
	// A call arriving while the janitor is still at it waits for the stop to finish, so it sees it whole.
	page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-busy", Session: s2.Name})
	if err != nil || page.Status != events.StatusEnded || !strings.Contains(page.LastError, "--idle-ttl") {
		t.Errorf("session after the stop: status %q, last_error %q, %v", page.Status, page.LastError, err)
	}
}

// TestTTLLastUsedPersistedAtMostOncePerMinute: the first call writes LastUsed, the next ones within a
// minute only keep it in memory.
func TestTTLLastUsedPersistedAtMostOncePerMinute(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "ttl-persist")
	time.Sleep(200 * time.Millisecond) // create_session's own background write of LastUsed lands first
	created, err := w.store.GetSandbox("ttl-persist")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	get := func() {
		t.Helper()
		if _, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "ttl-persist", Session: s.Name}); err != nil {
			t.Fatal(err)
		}
	}
	// create_session was the first use: it was written then. Make it look a minute old.
	w.m.idle.mu.Lock()
	w.m.idle.m["ttl-persist"].persisted = time.Now().Add(-lastUsedPersistEvery)
	w.m.idle.mu.Unlock()
	get()
	// The write happens in the background, once the sandbox's lock is free.
	var first state.Sandbox
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		first, _ = w.store.GetSandbox("ttl-persist")
		if first.LastUsed.After(created.LastUsed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LastUsed %v not advanced past %v by a call a minute after the last write", first.LastUsed, created.LastUsed)
		}
	}
	for range 5 {
		time.Sleep(5 * time.Millisecond)
		get()
	}
	again, _ := w.store.GetSandbox("ttl-persist")
	if !again.LastUsed.Equal(first.LastUsed) {
		t.Errorf("LastUsed written again within a minute: %v, then %v", first.LastUsed, again.LastUsed)
	}
	// The janitor still sees the latest use, from memory.
	w.m.idle.mu.Lock()
	last := w.m.idle.m["ttl-persist"].last
	w.m.idle.mu.Unlock()
	if !last.After(first.LastUsed) {
		t.Errorf("in-memory last use %v not after the persisted %v", last, first.LastUsed)
	}
}

// TestTTLOff: a zero TTL returns at once and stops nothing.
func TestTTLOff(t *testing.T) {
	m := New(Config{})
	done := make(chan struct{})
	go func() { m.RunJanitor(context.Background(), 0, time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("RunJanitor with ttl 0 did not return")
	}
}

func TestJanitorInterval(t *testing.T) {
	tests := []struct{ ttl, want time.Duration }{
		{2 * time.Second, time.Second},
		{5 * time.Minute, 30 * time.Second},
		{2 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		if got := JanitorInterval(tt.ttl); got != tt.want {
			t.Errorf("JanitorInterval(%v) = %v, want %v", tt.ttl, got, tt.want)
		}
	}
}
