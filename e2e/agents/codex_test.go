package agents

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// codexModel is the scripted provider's model. Codex has no metadata for it and says so in the agent's text
// ("Model metadata for `scripted-model` not found"), as it does for any model it does not know (gpt-5-codex too).
const codexModel = "scripted-model"

// startCodex starts sandbox-mcp for Codex (codex-acp) against a scripted Responses API, and returns the
// workspace to use. Codex reaches a model API other than OpenAI's only through a custom model provider in
// $CODEX_HOME/config.toml (with OPENAI_BASE_URL alone it still opens wss://api.openai.com), so the test writes
// one and passes CODEX_HOME by name. The sandbox sees only the workspace from the host, so CODEX_HOME is made
// inside it. OPENAI_API_KEY is what sandbox-mcp's ACP authenticate (openai-api-key) relies on.
func startCodex(t *testing.T, extra ...string) (*harness, *modelapi.Server, string) {
	t.Helper()
	image := agentsImage(t)
	api := modelapi.NewOpenAI(t)
	ws := t.TempDir()
	home := filepath.Join(ws, ".codex-home")
	if err := os.MkdirAll(home, 0o777); err != nil {
		t.Fatal(err)
	}
	cfg := `model = "` + codexModel + `"
model_provider = "scripted"

[model_providers.scripted]
name = "Scripted"
base_url = "` + api.URL + `/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OPENAI_API_KEY": "sk-test-dummy", "CODEX_HOME": home}
	return start(t, image, env, append([]string{"--pass-env=CODEX_HOME"}, extra...)...), api, ws
}

// codexWriteSteps writes rel through Codex's exec_command tool. The command asks to run outside Codex's own
// sandbox (require_escalated): that sandbox needs bubblewrap, which a Docker container without privileges
// cannot run, and escalation is what makes Codex ask for permission.
func codexWriteSteps(ws, rel, content string) []modelapi.Step {
	return []modelapi.Step{
		{Text: "Writing the file.", Tool: &modelapi.Tool{Name: "exec_command", Input: map[string]any{
			"cmd": "printf '" + content + "' > " + rel, "workdir": ws, "shell": "/bin/sh", "login": false,
			"sandbox_permissions": "require_escalated", "justification": "write " + rel}}},
		{Text: "Done: " + rel + " is written."},
	}
}

// TestCodexWriteWithPermission: Codex asks before running the command that writes the file; respond_permission
// allows it; the file is on the host; the normalised events match the golden file.
func TestCodexWriteWithPermission(t *testing.T) {
	h, api, ws := startCodex(t)
	r := newRunIn(t, h, api, ws, "codex", nil)
	if !strings.Contains(string(r.sess.AgentInfo), "codex-acp") {
		t.Errorf("agent_info = %s", r.sess.AgentInfo)
	}
	api.Push(codexWriteSteps(ws, "hello.txt", "hello from codex")...)
	// codex-acp's first option allows once ("approved"); the ids are its own.
	r.writeWithPermission(new([]events.Event), "hello from codex", "codex-write", firstOption)
}

// TestCodexModelAPIError: the Responses API answers 500; the turn ends with codex-acp's error (its reason and
// error class, from error.data) for the reader, and the session serves the next turn.
func TestCodexModelAPIError(t *testing.T) {
	h, api, ws := startCodex(t)
	r := newRunIn(t, h, api, ws, "codex", nil)
	api.Push(modelapi.Step{Fail: 500, ErrorMessage: "scripted server error"}) // request_max_retries = 0: one request
	var got []events.Event
	page := r.wait(r.send("hello"), &got, events.StatusIdle)
	all := strings.Join(testkit.Summarize(got), "\n") + page.LastError
	// codex-acp does not pass the API's message on: it says its own words with its error class.
	if !strings.Contains(all, "internal_server_error") {
		t.Errorf("the API error is not in the events: %s", all)
	}
	t.Logf("after a 500: stop %q error %q events %v", page.LastStop, page.LastError, testkit.Summarize(got))
	if n := api.Pending(); n != 0 {
		t.Fatalf("%d scripted steps left after the failed turn", n)
	}
	r.usableAfter("recovered")
}

// TestCodexModes: create_session reports Codex's modes (no models: codex-acp 0.16 lists none) and sets the one
// asked for; in full-access mode the write runs without a permission request.
func TestCodexModes(t *testing.T) {
	h, api, ws := startCodex(t)
	r := newRunIn(t, h, api, ws, "codex", map[string]any{"mode": "full-access"})
	for _, want := range []string{`"read-only"`, `"auto"`, `"full-access"`} {
		if !strings.Contains(string(r.sess.Modes), want) {
			t.Errorf("modes %s lack %s", r.sess.Modes, want)
		}
	}
	steps := codexWriteSteps(ws, "mode.txt", "full access")
	delete(steps[0].Tool.Input, "sandbox_permissions") // full access: no sandbox, no escalation
	api.Push(steps...)
	var got []events.Event
	page := r.wait(r.send("write mode.txt"), &got, events.StatusIdle)
	if page.Mode != "full-access" {
		t.Errorf("get_events reports mode %q, want full-access", page.Mode)
	}
	if has(got, events.KindPermissionRequest) {
		t.Errorf("full-access mode still asked for permission: %v", testkit.Summarize(got))
	}
	r.fileIs("mode.txt", "full access")
}

// TestCodexAuthenticate: with Codex's own OpenAI provider (no custom provider configured), codex-acp answers
// session/new with "Authentication required" unless the client first sends ACP authenticate; sandbox-mcp does
// (openai-api-key, because OPENAI_API_KEY is passed). No turn runs, and the container has no network at all
// (exec transport), so nothing can try to reach OpenAI.
func TestCodexAuthenticate(t *testing.T) {
	image := agentsImage(t)
	ws := t.TempDir()
	home := filepath.Join(ws, ".codex-home")
	if err := os.MkdirAll(home, 0o777); err != nil {
		t.Fatal(err)
	}
	h := start(t, image, map[string]string{"OPENAI_API_KEY": "sk-test-dummy", "CODEX_HOME": home},
		"--pass-env=CODEX_HOME", "--docker-network=none", "--docker-transport=exec")
	r := newRunIn(t, h, nil, ws, "codex", nil)
	if !strings.Contains(string(r.sess.Modes), `"read-only"`) {
		t.Errorf("modes = %s", r.sess.Modes)
	}
}

// TestCodexCancelWhileStreaming: cancel_turn while the Responses API streams slowly.
func TestCodexCancelWhileStreaming(t *testing.T) {
	h, api, ws := startCodex(t)
	cancelWhileStreaming(t, newRunIn(t, h, api, ws, "codex", nil))
}

// TestCodexContinueAfterRestart: codex-acp advertises loadSession; after the sandbox's sandbox-agent stops,
// the session continued with session/load remembers the earlier turn (its rollout is in CODEX_HOME).
func TestCodexContinueAfterRestart(t *testing.T) {
	h, api, ws := startCodex(t)
	continueAfterRestart(t, newRunIn(t, h, api, ws, "codex", nil))
}
