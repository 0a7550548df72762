package manager

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// ownGoroutines returns the stacks of the goroutines that run (or were started by) the server's own code,
// other than the caller's: what a closed manager must have left none of. Any package of the module counts
// but the fakes and the tests' own functions (a fake agent's script is a test function).
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i > 0 && ownStack(g) { // 0: this goroutine
			out = append(out, g)
		}
	}
	return out
}

// ownStack reports whether a goroutine's stack names a function of the server: its function lines and its
// "created by" line are checked (the file lines below them hold paths, not package names).
func ownStack(g string) bool {
	const module = "github.com/sandbox-mcp/sandbox-mcp/"
	for _, line := range strings.Split(g, "\n") {
		_, fn, ok := strings.Cut(line, module)
		if ok && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(fn, "internal/fake") && !strings.Contains(fn, ".Test") {
			return true
		}
	}
	return false
}

// TestCloseJoinsEverything: a manager restarted over a running session resumes it (recovery), runs the
// janitor, starts a turn (the prompt's POST runs in the background, held by sandbox-agent until the turn
// ends) and is closed at once: when Close returns, none of its goroutines is left. So too for a manager
// closed right after it started, before recovery got anywhere.
func TestCloseJoinsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The turn outlives every manager: its POST is still held when Close runs.
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) { turn.Say("working"); <-turn.Stopped() }}
		w := newDomainWorld(t, opts)
		ctx := t.Context()
		s := w.session(t, "closejoin")
		w.m.Close() // the first server stops; the session stays open in sandbox-agent
		if left := ownGoroutines(); len(left) > 0 {
			t.Fatalf("%d goroutines outlive the first manager's Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}

		m2 := New(w.cfg)
		t.Cleanup(m2.Close) // idempotent: only for a test that fails halfway
		m2.StartRecovery()
		m2.StartJanitor(time.Hour, 10*time.Millisecond)
		synctest.Wait() // recovery is over once nothing moves
		if n := w.agent.Streams(); n != 1 {
			t.Fatalf("%d event streams connected after recovery, want the session's one", n)
		}
		if _, err := m2.SendMessage(ctx, SendRequest{Sandbox: "closejoin", Session: s.Name, Message: "go"}); err != nil {
			t.Fatal(err)
		}
		m2.Close()
		if left := ownGoroutines(); len(left) > 0 {
			t.Errorf("%d goroutines outlive Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}

		m3 := New(w.cfg)
		m3.StartRecovery()
		m3.StartJanitor(time.Hour, time.Millisecond)
		m3.Close()
		if left := ownGoroutines(); len(left) > 0 {
			t.Errorf("%d goroutines outlive an immediate Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
	})
}

// TestUseAfterCloseStartsNothing: a tool call that still names a sandbox after Close began must not start
// the background write of its last use (an Add to the wait group Close is waiting on, and a write after
// shutdown), even when the last write is old enough for a new one.
func TestUseAfterCloseStartsNothing(t *testing.T) {
	domainTest(t, fakeagent.Options{}, func(t *testing.T, w *domainWorld) {
		w.session(t, "useclosed")
		synctest.Wait() // create_session's own write of its last use is done
		before, err := w.store.GetSandbox("useclosed")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(lastUsedPersistEvery) // the next use writes again
		w.m.Close()
		if _, err := w.m.ListSessions(t.Context(), "useclosed"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // whatever the call started has run
		after, err := w.store.GetSandbox("useclosed")
		if err != nil {
			t.Fatal(err)
		}
		if !after.LastUsed.Equal(before.LastUsed) {
			t.Errorf("a closed manager wrote the sandbox's last use: %v, was %v", after.LastUsed, before.LastUsed)
		}
	})
}

// TestCreateSessionClosesClientWhenStoreFails: when the session's record cannot be written, the agent
// server create_session opened in sandbox-agent is closed again (DELETE: it leaves sandbox-agent's list at
// once), not left running for nobody.
func TestCreateSessionClosesClientWhenStoreFails(t *testing.T) {
	domainTest(t, fakeagent.Options{}, func(t *testing.T, w *domainWorld) {
		w.session(t, "storefail") // creates the sandbox's session folder, and one agent server
		// create_session's background write of the sandbox's last use waits for the sandbox's lock, and a
		// wait for a sync.Mutex is not durable for the bubble: were it still waiting while the next
		// create_session holds the lock across acp.Client.Close's 2 s, the bubble's clock would stop.
		synctest.Wait()
		// The fault: a non-empty folder where the record of session "broken" goes, so its write fails.
		record := strings.TrimSuffix(w.store.LogPath("storefail", "broken"), ".log") + ".json"
		if err := os.MkdirAll(filepath.Join(record, "block"), 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := w.m.CreateSession(t.Context(), CreateSessionRequest{Sandbox: "storefail", Agent: "claude", Name: "broken"})
		if err == nil || !strings.Contains(err.Error(), `store session "broken"`) {
			t.Fatalf("create_session = %v; want its record's write to fail", err)
		}
		servers := w.agent.ServerIDs()
		for _, id := range servers {
			if strings.HasPrefix(id, "smcp-broken-") {
				t.Errorf("sandbox-agent still runs %q after create_session failed (servers: %q)", id, servers)
			}
		}
		if len(servers) != 1 {
			t.Errorf("sandbox-agent runs servers %q, want the first session's only; the check above proves nothing", servers)
		}
		var opened bool
		for _, p := range w.agent.Posts() {
			opened = opened || strings.HasPrefix(p, "/v1/acp/smcp-broken-")
		}
		if !opened {
			t.Error("create_session never opened the broken session's server; the check above proves nothing")
		}
	})
}
