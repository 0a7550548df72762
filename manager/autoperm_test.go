package manager

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// permParams builds session/request_permission params with one location and the usual three options.
func permParams(kind, path string) string {
	return fmt.Sprintf(`{"sessionId":"s","toolCall":{"toolCallId":"c1","kind":%q,"locations":[{"path":%q}]},`+
		`"options":[{"optionId":"always","kind":"allow_always"},{"optionId":"once","kind":"allow_once"},{"optionId":"no","kind":"reject_once"}]}`, kind, path)
}

func TestAutoOption(t *testing.T) {
	const ws = "/home/u/proj"
	onlyAlways := `{"toolCall":{"kind":"edit","locations":[{"path":"/home/u/proj/a.go"}]},"options":[{"optionId":"always","kind":"allow_always"},{"optionId":"no","kind":"reject_once"}]}`
	cases := []struct {
		name, policy, workspace, params, want string
	}{
		{"edit inside the workspace", AutoPermissionEdits, ws, permParams("edit", ws+"/src/a.go"), "once"},
		{"read inside the workspace", AutoPermissionEdits, ws, permParams("read", ws+"/README.md"), "once"},
		{"the workspace itself", AutoPermissionEdits, ws, permParams("read", ws), "once"},
		{"edit outside the workspace", AutoPermissionEdits, ws, permParams("edit", "/etc/passwd"), ""},
		{"a workspace of / bounds nothing", AutoPermissionEdits, "/", permParams("edit", "/etc/passwd"), ""},
		{"no workspace bounds nothing", AutoPermissionEdits, "", permParams("edit", "/etc/passwd"), ""},
		{"dot-dot out of the workspace", AutoPermissionEdits, ws, permParams("edit", ws+"/../../../etc/passwd"), ""},
		{"sibling with the workspace as prefix", AutoPermissionEdits, ws, permParams("edit", ws+"-evil/a"), ""},
		{"relative path", AutoPermissionEdits, ws, permParams("edit", "src/a.go"), ""},
		{".git hook", AutoPermissionEdits, ws, permParams("edit", ws+"/.git/hooks/pre-commit"), ""},
		{".git config", AutoPermissionEdits, ws, permParams("edit", ws+"/.git/config"), ""},
		{".claude settings", AutoPermissionEdits, ws, permParams("edit", ws+"/.claude/settings.json"), ""},
		{".vscode tasks deep down", AutoPermissionEdits, ws, permParams("edit", ws+"/sub/.vscode/tasks.json"), ""},
		{".envrc", AutoPermissionEdits, ws, permParams("edit", ws+"/.envrc"), ""},
		{".mcp.json", AutoPermissionEdits, ws, permParams("edit", ws+"/.mcp.json"), ""},
		{".github workflow", AutoPermissionEdits, ws, permParams("edit", ws+"/.github/workflows/ci.yml"), ""},
		{"execute is never an edit", AutoPermissionEdits, ws, permParams("execute", ws+"/a.sh"), ""},
		{"no location", AutoPermissionEdits, ws, `{"toolCall":{"kind":"edit"},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"only allow_always offered (edits)", AutoPermissionEdits, ws, onlyAlways, ""},
		{"only allow_always offered (all)", AutoPermissionAll, ws, onlyAlways, ""},
		{"all allows outside, once", AutoPermissionAll, ws, permParams("execute", "/etc/passwd"), "once"},
		{"off", AutoPermissionOff, ws, permParams("edit", ws+"/a"), ""},
		{"duplicate kind key in another case", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute","KIND":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate kind key, same case", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute","kind":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"key only in another case", AutoPermissionEdits, ws,
			`{"toolCall":{"KIND":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate path key", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"edit","locations":[{"path":"/etc/passwd","Path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate option kind", AutoPermissionAll, ws,
			`{"toolCall":{"kind":"edit"},"options":[{"optionId":"x","kind":"allow_always","Kind":"allow_once"}]}`, ""},
		{"duplicate toolCall", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute"},"toolcall":{"kind":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"kind not a string", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":["edit"],"locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"trailing garbage", AutoPermissionEdits, ws, permParams("edit", ws+"/a") + `x`, ""},
		{"not JSON", AutoPermissionAll, ws, `nope`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := autoOption(c.policy, c.workspace, json.RawMessage(c.params)); got != c.want {
				t.Errorf("autoOption(%s, %q, %s) = %q, want %q", c.policy, c.workspace, c.params, got, c.want)
			}
		})
	}
}

// TestAutoPermissionBoundByWorkspace drives the policy through the real sandbox-agent and the scripted
// agent: a session whose cwd the caller set to "/" asks to edit /etc/passwd and must wait for
// respond_permission; an edit inside the workspace is answered by the policy.
func TestAutoPermissionBoundByWorkspace(t *testing.T) {
	w := newFakeWorld(t)
	w.m.cfg.AutoPermission = AutoPermissionEdits
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
