package manager

import (
	"path"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// TestAutoPermissionBoundByWorkspace drives --auto-permission=edits through the fake agent: a session
// whose cwd the caller set to "/" asks to edit /etc/passwd (<cwd>/etc/passwd) and must wait for
// respond_permission; an edit inside the workspace (the default cwd) is answered by the policy, and the
// turn goes on.
func TestAutoPermissionBoundByWorkspace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The agent edits <cwd>/<prompt>, as the scripted agent's perm-edit does, then says done.
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			if _, ok := turn.RequestEdit("perm-1", "edit-1", path.Join(turn.Cwd, turn.Text)); ok {
				turn.Say("done")
			}
		}}
		w := newDomainWorld(t, opts, func(c *Config) { c.AutoPermission = live.AutoPermissionEdits })
		ctx := t.Context()
		inside := w.session(t, "autoperm")
		root, err := w.m.CreateSession(ctx, CreateSessionRequest{Sandbox: "autoperm", Agent: "claude", Cwd: "/"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "autoperm", Session: root.Name, Message: "etc/passwd", Wait: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "autoperm", Session: root.Name, Cursor: res.Cursor})
		if err != nil || res.Status != events.StatusWaitingPermission || len(page.Pending) != 1 || page.Pending[0].ToolCall.Title != "Edit /etc/passwd" {
			t.Errorf("an edit of /etc/passwd from a session with cwd /: %+v, pending %+v, %v; want it waiting for respond_permission", res, page.Pending, err)
		}
		res, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "autoperm", Session: inside.Name, Message: "notes.txt", Wait: 10 * time.Second})
		if err != nil || !res.Done || res.FinalText != "done" {
			t.Fatalf("an edit inside the workspace: %+v, %v; want the turn done by the policy's answer", res, err)
		}
		page, err = w.m.GetEvents(ctx, EventsRequest{Sandbox: "autoperm", Session: inside.Name, Cursor: res.Cursor})
		var answer string
		for _, ev := range page.Events {
			if ev.Kind == events.KindPermissionResponse {
				answer = ev.Permission.Outcome
			}
		}
		if err != nil || answer != "allow" || !strings.HasSuffix(inside.Cwd, "/ws") {
			t.Errorf("the policy answered %q in %s (%v), want allow (allow_once) inside the workspace", answer, inside.Cwd, err)
		}
	})
}
