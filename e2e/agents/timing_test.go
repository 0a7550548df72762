package agents

import (
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestSessionStartTimes logs how long create_session takes per agent: the first session in a fresh sandbox
// (the agent's first start in that container) and a second one in the same sandbox. Figures only, no bounds:
// this machine is shared. A failing create_session fails the test.
func TestSessionStartTimes(t *testing.T) {
	for _, agent := range []string{"claude", "codex", "opencode"} {
		t.Run(agent, func(t *testing.T) {
			var h *harness
			ws := t.TempDir()
			switch agent {
			case "claude":
				h, _ = startClaude(t)
			case "codex":
				h, _, ws = startCodex(t)
			case "opencode":
				h, _ = startOpenCode(t)
			}
			sb := h.sandbox(ws)
			var took []time.Duration
			for range 2 {
				var sess manager.SessionResult
				t0 := time.Now()
				h.OK("create_session", map[string]any{"sandbox": sb, "agent": agent}, &sess)
				took = append(took, time.Since(t0).Round(time.Millisecond))
			}
			t.Logf("TIMING %s create_session: first in a fresh sandbox %v, second %v", agent, took[0], took[1])
		})
	}
}
