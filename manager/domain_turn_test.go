package manager

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestDomainSendMessageStartsTurn: send_message returns at once with the turn running while the agent
// works; get_events follows the turn to its end; a send that waits gets the turn's final text.
func TestDomainSendMessageStartsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proceed := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			if turn.Text == "hold" {
				turn.Say("working")
				select {
				case <-proceed:
				case <-turn.Stopped():
					return
				}
				turn.Say(" done")
				return
			}
			turn.Say("echo: " + turn.Text)
		}}
		w := newDomainWorld(t, opts)
		ctx := t.Context()
		s := w.session(t, "turns")
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "hold"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != events.StatusRunning || res.TurnID != "turn-1" || res.Done {
			t.Fatalf("send_message = %+v; want turn-1 running, not done", res)
		}
		// A second send while the turn runs is refused in one line.
		_, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "again"})
		if !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), "is busy with turn turn-1") || strings.Contains(err.Error(), "\n") {
			t.Errorf("send during a turn: %v; want a one-line busy error", err)
		}
		close(proceed)
		evs, page := w.readTurn(t, "turns", s.Name, res.Cursor)
		if got := texts(evs); got != "working done" {
			t.Errorf("turn text %q, want %q", got, "working done")
		}
		if page.Status != events.StatusIdle || page.LastStop != "end_turn" {
			t.Errorf("after the turn: status %s, stop %q; want idle, end_turn", page.Status, page.LastStop)
		}
		if evs[0].Kind != events.KindUserMessage || evs[0].Text != "hold" {
			t.Errorf("first event %+v, want the user's message", evs[0])
		}

		// With wait_seconds, the call returns the finished turn.
		res, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "hi", Wait: 10 * time.Second})
		if err != nil || !res.Done || res.TurnID != "turn-2" || res.FinalText != "echo: hi" || res.StopReason != "end_turn" || res.Status != events.StatusIdle {
			t.Errorf("send with wait = %+v, %v; want turn-2 done with its text", res, err)
		}
	})
}
