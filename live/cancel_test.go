package live

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestCancelTurn: an agent that honours session/cancel ends the turn as cancelled at once; one that ignores
// it has its turn ended locally after exactly CancelGrace (on the fake clock), and the session takes the
// next turn.
func TestCancelTurn(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		switch turn.Text {
		case "obey":
			turn.Say("working")
			<-turn.Cancelled()
			turn.End("cancelled")
		case "ignore":
			turn.Say("not listening")
			<-turn.Stopped()
		default:
			turn.Say(turn.Text)
		}
	}}
	worldTest(t, opts, func(t *testing.T, w *world) {
		ctx := t.Context()
		l := w.open(t, "cancel")
		if _, _, err := l.Cancel(ctx); !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), "no running turn") {
			t.Errorf("cancel with no turn: %v", err)
		}
		for _, tt := range []struct {
			msg  string
			took time.Duration
		}{{"obey", 0}, {"ignore", CancelGrace}} {
			res, err := l.Send(ctx, tt.msg, 0, nil)
			if err != nil || res.Status != events.StatusRunning {
				t.Fatalf("send %s: %+v, %v", tt.msg, res, err)
			}
			start := time.Now()
			turn, status, err := l.Cancel(ctx)
			if err != nil || turn != res.ID || status != events.StatusIdle {
				t.Fatalf("cancel %s: %s %s, %v; want %s idle", tt.msg, turn, status, err, res.ID)
			}
			if took := time.Since(start); took != tt.took {
				t.Errorf("cancel of an agent that does %q took %v, want %v", tt.msg, took, tt.took)
			}
			page, err := l.Page(PageRequest{Cursor: res.Cursor})
			if err != nil || page.LastStop != "cancelled" {
				t.Errorf("after cancel %s: %+v, %v; want stop reason cancelled", tt.msg, page, err)
			}
		}
		if n := outMethods(t, l, acp.MethodCancel); n != 2 {
			t.Errorf("%d session/cancel logged, want one per cancel", n)
		}
		res, err := l.Send(ctx, "next", 10*time.Second, nil)
		if err != nil || !res.Done || res.FinalText != "next" {
			t.Errorf("a turn after the local end: %+v, %v", res, err)
		}
	})
}
