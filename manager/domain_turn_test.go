package manager

import (
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// TestDomainTurnToolsReachSession: the tools' operations on a session reach its live session (the
// behaviour behind each is tested in package live): send_message starts a turn and, with a wait, returns it
// waiting for a permission; get_events pages it with the pending request; respond_permission's answer
// reaches the agent; cancel_turn ends a running turn as cancelled; a send that waits gets the ended turn.
func TestDomainTurnToolsReachSession(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		switch turn.Text {
		case "ask":
			answer, ok := turn.RequestPermission(7, "call-1", "run ls")
			if ok {
				turn.Say("answer " + string(answer))
			}
		case "hold":
			turn.Say("working")
			<-turn.Cancelled()
			turn.End("cancelled")
		default:
			turn.Say("echo: " + turn.Text)
			time.Sleep(time.Second) // the bubble's clock: only a send that waits sees the end
		}
	}}
	domainTest(t, opts, func(t *testing.T, w *domainWorld) {
		ctx := t.Context()
		s := w.session(t, "turns")
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "ask", Wait: 10 * time.Second})
		if err != nil || res.TurnID != "turn-1" || res.Status != events.StatusWaitingPermission || res.Done {
			t.Fatalf("send_message = %+v, %v; want turn-1 waiting_permission", res, err)
		}
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "turns", Session: s.Name, Cursor: res.Cursor})
		if err != nil || len(page.Pending) != 1 || page.Pending[0].Permission.RequestID != "7" ||
			len(page.Events) == 0 || page.Events[0].Kind != events.KindUserMessage || page.Events[0].Text != "ask" {
			t.Fatalf("get_events = %+v, %v; want the prompt and pending request 7", page, err)
		}
		pr, err := w.m.RespondPermission(ctx, "turns", s.Name, "7", "allow")
		if err != nil || pr.RequestID != "7" || pr.Outcome != "allow" {
			t.Fatalf("respond_permission = %+v, %v", pr, err)
		}
		evs, page := w.readTurn(t, "turns", s.Name, res.Cursor)
		if got, want := texts(evs), `answer {"outcome":{"outcome":"selected","optionId":"allow"}}`; got != want || page.LastStop != "end_turn" {
			t.Errorf("after the answer: text %q, stop %q; want %q, end_turn", got, page.LastStop, want)
		}

		res, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "hold"})
		if err != nil || res.TurnID != "turn-2" || res.Status != events.StatusRunning {
			t.Fatalf("send_message = %+v, %v; want turn-2 running", res, err)
		}
		cr, err := w.m.CancelTurn(ctx, "turns", s.Name)
		if err != nil || cr.TurnID != "turn-2" || cr.Status != events.StatusIdle {
			t.Fatalf("cancel_turn = %+v, %v; want turn-2 idle", cr, err)
		}
		page, err = w.m.GetEvents(ctx, EventsRequest{Sandbox: "turns", Session: s.Name, Cursor: res.Cursor})
		if err != nil || page.LastStop != "cancelled" || len(page.Events) == 0 || page.Events[0].Text != "hold" {
			t.Errorf("after cancel_turn: %+v, %v; want turn-2's events from its prompt, stop reason cancelled", page, err)
		}

		res, err = w.m.SendMessage(ctx, SendRequest{Sandbox: "turns", Session: s.Name, Message: "hi", Wait: 10 * time.Second})
		if err != nil || !res.Done || res.TurnID != "turn-3" || res.FinalText != "echo: hi" || res.StopReason != "end_turn" || res.Status != events.StatusIdle {
			t.Errorf("send_message with a wait = %+v, %v; want turn-3 done with its text", res, err)
		}
	})
}
