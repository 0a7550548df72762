package live

import (
	"testing"
	"testing/synctest"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// TestEnd: ending a session whose sandbox goes away sends session/cancel for a running turn (and nothing for
// an idle session), marks the session ended and reports true; a session already ended or failed reports
// false and is left as it was.
func TestEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cancelled := make(chan string, 4) // the turns the agent saw cancelled
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			turn.Say("working")
			select {
			case <-turn.Cancelled():
				cancelled <- turn.Text
				turn.End("cancelled")
			case <-turn.Stopped():
			}
		}}
		w := newWorld(t, opts)
		ctx := t.Context()

		running := w.open(t, "running")
		if res, err := running.Send(ctx, "hold", 0, nil); err != nil || res.Status != events.StatusRunning {
			t.Fatalf("send: %+v, %v", res, err)
		}
		idle := w.open(t, "idle")
		posts := len(w.agent.Posts())
		if !idle.End(ctx) {
			t.Error("End of an idle session reported false")
		}
		if got := w.agent.Posts()[posts:]; len(got) != 0 {
			t.Errorf("End of an idle session posted %q; want nothing", got)
		}
		if !running.End(ctx) {
			t.Error("End of a running session reported false")
		}
		synctest.Wait()
		select {
		case text := <-cancelled:
			if text != "hold" {
				t.Errorf("the agent saw the turn of %q cancelled, want hold", text)
			}
		default:
			t.Error("the running turn got no session/cancel")
		}
		for _, l := range []*Session{running, idle} {
			if s := l.Snapshot().State; s.Status != events.StatusEnded || s.Turn != "" {
				t.Errorf("%s after End: %s, turn %q; want ended with no turn", l.Key(), s.Status, s.Turn)
			}
			if got, err := w.store.GetSession("sb", l.Snapshot().Name); err != nil || got.State.Status != events.StatusEnded {
				t.Errorf("%s on disk after End: %+v, %v; want ended", l.Key(), got.State, err)
			}
		}

		failed := w.open(t, "failed")
		failed.SetState(func(s *events.State) { s.Fail("lost") })
		for _, l := range []*Session{running, failed} {
			before := l.Snapshot().State.Status
			if l.End(ctx) {
				t.Errorf("End of a session already %s reported true", before)
			}
			if s := l.Snapshot().State; s.Status != before {
				t.Errorf("End of a session already %s left it %s", before, s.Status)
			}
		}
	})
}
