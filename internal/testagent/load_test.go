package testagent

import (
	"fmt"
	"testing"
)

// TestUsageTokensMCP: usage_update notifications, the turn's usage in its response, and the mcpServers
// the session was opened with, echoed back.
func TestUsageTokensMCP(t *testing.T) {
	const servers = `[{"name":"fs","command":"mcp-fs","args":["--root","/w"],"env":[{"name":"TOKEN","value":"t"}]}]`
	h := start(t, map[string]string{"CWD": t.TempDir()})
	script := "usage 1200 200000 0.25; usage 1500 200000; tokens 100 20 7; mcp"
	runSteps(h, t, []step{
		S(initReq), W(initRes),
		S(req(2, "session/new", `{"cwd":"{{CWD}}","mcpServers":`+servers+`}`)), W(res(2, fmt.Sprintf(newResult, 1))),
		S(prompt(3, script)), W(text("user_message_chunk", script)),
		W(upd(`{"sessionUpdate":"usage_update","used":1200,"size":200000,"cost":{"amount":0.25,"currency":"USD"}}`)),
		W(upd(`{"sessionUpdate":"usage_update","used":1500,"size":200000}`)),
		W(text("agent_message_chunk", "mcp: "+servers)),
		W(res(3, `{"stopReason":"end_turn","usage":{"inputTokens":100,"outputTokens":20,"cachedReadTokens":7,"cachedWriteTokens":0,"totalTokens":127}}`)),
	})
}

// TestLoadAcrossProcesses: a session's history outlives its process; session/load in a new process
// replays it before answering, and new sessions skip the ids already taken.
func TestLoadAcrossProcesses(t *testing.T) {
	StateDir = t.TempDir()
	defer func() { StateDir = "" }()
	cwd := t.TempDir()
	first := start(t, map[string]string{"CWD": cwd})
	runSteps(first, t, with(
		S(prompt(3, "say hi there")), W(text("user_message_chunk", "say hi there")),
		W(text("agent_message_chunk", "hi there")), W(stopped(3, "end_turn")),
		closeStdin, exitsWith(0),
	))

	second := start(t, map[string]string{"CWD": cwd})
	runSteps(second, t, []step{
		S(initReq), W(initRes),
		S(req(2, "session/load", `{"sessionId":"sess-1","cwd":"{{CWD}}","mcpServers":[]}`)),
		W(text("user_message_chunk", "say hi there")), W(text("agent_message_chunk", "hi there")),
		W(res(2, `{"modes":{"currentModeId":"normal","availableModes":[{"id":"normal","name":"Normal"},{"id":"plan","name":"Plan"}]},`+
			`"models":{"currentModelId":"mock","availableModels":[{"modelId":"mock","name":"Mock"},{"modelId":"mock-fast","name":"Mock fast"}]}}`)),
		S(prompt(3, "history")), W(text("user_message_chunk", "history")),
		W(text("agent_message_chunk", "history: 1 earlier prompt(s): say hi there")), W(stopped(3, "end_turn")),
		S(req(4, "session/load", `{"sessionId":"sess-9","cwd":"{{CWD}}","mcpServers":[]}`)), W(rpcErr(4, -32602, `unknown session "sess-9"`)),
		S(req(5, "session/new", `{"cwd":"{{CWD}}","mcpServers":[]}`)), W(res(5, fmt.Sprintf(newResult, 2))),
	})
}
