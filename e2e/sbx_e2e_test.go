package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestSbxAsDocumented runs a whole conversation on the sbx double rebuilt from sbx's documentation: exec -d
// is refused, a sandbox stops ~0.5 s (test scale) after its last exec session, and published host ports
// change on every start. The server is SIGKILLed in the middle of a turn: its held sandbox-agent exec dies
// with it, the sandbox auto-stops, and the new server reports the lost turn in one line with every event
// logged before the kill exactly once; a new session starts the sandbox and sandbox-agent again on a new
// host port and completes a turn with a tool call and a permission; destroy removes everything.
func TestSbxAsDocumented(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	args := testkit.SandboxArgs(t, "sbx", bin)
	server := testenv.ServerBinary(t)
	c1, kill := startProc(t, server, args, env)
	h1 := &harness{testkit.New(t, c1, env)}
	s := newSessionNoCleanup(t, h1)
	port1 := publishedPort(t, bin, env, s.sandbox)
	turn := s.send(t, "stream 30 100", 0)
	var page live.Page
	h1.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": turn.Cursor, "wait_seconds": 10}, &page)
	if len(page.Events) == 0 {
		t.Fatal("no events before the kill")
	}
	before := page.Events
	kill()

	// Nothing holds the sandbox any more: it stops by itself.
	deadline := time.Now().Add(20 * time.Second)
	for sandboxStatus(t, bin, env, s.sandbox) != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the sandbox did not auto-stop after the server died")
		}
		time.Sleep(100 * time.Millisecond)
	}

	c2, _ := startProc(t, server, args, env)
	h2 := &harness{testkit.New(t, c2, env)}
	s.h = h2
	var after []events.Event
	var last live.Page
	cursor := page.NextCursor
	for deadline := time.Now().Add(60 * time.Second); ; {
		h2.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 2}, &last)
		after = append(after, last.Events...)
		cursor = last.NextCursor
		if last.Status == events.StatusFailed && !last.More {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s after 60 s, want failed", last.Status)
		}
	}
	// Every event logged before the kill once, nothing doubled after it.
	all := append(before, after...)
	if text := agentText(all); !strings.HasPrefix(series("s", 30), text) {
		t.Errorf("text across the restart = %q, want a prefix of s1..s30 with no repeats", text)
	}
	users := 0
	for _, ev := range all {
		if ev.Kind == events.KindUserMessage {
			users++
		}
	}
	if users != 1 {
		t.Errorf("user messages across the restart = %d, want 1: %v", users, testkit.Summarize(all))
	}
	var list manager.SandboxList
	h2.OK("list_sandboxes", map[string]any{}, &list)
	for _, sb := range list.Sandboxes {
		for _, ss := range sb.Sessions {
			if ss.Name == s.session && (ss.Status != events.StatusFailed || strings.Contains(ss.LastError, "\n") || !strings.Contains(ss.LastError, "sandbox-agent")) {
				t.Errorf("the lost session = %+v, want failed with a one-line reason naming sandbox-agent", ss)
			}
		}
	}

	// A new session: exec starts the sandbox, the held sandbox-agent comes back on another host port.
	var sess manager.SessionResult
	h2.OK("create_session", map[string]any{"sandbox": s.sandbox, "agent": "mock"}, &sess)
	if port2 := publishedPort(t, bin, env, s.sandbox); port2 == 0 || port2 == port1 {
		t.Errorf("host port after the restart = %d, want a new one (was %d)", port2, port1)
	}
	s2 := session{h: h2, sandbox: s.sandbox, session: sess.Name}
	t2 := s2.send(t, "say Hello from the sandbox; write notes/result.txt done; perm run the tests", 0)
	var got []events.Event
	p := waitStatus(t, h2, s.sandbox, sess.Name, t2.Cursor, &got, events.StatusWaitingPermission)
	var perm manager.PermissionResult
	h2.OK("respond_permission", map[string]any{"sandbox": s.sandbox, "session": sess.Name, "request_id": p.Pending[0].Permission.RequestID, "option": "allow"}, &perm)
	p = waitStatus(t, h2, s.sandbox, sess.Name, p.NextCursor, &got, events.StatusIdle)
	if p.LastStop != "end_turn" || !strings.Contains(strings.Join(testkit.Summarize(got), "\n"), "permission_response allow") {
		t.Errorf("second turn: %v", testkit.Summarize(got))
	}
	var d manager.DestroyResult
	h2.OK("destroy_sandbox", map[string]any{"name": s.sandbox}, &d)
	if !d.Destroyed {
		t.Errorf("destroy_sandbox = %+v", d)
	}
}

// sandboxStatus asks the double's sbx, as a user would.
func sandboxStatus(t *testing.T, bin string, env map[string]string, name string) string {
	t.Helper()
	var v []struct{ Name, Status string }
	if err := json.Unmarshal(fakeOut(t, bin, env, "ls", "--json"), &v); err != nil {
		t.Fatal(err)
	}
	for _, s := range v {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

// publishedPort reads sandbox-agent's host port from `sbx ports NAME --json`.
func publishedPort(t *testing.T, bin string, env map[string]string, name string) int {
	t.Helper()
	var ps []struct {
		HostPort int `json:"host_port"`
	}
	if err := json.Unmarshal(fakeOut(t, bin, env, "ports", name, "--json"), &ps); err != nil || len(ps) != 1 {
		t.Fatalf("sbx ports %s: %+v, %v", name, ps, err)
	}
	return ps[0].HostPort
}

func fakeOut(t *testing.T, bin string, env map[string]string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "sbx"), args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sbx %v: %v", args, err)
	}
	return out
}
