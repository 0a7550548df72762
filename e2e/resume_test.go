package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestResumeAfterSandboxStop: the sbx sandbox stops between two turns (a user's `sbx stop`, or an auto-stop
// once nothing holds it: the held sandbox-agent exec is killed and the double stops the idle sandbox). The
// next send_message alone starts the sandbox and sandbox-agent again on a new host port, continues the
// session (session/load, or a summary when the agent cannot load), says so in one line, and the turn
// runs with the conversation's context; the log holds every message of the conversation exactly once.
func TestResumeAfterSandboxStop(t *testing.T) {
	for _, tc := range []struct {
		name, how, load string
		stop            func(t *testing.T, bin string, env map[string]string, name string)
	}{
		{"sbx stop, session/load", manager.ContinuedLoad, "1", userStop},
		{"auto-stop, session/load", manager.ContinuedLoad, "1", autoStop},
		{"auto-stop, summary", manager.ContinuedSummary, "0", autoStop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, env, bin, sb, sess := blueDoor(t, tc.load)
			port1 := publishedPort(t, bin, env, sb)

			tc.stop(t, bin, env, sb)
			tr := h.send(sb, sess, "history")
			if !strings.Contains(tr.Resumed, tc.how) || strings.Contains(tr.Resumed, "\n") {
				t.Errorf("resumed = %q, want one line naming %s", tr.Resumed, tc.how)
			}
			if !strings.Contains(tr.FinalText, "the blue door") {
				t.Errorf("the resumed agent does not know the conversation: %q", tr.FinalText)
			}
			if port2 := publishedPort(t, bin, env, sb); port2 == port1 {
				t.Errorf("host port %d did not change across the restart: was it re-read?", port2)
			}
			n := h.eventCounts(sb, sess)
			users, agents, continued := n["user_message say the blue door"], n["agent_message the blue door"], n["session_continued "+tc.how]
			if asked := n["user_message history"]; users != 1 || agents != 1 || asked != 1 || continued != 1 {
				t.Errorf("events: %d first messages, %d first replies, %d second messages, %d session_continued; want 1 each", users, agents, asked, continued)
			}
			// The session goes on as usual.
			if tr := h.send(sb, sess, "say again"); tr.Resumed != "" || tr.FinalText != "again" {
				t.Errorf("next turn = %+v", tr)
			}
		})
	}
}

// userStop is a user's `sbx stop` behind the server's back.
func userStop(t *testing.T, bin string, env map[string]string, name string) {
	t.Helper()
	if err := testkit.RunFake(bin, env, "stop", name); err != nil {
		t.Fatal(err)
	}
}

// autoStop kills the `sbx exec` that holds sandbox-agent (as if that session had ended) and waits for the
// double to stop the sandbox by itself.
func autoStop(t *testing.T, bin string, env map[string]string, name string) {
	t.Helper()
	// The held exec's script (sandbox/sbx_agent.go sbxAgentScript) runs `"${SANDBOX_MCP_AGENT_BIN:-sandbox-agent}" server`.
	killProcs(t, "exec", name, "SANDBOX_MCP_AGENT_BIN", " server --no-telemetry")
	deadline := time.Now().Add(20 * time.Second)
	for sandboxStatus(t, bin, env, name) != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the sandbox did not auto-stop once nothing held it")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
