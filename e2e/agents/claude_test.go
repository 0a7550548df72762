package agents

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// claudeEnv is the server environment for Claude Code against api: the scripted API's URL and a dummy key
// (passed by name, as every agent key is), plus what Claude Code needs here, passed with --pass-env:
// IS_SANDBOX=1 lets it start as root (the container runs as the host user, root in CI),
// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC keeps it from calling anything but the model API, and
// CLAUDE_CODE_MAX_RETRIES=0 makes a scripted API error final instead of retried with back-off.
func claudeEnv(api *modelapi.Server) (map[string]string, []string) {
	return map[string]string{
		"ANTHROPIC_API_KEY":  "sk-ant-test-dummy",
		"ANTHROPIC_BASE_URL": api.URL,
		"IS_SANDBOX":         "1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
		"CLAUDE_CODE_MAX_RETRIES":                  "0",
	}, []string{"--pass-env=ANTHROPIC_BASE_URL,IS_SANDBOX,CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC,CLAUDE_CODE_MAX_RETRIES"}
}

func startClaude(t *testing.T, extra ...string) (*harness, *modelapi.Server) {
	t.Helper()
	image := agentsImage(t)
	api := modelapi.NewAnthropic(t)
	env, flags := claudeEnv(api)
	return start(t, image, env, append(flags, extra...)...), api
}

// writeSteps is a model turn that writes rel with content through Claude Code's Write tool, then says so.
func claudeWriteSteps(ws, rel, content string) []modelapi.Step {
	return []modelapi.Step{
		{Text: "I will write the file.", Tool: &modelapi.Tool{Name: "Write", Input: map[string]any{"file_path": filepath.Join(ws, rel), "content": content}}},
		{Text: "Done: " + rel + " is written."},
	}
}

// TestClaudeWriteWithPermission: Claude Code asks before writing; respond_permission allows it; the file is on
// the host; the turn's normalised events match the golden file.
func TestClaudeWriteWithPermission(t *testing.T) {
	h, api := startClaude(t)
	r := newRun(t, h, api, "claude", nil)
	if !strings.Contains(string(r.sess.AgentInfo), "claude-agent-acp") {
		t.Errorf("agent_info = %s", r.sess.AgentInfo)
	}
	api.Push(claudeWriteSteps(r.ws, "hello.txt", "hello from claude\n")...)
	r.writeWithPermission(new([]events.Event), "hello from claude\n", "claude-write", func(page live.Page) string {
		if tc := page.Pending[0].ToolCall; tc == nil || !strings.Contains(tc.Title, "hello.txt") {
			t.Errorf("permission request's tool call = %+v, want one naming hello.txt", tc)
		}
		return "allow"
	})
}

// TestClaudeAutoPermissionEdits: with --auto-permission edits the server allows Claude Code's write inside the
// workspace by itself; the session never waits.
func TestClaudeAutoPermissionEdits(t *testing.T) {
	h, api := startClaude(t, "--auto-permission=edits")
	r := newRun(t, h, api, "claude", nil)
	api.Push(claudeWriteSteps(r.ws, "auto.txt", "auto\n")...)
	var got []events.Event
	r.wait(r.send("write auto.txt"), &got, events.StatusIdle)
	r.fileIs("auto.txt", "auto\n")
	var allowed bool
	for _, ev := range got {
		if ev.Kind == events.KindPermissionResponse && ev.Permission != nil && strings.HasPrefix(ev.Permission.Outcome, "allow") {
			allowed = true
		}
	}
	if !allowed {
		t.Errorf("no automatic allow in the events: %v", testkit.Summarize(got))
	}
}

// TestClaudeCancelWhileStreaming: a turn cancelled while the model streams slowly ends cancelled, the model
// request is abandoned, and the session takes the next turn.
func TestClaudeCancelWhileStreaming(t *testing.T) {
	h, api := startClaude(t)
	cancelWhileStreaming(t, newRun(t, h, api, "claude", nil))
}

// TestClaudeModelAPIError: the model API answers 529 overloaded; the turn ends with the API's error for the
// reader to see, and the session serves the next turn.
func TestClaudeModelAPIError(t *testing.T) {
	h, api := startClaude(t)
	r := newRun(t, h, api, "claude", nil)
	api.Push(modelapi.Step{Fail: 529, ErrorMessage: "Overloaded (scripted)"})
	var got []events.Event
	page := r.wait(r.send("hello"), &got, events.StatusIdle)
	all := strings.Join(testkit.Summarize(got), "\n") + page.LastError
	if !strings.Contains(all, "Overloaded (scripted)") && !strings.Contains(all, "529") {
		t.Errorf("the API error is not in the events: %s (last error %q)", all, page.LastError)
	}
	t.Logf("after a 529: stop %q error %q events %v", page.LastStop, page.LastError, testkit.Summarize(got))

	r.usableAfter("recovered")
}

// TestClaudeModelsAndModes: create_session reports Claude Code's models and modes; choosing a model and a mode
// at create_session reaches the agent (the model API sees the chosen model; plan mode is reported).
func TestClaudeModelsAndModes(t *testing.T) {
	h, api := startClaude(t)
	r := newRun(t, h, api, "claude", map[string]any{"model": "haiku", "mode": "acceptEdits"})
	for _, want := range []string{`"haiku"`, `"default"`} {
		if !strings.Contains(string(r.sess.Models), want) {
			t.Errorf("models %s lack %s", r.sess.Models, want)
		}
	}
	for _, want := range []string{`"plan"`, `"acceptEdits"`, `"bypassPermissions"`} {
		if !strings.Contains(string(r.sess.Modes), want) {
			t.Errorf("modes %s lack %s", r.sess.Modes, want)
		}
	}
	api.Push(claudeWriteSteps(r.ws, "mode.txt", "accept edits\n")...)
	var got []events.Event
	// acceptEdits: the write needs no permission.
	page := r.wait(r.send("write mode.txt"), &got, events.StatusIdle)
	r.captureLog("claude-models")
	if page.Mode != "acceptEdits" || !strings.Contains(page.Model, "haiku") {
		t.Errorf("get_events reports mode %q model %q, want acceptEdits and haiku", page.Mode, page.Model)
	}
	r.fileIs("mode.txt", "accept edits\n")
	reqs := api.Requests()
	if len(reqs) == 0 || !strings.Contains(reqs[len(reqs)-1].Model, "haiku") {
		t.Errorf("model requests %+v, want the chosen haiku model", reqs)
	}
}

// TestClaudeContinueAfterRestart: claude-agent-acp advertises loadSession; after the sandbox's sandbox-agent
// stops, the session continued with session/load remembers the earlier turn.
func TestClaudeContinueAfterRestart(t *testing.T) {
	h, api := startClaude(t)
	continueAfterRestart(t, newRun(t, h, api, "claude", nil))
}
