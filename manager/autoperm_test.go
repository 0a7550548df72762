package manager

import (
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// TestAutoPermissionBoundByWorkspace drives the policy through the real sandbox-agent and the scripted
// agent: a session whose cwd the caller set to "/" asks to edit /etc/passwd and must wait for
// respond_permission; an edit inside the workspace is answered by the policy.
func TestAutoPermissionBoundByWorkspace(t *testing.T) {
	w := newFakeWorld(t)
	w.m.cfg.AutoPermission = live.AutoPermissionEdits
	ctx := t.Context()
	if _, err := w.m.CreateSandbox(ctx, CreateSandboxRequest{Workspace: t.TempDir(), Name: "autoperm"}); err != nil {
		t.Fatal(err)
	}
	root, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "autoperm", Agent: "mock", Cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "autoperm", Session: root.Name, Message: "perm-edit etc/passwd", Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != events.StatusWaitingPermission {
		t.Errorf("an edit of /etc/passwd from a session with cwd /: status %q, want %q (left to respond_permission)", res.Status, events.StatusWaitingPermission)
	}
	inside, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "autoperm", Agent: "mock"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "autoperm", Session: inside.Name, Message: "perm-edit notes.txt; say done", Wait: 10 * time.Second})
	if err != nil || !res.Done || !strings.Contains(res.FinalText, "done") {
		t.Errorf("an edit inside the workspace: %+v, %v; want the turn done by the policy's answer", res, err)
	}
}
