package e2e

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// TestBurstUnderLoad: a burst of 1600 tool calls (over 3200 envelopes, three times sandbox-agent 0.4.2's
// 1024-envelope replay ring) from the real sandbox-agent is read back whole and in order while the
// machine is loaded: busy loops on every CPU for the length of the turn. sandbox-agent skips envelopes for
// an SSE reader that falls behind; the reader must get them back from the ring before the agent runs past
// it. (Moved from package manager, where it also slowed every fsync to 50 ms through the manager's own
// hook; that half is manager's TestBurstGapRefilledWhileSyncIsSlow, over the fakes on a fake clock.)
func TestBurstUnderLoad(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	s := newSession(t, h)

	// Bounded CPU load: spinners on every CPU until the turn ends, 60 s at most.
	stop := make(chan struct{})
	defer close(stop)
	for range 2 * runtime.NumCPU() {
		go func() {
			deadline := time.Now().Add(60 * time.Second)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%1024 == 0 && time.Now().After(deadline) {
					return
				}
			}
		}()
	}
	turn := s.send(t, "calls 1600", 0)
	var titles, lost []string
	cursor := turn.Cursor
	for deadline := time.Now().Add(90 * time.Second); ; {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "limit": 500, "wait_seconds": 5}, &page)
		for _, ev := range page.Events {
			switch {
			case ev.Kind == events.KindToolCall:
				titles = append(titles, ev.ToolCall.Title)
			case strings.Contains(ev.Text, "were lost") || strings.Contains(ev.Error, "were lost"):
				lost = append(lost, ev.Text+ev.Error)
			}
		}
		cursor = page.NextCursor
		if page.Status == events.StatusIdle && !page.More {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("turn not over after 90 s: %d tool calls so far", len(titles))
		}
	}
	if got := strings.Join(titles, " ") + " "; got != series("t", 1600) || len(lost) > 0 {
		t.Errorf("read back %d of 1600 tool calls in order; loss reported: %q", len(titles), lost)
	}
}
