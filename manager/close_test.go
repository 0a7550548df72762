package manager

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ownGoroutines returns the stacks of the goroutines running manager, acp or sandbox code, other than the
// caller's: what a closed manager must have left none of.
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
		if i == 0 {
			continue // this goroutine
		}
		for _, frame := range []string{"sandbox-mcp/manager.(*", "sandbox-mcp/acp.", "sandbox-mcp/sandbox."} {
			if strings.Contains(g, frame) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// sessionGoroutines is ownGoroutines without sbx's held sandbox-agent exec: that belongs to the sandbox,
// not to a session, and lives until the sandbox stops or the backend is closed (Manager.Close).
func sessionGoroutines() []string {
	var out []string
	for _, g := range ownGoroutines() {
		if !strings.Contains(g, "sandbox.(*Sbx).holdExec") {
			out = append(out, g)
		}
	}
	return out
}

// TestCloseJoinsEverything: a manager restarted over a running session resumes it (recovery), runs the
// janitor, starts a turn (the prompt's POST runs in the background) and is closed at once: when Close
// returns, none of its goroutines is left.
func TestCloseJoinsEverything(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "closejoin")
	w.m.forgetSessions("closejoin") // the first manager lets go of the session, as a server that stopped
	waitFor(t, 5*time.Second, "the first manager's goroutines end", func() bool { return len(sessionGoroutines()) == 0 })

	m2 := New(w.m.cfg)
	m2.StartRecovery()
	m2.StartJanitor(time.Hour, 10*time.Millisecond)
	waitFor(t, 10*time.Second, "recovery resumes the session", func() bool { return m2.cached("closejoin", s.Name) != nil })
	if _, err := m2.SendMessage(ctx, SendRequest{Sandbox: "closejoin", Session: s.Name, Message: "stream 200 20"}); err != nil {
		t.Fatal(err)
	}
	m2.Close()
	if left := ownGoroutines(); len(left) > 0 {
		t.Errorf("%d goroutines outlive Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}

	// Closed at once after starting, before recovery got anywhere, too.
	m3 := New(w.m.cfg)
	m3.StartRecovery()
	m3.StartJanitor(time.Hour, time.Millisecond)
	m3.Close()
	if left := ownGoroutines(); len(left) > 0 {
		t.Errorf("%d goroutines outlive an immediate Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// TestUseAfterCloseStartsNothing: a tool call that still names a sandbox after Close began must not start
// the background write of its last use (an Add to the wait group Close is waiting on, and a write after
// shutdown).
func TestUseAfterCloseStartsNothing(t *testing.T) {
	w := newFakeWorld(t)
	w.sandboxWithSession(t, "useclosed")
	w.m.forgetSessions("useclosed")
	waitFor(t, 5*time.Second, "the first manager's goroutines end", func() bool { return len(sessionGoroutines()) == 0 })
	before, err := w.store.GetSandbox("useclosed")
	if err != nil {
		t.Fatal(err)
	}
	m2 := New(w.m.cfg)
	m2.Close()
	time.Sleep(10 * time.Millisecond) // so a write would change LastUsed
	m2.use(t.Context(), "useclosed")()
	m2.wg.Wait() // whatever use started
	after, err := w.store.GetSandbox("useclosed")
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastUsed.Equal(before.LastUsed) {
		t.Errorf("a closed manager wrote the sandbox's last use: %v, was %v", after.LastUsed, before.LastUsed)
	}
}

// TestCreateSessionClosesClientWhenStoreFails: when the session's record cannot be written, the agent
// server create_session opened in sandbox-agent is closed again, not left running for nobody.
func TestCreateSessionClosesClientWhenStoreFails(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	if _, err := w.m.CreateSandbox(ctx, CreateSandboxRequest{Workspace: t.TempDir(), Name: "storefail"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "storefail", Agent: "mock", Name: "ok"}); err != nil {
		t.Fatal(err) // creates the sandbox's session folder and starts sandbox-agent
	}
	// The fault: a non-empty folder where the record of session "broken" goes, so its write fails.
	record := strings.TrimSuffix(w.store.LogPath("storefail", "broken"), ".log") + ".json"
	if err := os.MkdirAll(filepath.Join(record, "block"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "storefail", Agent: "mock", Name: "broken"}); err == nil {
		t.Fatal("create_session succeeded although its record cannot be written")
	}
	servers := agentServers(t, w.port)
	var ours []string
	for _, id := range servers {
		if strings.HasPrefix(id, "smcp-broken-") {
			ours = append(ours, id)
		}
	}
	if len(ours) > 0 {
		t.Errorf("sandbox-agent still runs %q after create_session failed (servers: %q)", ours, servers)
	}
	if len(servers) == 0 {
		t.Error("sandbox-agent lists no server at all; the check above proves nothing")
	}
}

// agentServers lists the agent servers sandbox-agent runs (GET /v1/acp; the double runs it on loopback).
func agentServers(t *testing.T, port int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/v1/acp", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Servers []struct {
			ServerID string `json:"serverId"`
		} `json:"servers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range body.Servers {
		ids = append(ids, s.ServerID)
	}
	return ids
}
