package agents

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// claudeEnv is the server environment for Claude Code against api: the scripted API's URL and a dummy key
// passed by name. IS_SANDBOX=1 lets Claude Code start as root (the container runs as the host user, root in
// CI); CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC keeps it from calling anything but the model API.
func claudeEnv(api *modelapi.Server) (map[string]string, []string) {
	return map[string]string{
			"ANTHROPIC_API_KEY":                        "sk-ant-test-dummy",
			"ANTHROPIC_BASE_URL":                       api.URL,
			"IS_SANDBOX":                               "1",
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
			"CLAUDE_CODE_MAX_RETRIES":                  "1",
		}, []string{"--pass-env=ANTHROPIC_BASE_URL,IS_SANDBOX,CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC,CLAUDE_CODE_MAX_RETRIES"}
}

func TestClaudeWritesFile(t *testing.T) {
	image := agentsImage(t)
	api := modelapi.NewAnthropic(t)
	env, flags := claudeEnv(api)
	h := start(t, image, env, flags...)
	ws := t.TempDir()
	os.Chmod(ws, 0o777)
	var sb manager.SandboxResult
	h.ok("create_sandbox", map[string]any{"workspace": ws}, &sb)
	var sess manager.SessionResult
	h.ok("create_session", map[string]any{"sandbox": sb.Name, "agent": "claude"}, &sess)
	t.Logf("session: %+v modes=%s models=%s", sess, sess.Modes, sess.Models)

	target := filepath.Join(ws, "hello.txt")
	api.Push(
		modelapi.Step{Text: "I will write the file.", Tool: &modelapi.Tool{Name: "Write", Input: map[string]any{"file_path": target, "content": "hello from claude\n"}}},
		modelapi.Step{Text: "Done: hello.txt is written."},
	)
	var turn manager.TurnResult
	h.ok("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "write hello.txt"}, &turn)
	var got []events.Event
	page := h.waitStatus(sb.Name, sess.Name, turn.Cursor, &got, events.StatusWaitingPermission)
	req := page.Pending[0].Permission
	t.Logf("permission: %+v", req)
	h.ok("respond_permission", map[string]any{"sandbox": sb.Name, "session": sess.Name, "request_id": req.RequestID, "option": "allow"}, &struct{}{})
	page = h.waitStatus(sb.Name, sess.Name, page.NextCursor, &got, events.StatusIdle)
	for _, l := range summarize(got) {
		t.Log(l)
	}
	for _, r := range api.Requests() {
		t.Logf("request %s model=%s stream=%v step=%d", r.Path, r.Model, r.Stream, r.Step)
	}
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "hello from claude\n" {
		t.Errorf("file = %q, %v", data, err)
	}
}
