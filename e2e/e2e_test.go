package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestEndToEnd drives all the tools through a real MCP client against the sandbox CLI test double and
// the real sandbox-agent 0.4.2, with the scripted agent as its mock agent: a deterministic conversation
// that streams text, makes a tool call, asks for a permission and ends its turn.
func TestEndToEnd(t *testing.T) {
	for _, backend := range []string{"sbx", "docker-sandbox"} {
		t.Run(backend, func(t *testing.T) {
			env, bin := testkit.FakeEnv(t)
			h := startServer(t, testkit.SandboxArgs(t, backend, bin), env)
			ws := t.TempDir()
			conversation(t, h, ws)

			// Nothing of the sandbox is left behind: no process, no directory.
			entries, _ := os.ReadDir(filepath.Join(env["FAKECLI_ROOT"], map[string]string{"sbx": "sbx", "docker-sandbox": "docker"}[backend]))
			for _, e := range entries {
				if e.IsDir() {
					t.Errorf("sandbox directory %s left behind", e.Name())
				}
			}
		})
	}
}

// conversation is the scenario shared by every backend's end-to-end test.
func conversation(t *testing.T, h *harness, ws string) {
	t.Helper()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	if sb.Reused || sb.AgentVersion != "0.4.2" || sb.Workspace != ws {
		t.Fatalf("create_sandbox = %+v", sb)
	}
	var again manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": sb.Name}, &again)
	if !again.Reused || again.Name != sb.Name {
		t.Fatalf("second create_sandbox = %+v, want the same sandbox reused", again)
	}

	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	if sess.Name != "mock-1" || sess.Cwd != ws || sess.Status != events.StatusIdle || !strings.Contains(string(sess.AgentInfo), "scripted-agent") {
		t.Fatalf("create_session = %+v", sess)
	}

	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name,
		"message": "say Hello from the sandbox; write notes/result.txt done; perm run the tests"}, &turn)
	if turn.Status != events.StatusRunning && turn.Status != events.StatusWaitingPermission {
		t.Fatalf("send_message status = %s, want running", turn.Status)
	}

	// Follow the turn as a host would: page by page until the agent asks for permission.
	var got []events.Event
	page := waitStatus(t, h, sb.Name, sess.Name, turn.Cursor, &got, events.StatusWaitingPermission)
	if len(page.Pending) != 1 {
		t.Fatalf("pending permissions = %+v, want 1", page.Pending)
	}
	req := page.Pending[0].Permission
	var perm manager.PermissionResult
	h.OK("respond_permission", map[string]any{"sandbox": sb.Name, "session": sess.Name, "request_id": req.RequestID, "option": "allow"}, &perm)
	page = waitStatus(t, h, sb.Name, sess.Name, page.NextCursor, &got, events.StatusIdle)
	if page.LastStop != "end_turn" {
		t.Errorf("last_stop_reason = %q, want end_turn", page.LastStop)
	}

	want := []string{
		"user_message say Hello from the sandbox; write notes/result.txt done; perm run the tests",
		"agent_message Hello from the sandbox",
		"tool_call Write notes/result.txt pending",
		"tool_call_update completed",
		"tool_call run the tests pending",
		"permission_request run the tests",
		"permission_response allow",
		"tool_call_update completed",
		"turn_end end_turn",
	}
	if g := testkit.Summarize(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if data, err := os.ReadFile(filepath.Join(ws, "notes", "result.txt")); err != nil || string(data) != "done" {
		t.Errorf("the agent's file in the workspace = %q, %v; want done", data, err)
	}

	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
	if !d.Destroyed || d.SessionsClosed != 1 {
		t.Errorf("destroy_sandbox = %+v", d)
	}
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
	if !d.AlreadyGone || d.Destroyed {
		t.Errorf("second destroy_sandbox = %+v, want already gone", d)
	}
}

// waitStatus is testkit.WaitStatus with the scenarios' 30 s.
func waitStatus(t *testing.T, h *harness, sandbox, session string, cursor int64, got *[]events.Event, want string) live.Page {
	t.Helper()
	return testkit.WaitStatus(t, h.Harness, sandbox, session, cursor, got, want, 30*time.Second)
}
