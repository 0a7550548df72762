package testagent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type step struct {
	send string                         // line to write to stdin
	want string                         // envelope expected next on stdout
	do   func(t *testing.T, h *harness) // anything else
}

func S(line string) step                       { return step{send: line} }
func W(env string) step                        { return step{want: env} }
func Do(f func(t *testing.T, h *harness)) step { return step{do: f} }

// runSteps sends, expects or does each step in turn.
func runSteps(h *harness, t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		switch {
		case s.send != "":
			h.send(s.send)
		case s.want != "":
			h.expect(s.want)
		default:
			s.do(t, h)
		}
	}
}

const (
	initReq   = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}`
	initRes   = `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true,"promptCapabilities":{},"mcpCapabilities":{"http":true,"sse":false}},"authMethods":[],"agentInfo":{"name":"scripted-agent","version":"1.0.0"}}}`
	newReq    = `{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"{{CWD}}","mcpServers":[]}}`
	newResult = `{"sessionId":"sess-%d","modes":{"currentModeId":"normal","availableModes":[{"id":"normal","name":"Normal"},{"id":"plan","name":"Plan"}]},` +
		`"models":{"currentModelId":"mock","availableModels":[{"modelId":"mock","name":"Mock"},{"modelId":"mock-fast","name":"Mock fast"}]}}`
)

// setup: initialize + session/new (sess-1).
var setup = []step{S(initReq), W(initRes), S(newReq), W(res(2, fmt.Sprintf(newResult, 1)))}

// with: setup followed by steps.
func with(steps ...step) []step { return append(append([]step{}, setup...), steps...) }

// turnOf: a prompt with id 3, its user_message_chunk, then the given steps.
func turnOf(txt string, steps ...step) []step {
	return with(append([]step{S(prompt(3, txt)), W(text("user_message_chunk", txt))}, steps...)...)
}

func fileIs(rel, want string) step {
	return Do(func(t *testing.T, h *harness) {
		b, err := os.ReadFile(filepath.Join(h.vars["CWD"], rel))
		if err != nil || string(b) != want {
			t.Fatalf("file %s = %q, %v; want %q", rel, b, err, want)
		}
	})
}

func noFile(path string) step {
	return Do(func(t *testing.T, h *harness) {
		if _, err := os.Stat(h.expand(path)); err == nil {
			t.Fatalf("%s exists", path)
		}
	})
}

func exitsWith(code int) step {
	return Do(func(t *testing.T, h *harness) {
		if got := h.exitCode(); got != code {
			t.Fatalf("exit code %d, want %d", got, code)
		}
	})
}

var closeStdin = Do(func(t *testing.T, h *harness) { h.closeStdin() })

func eventsSteps(n int) []step {
	var s []step
	for i := 1; i <= n; i++ {
		s = append(s, W(text("agent_message_chunk", fmt.Sprintf("e%d ", i))))
	}
	return append(s, W(stopped(3, "end_turn")))
}

func TestAgent(t *testing.T) {
	old := eofGrace
	eofGrace = 100 * time.Millisecond // copied by Run when it starts
	t.Cleanup(func() { eofGrace = old })
	t.Setenv("TESTAGENT_SET", "yes")
	os.Unsetenv("TESTAGENT_UNSET")
	msg := func(s string) step { return W(text("agent_message_chunk", s)) }
	cases := []struct {
		name  string
		steps []step
	}{
		{"initialize", []step{S(initReq), W(initRes), closeStdin, exitsWith(0)}},
		{"session/new and set_model", with(
			S(newReq), W(res(2, fmt.Sprintf(newResult, 2))),
			S(req(3, "session/set_model", `{"sessionId":"sess-1","modelId":"mock-fast"}`)), W(res(3, `{}`)),
			S(req(4, "session/set_model", `{"sessionId":"sess-1","modelId":"gpt"}`)), W(rpcErr(4, -32602, `unknown model "gpt"`)),
			S(req(5, "session/new", `{"cwd":"relative","mcpServers":[]}`)), W(rpcErr(5, -32602, `cwd must be absolute, got "relative"`)),
		)},
		{"default echo", turnOf("hello there",
			msg("You sai"), msg("d: hell"), msg("o there"), W(stopped(3, "end_turn")))},
		{"say chunks", turnOf("say hello, wonderful world",
			msg("hello, w"), msg("onderful"), msg(" world"), W(stopped(3, "end_turn")))},
		{"think plan echo-env", turnOf("think hmm; plan a | b|c; echo-env TESTAGENT_SET; echo-env TESTAGENT_UNSET",
			W(text("agent_thought_chunk", "hmm")),
			W(upd(`{"sessionUpdate":"plan","entries":[{"content":"a","priority":"medium","status":"pending"},{"content":"b","priority":"medium","status":"pending"},{"content":"c","priority":"medium","status":"pending"}]}`)),
			msg("TESTAGENT_SET=yes"), msg("TESTAGENT_UNSET=unset"), W(stopped(3, "end_turn")))},
		{"tool", turnOf("tool Edit file; tool",
			W(toolCall("call-1", "Edit file", "edit")), W(toolUpd("call-1", "in_progress", "")), W(toolUpd("call-1", "completed", "ok")),
			W(toolCall("call-2", "tool", "edit")), W(toolUpd("call-2", "in_progress", "")), W(toolUpd("call-2", "completed", "ok")),
			W(stopped(3, "end_turn")))},
		{"write", turnOf("write sub/a.txt hi  there; write ../x nope; write sub/../../y nope; write /tmp/abs nope",
			W(toolCall("call-1", "Write sub/a.txt", "edit")), W(toolUpd("call-1", "completed", "wrote 9 bytes")),
			W(toolCall("call-2", "Write ../x", "edit")), W(toolUpd("call-2", "failed", `refused: path "../x" escapes the session cwd`)),
			W(toolCall("call-3", "Write sub/../../y", "edit")), W(toolUpd("call-3", "failed", `refused: path "sub/../../y" escapes the session cwd`)),
			W(toolCall("call-4", "Write /tmp/abs", "edit")), W(toolUpd("call-4", "failed", `refused: absolute path "/tmp/abs"`)),
			W(stopped(3, "end_turn")), fileIs("sub/a.txt", "hi  there"), noFile("{{CWD}}/../x"))},
		{"perm allow", turnOf("perm run ls; perm; say done",
			W(toolCall("call-1", "run ls", "execute")), W(permReq(1, "call-1", "run ls")),
			S(permReply(9, `{"outcome":{"outcome":"selected","optionId":"allow"}}`)), // unknown id: ignored
			S(permReply(1, `{"outcome":{"outcome":"selected","optionId":"allow"}}`)),
			W(toolUpd("call-1", "completed", "")),
			W(toolCall("call-2", "perm", "execute")), W(permReq(2, "call-2", "perm")),
			S(permReply(2, `{"outcome":{"outcome":"selected","optionId":"always"}}`)),
			W(toolUpd("call-2", "completed", "")), msg("done"), W(stopped(3, "end_turn")))},
		{"perm reject", turnOf("perm x; say after",
			W(toolCall("call-1", "x", "execute")), W(permReq(1, "call-1", "x")),
			S(permReply(1, `{"outcome":{"outcome":"selected","optionId":"reject"}}`)),
			W(toolUpd("call-1", "failed", "")), msg("after"), W(stopped(3, "end_turn")))},
		{"perm cancelled outcome", turnOf("perm x; say never",
			W(toolCall("call-1", "x", "execute")), W(permReq(1, "call-1", "x")),
			S(permReply(1, `{"outcome":{"outcome":"cancelled"}}`)),
			W(toolUpd("call-1", "failed", "")), W(stopped(3, "cancelled")))},
		{"perm session/cancel", turnOf("perm x; say never",
			W(toolCall("call-1", "x", "execute")), W(permReq(1, "call-1", "x")),
			S(cancelMsg), W(toolUpd("call-1", "failed", "")), W(stopped(3, "cancelled")),
			S(permReply(1, `{"outcome":{"outcome":"selected","optionId":"allow"}}`)), // late: ignored
			S(prompt(4, "say ok")), W(text("user_message_chunk", "say ok")), msg("ok"), W(stopped(4, "end_turn")))},
		{"sleep cancel and busy session", turnOf("sleep 60000; say never",
			S(prompt(4, "say x")), W(rpcErr(4, -32600, "prompt already running")),
			S(cancelMsg), W(stopped(3, "cancelled")),
			S(prompt(5, "stream 3 5")), W(text("user_message_chunk", "stream 3 5")),
			msg("s1 "), msg("s2 "), msg("s3 "), W(stopped(5, "end_turn")))},
		{"events 1500", turnOf("events 1500", eventsSteps(1500)...)},
		{"flood and big", turnOf("flood think 10 4; flood tool 5 5; big 3",
			W(text("agent_thought_chunk", "abcd")), W(text("agent_thought_chunk", "abcd")), W(text("agent_thought_chunk", "ab")),
			W(toolCall("call-1", "flood", "other")), W(toolUpd("call-1", "in_progress", "abcde")), W(toolUpd("call-1", "completed", "")),
			msg("abc"), W(stopped(3, "end_turn")))},
		{"stop max_tokens", turnOf("say a; stop max_tokens; say never", msg("a"), W(stopped(3, "max_tokens")))},
		{"fail", turnOf("fail boom now; say never", W(rpcErr(3, -32603, "boom now")))},
		{"script error", turnOf("say a; bogus", W(rpcErr(3, -32602, `script: unknown command "bogus"`)))},
		{"exit", turnOf("say bye; exit 3; say never", msg("bye"), exitsWith(3))},
		{"eof during perm", turnOf("perm x",
			W(toolCall("call-1", "x", "execute")), W(permReq(1, "call-1", "x")),
			closeStdin, W(toolUpd("call-1", "failed", "")), W(stopped(3, "cancelled")), exitsWith(0))},
		{"eof abandons sleeping turn", turnOf("sleep 60000", closeStdin, exitsWith(0))},
		{"set_mode", with(
			S(req(3, "session/set_mode", `{"sessionId":"sess-1","modeId":"plan"}`)),
			W(upd(`{"sessionUpdate":"current_mode_update","currentModeId":"plan"}`)), W(res(3, `{}`)),
			S(req(4, "session/set_mode", `{"sessionId":"sess-1","modeId":"yolo"}`)), W(rpcErr(4, -32602, `unknown mode "yolo"`)),
			S(req(5, "session/set_mode", `{"sessionId":"nope","modeId":"plan"}`)), W(rpcErr(5, -32602, `unknown session "nope"`)),
		)},
		{"unknown method and junk", with(
			S(`this is not json`),
			S(`{"jsonrpc":"2.0","method":"some/notification","params":{}}`),
			S(req(3, "foo/bar", `{}`)), W(rpcErr(3, -32601, "method not found: foo/bar")),
			S(req(4, "session/prompt", `{"sessionId":"nope","prompt":[]}`)), W(rpcErr(4, -32602, `unknown session "nope"`)),
			Do(func(t *testing.T, h *harness) {
				if !strings.Contains(h.stderr.String(), "bad JSON line") {
					t.Fatalf("stderr = %q", h.stderr.String())
				}
			}),
			closeStdin, exitsWith(0),
		)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(start(t, map[string]string{"CWD": t.TempDir()}), t, tc.steps)
		})
	}
}
