package agents

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// startOpenCode starts sandbox-mcp for OpenCode (`opencode acp`) against scripted OpenAI-compatible chat
// completions. OpenCode takes a custom provider from its config, which OPENCODE_CONFIG_CONTENT carries (passed
// by name); the provider package @ai-sdk/openai-compatible is bundled in the binary, so nothing is installed.
// OPENCODE_DISABLE_MODELS_FETCH, _AUTOUPDATE and _DEFAULT_PLUGINS keep it off the network.
func startOpenCode(t *testing.T, extra ...string) (*harness, *modelapi.Server) {
	t.Helper()
	image := agentsImage(t)
	api := modelapi.NewOpenAI(t)
	cfg, _ := json.Marshal(map[string]any{
		"$schema": "https://opencode.ai/config.json",
		"model":   "scripted/scripted-model",
		"provider": map[string]any{"scripted": map[string]any{
			"npm": "@ai-sdk/openai-compatible", "name": "Scripted",
			"options": map[string]any{"baseURL": api.URL + "/v1", "apiKey": "sk-test-dummy"},
			"models":  map[string]any{"scripted-model": map[string]any{"name": "Scripted model"}},
		}},
		"autoupdate": false, "share": "disabled",
		// OpenCode's default lets the agent edit without asking; ask, as a cautious user configures it.
		"permission": map[string]any{"edit": "ask", "bash": "ask"},
	})
	env := map[string]string{"OPENCODE_CONFIG_CONTENT": string(cfg), "OPENCODE_DISABLE_MODELS_FETCH": "1",
		"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1"}
	flags := []string{"--pass-env=OPENCODE_CONFIG_CONTENT,OPENCODE_DISABLE_MODELS_FETCH,OPENCODE_DISABLE_AUTOUPDATE,OPENCODE_DISABLE_DEFAULT_PLUGINS"}
	return start(t, image, env, append(flags, extra...)...), api
}

func opencodeWriteSteps(ws, rel, content string) []modelapi.Step {
	return []modelapi.Step{
		{Text: "Writing the file.", Tool: &modelapi.Tool{Name: "write", Input: map[string]any{"filePath": filepath.Join(ws, rel), "content": content}}},
		{Text: "Done: " + rel + " is written."},
	}
}

// TestOpenCodeWriteWithPermission: OpenCode (configured to ask before edits) asks before writing;
// respond_permission allows it; the file is on the host; the normalised events match the golden file.
func TestOpenCodeWriteWithPermission(t *testing.T) {
	h, api := startOpenCode(t)
	r := newRun(t, h, api, "opencode", nil)
	t.Logf("agent %s modes %s models %s", r.sess.AgentInfo, r.sess.Modes, r.sess.Models)
	// OpenCode asks the model for a session title too, in a streamed request without tools: answered aside.
	api.Aside = func(q modelapi.Request) bool { _, tools := q.Body["tools"]; return !tools }
	api.Push(opencodeWriteSteps(r.ws, "hello.txt", "hello from opencode\n")...)
	var got []events.Event
	defer func() {
		for _, q := range api.Requests() {
			var tools []string
			if ts, ok := q.Body["tools"].([]any); ok {
				for _, x := range ts {
					m, _ := x.(map[string]any)
					f, _ := m["function"].(map[string]any)
					tools = append(tools, toString(f["name"]))
				}
			}
			t.Logf("request %s stream=%v aside=%v step=%d tools %v", q.Path, q.Stream, q.Aside, q.Step, tools)
		}
		t.Log(strings.Join(testkit.Summarize(got), "\n"))
	}()
	r.writeWithPermission(&got, "hello from opencode\n", "opencode-write", firstOption)
}

func toString(v any) string { s, _ := v.(string); return s }

// newOpenCode is a session with OpenCode, its title requests (streamed, without tools) answered aside.
func newOpenCode(t *testing.T, extra ...string) *agentRun {
	t.Helper()
	h, api := startOpenCode(t, extra...)
	r := newRun(t, h, api, "opencode", nil)
	api.Aside = func(q modelapi.Request) bool { _, tools := q.Body["tools"]; return !tools }
	return r
}

// TestOpenCodeCancelWhileStreaming: cancel_turn while the chat completions API streams slowly.
func TestOpenCodeCancelWhileStreaming(t *testing.T) {
	cancelWhileStreaming(t, newOpenCode(t))
}

// TestOpenCodeModelAPIError: the chat completions API answers 400; the turn ends with OpenCode's error for the
// reader, and the session serves the next turn.
func TestOpenCodeModelAPIError(t *testing.T) {
	r := newOpenCode(t)
	r.api.Push(modelapi.Step{Fail: 400, ErrorMessage: "scripted bad request"})
	var got []events.Event
	page := r.wait(r.send("hello"), &got, events.StatusIdle)
	all := strings.Join(testkit.Summarize(got), "\n") + page.LastError
	if !strings.Contains(all, "scripted bad request") && !strings.Contains(all, "400") {
		t.Errorf("the API error is not in the events: %s", all)
	}
	t.Logf("after a 400: stop %q error %q events %v", page.LastStop, page.LastError, testkit.Summarize(got))
	r.usableAfter("recovered")
}

// TestOpenCodeModelsAndModes: OpenCode 1.18 reports its modes and models only as config options (session/new
// has no modes or models): create_session checks a model against them, sets the mode and the model with
// session/set_config_option, and get_events reports both; the chosen model reaches the model API.
func TestOpenCodeModelsAndModes(t *testing.T) {
	h, api := startOpenCode(t)
	ws := t.TempDir()
	sb := h.sandbox(ws)
	msg := h.Fails("create_session", map[string]any{"sandbox": sb, "agent": "opencode", "model": "nosuch/model"})
	if !strings.Contains(msg, "scripted/scripted-model") {
		t.Errorf("an unknown model's error does not list the offered ones: %s", msg)
	}
	r := &agentRun{t: t, h: h, api: api, ws: ws, sandbox: sb}
	h.OK("create_session", map[string]any{"sandbox": sb, "agent": "opencode", "model": "scripted/scripted-model", "mode": "plan"}, &r.sess)
	t.Logf("modes %s models %s", r.sess.Modes, r.sess.Models)
	api.Aside = func(q modelapi.Request) bool { _, tools := q.Body["tools"]; return !tools }
	api.Push(modelapi.Step{Text: "hi"})
	var got []events.Event
	page := r.wait(r.send("hello"), &got, events.StatusIdle)
	if page.Mode != "plan" || page.Model != "scripted/scripted-model" {
		t.Errorf("get_events reports mode %q model %q, want plan and scripted/scripted-model", page.Mode, page.Model)
	}
	var models []string
	for _, q := range api.Requests() {
		if !q.Aside {
			models = append(models, q.Model)
		}
	}
	if len(models) == 0 || models[len(models)-1] != "scripted-model" {
		t.Errorf("model requests %v, want scripted-model", models)
	}
}

// TestOpenCodeContinueAfterRestart: OpenCode advertises loadSession; after the sandbox's sandbox-agent stops,
// the session continued with session/load remembers the earlier turn (its sessions are in its data folder
// under HOME, in the container's writable layer).
func TestOpenCodeContinueAfterRestart(t *testing.T) {
	continueAfterRestart(t, newOpenCode(t))
}
