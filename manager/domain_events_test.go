package manager

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestDomainGetEventsWaits: a waiting get_events returns when the next event arrives, reporting progress
// every 3 s meanwhile, and an idle wait returns after exactly its wait with nothing. Time is the bubble's:
// the 10 s the agent takes cost no real time.
func TestDomainGetEventsWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proceed := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			turn.ToolCall("call-1", "compile everything")
			select {
			case <-proceed:
			case <-turn.Stopped():
				return
			}
			time.Sleep(10 * time.Second) // the agent thinks (on the fake clock)
			turn.Say("compiled")
			select {
			case <-turn.Cancelled():
				turn.End("cancelled")
			case <-turn.Stopped():
			}
		}}
		w := newDomainWorld(t, opts)
		ctx := t.Context()
		s := w.session(t, "waits")
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "waits", Session: s.Name, Message: "build"})
		if err != nil {
			t.Fatal(err)
		}
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "waits", Session: s.Name, Cursor: res.Cursor, Wait: 5 * time.Second})
		if err != nil || len(page.Events) < 2 {
			t.Fatalf("first page: %+v, %v; want the prompt and the tool call", page, err)
		}
		cursor := page.NextCursor

		close(proceed)
		var progress []string
		start := time.Now()
		page, err = w.m.GetEvents(ctx, EventsRequest{Sandbox: "waits", Session: s.Name, Cursor: cursor, Wait: 30 * time.Second,
			Progress: func(msg string) { progress = append(progress, msg) }})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("the wait returned after %v, want exactly when the event came (10s)", took)
		}
		if texts(page.Events) != "compiled" {
			t.Errorf("events %+v, want the agent's text", page.Events)
		}
		if len(progress) != 3 {
			t.Errorf("progress %q: want 3 reports (at 3, 6 and 9 s)", progress)
		}
		for _, p := range progress {
			if !strings.Contains(p, "running turn-1") || !strings.Contains(p, "compile everything") {
				t.Errorf("progress %q does not say what the agent is doing", p)
			}
		}

		// Nothing more comes: the wait ends after exactly its length, with an empty page.
		start = time.Now()
		page, err = w.m.GetEvents(ctx, EventsRequest{Sandbox: "waits", Session: s.Name, Cursor: page.NextCursor, Wait: 7 * time.Second})
		if err != nil || len(page.Events) != 0 || page.Status != events.StatusRunning {
			t.Errorf("idle wait: %+v, %v; want no events, running", page, err)
		}
		if took := time.Since(start); took != 7*time.Second {
			t.Errorf("idle wait returned after %v, want 7s", took)
		}
		if _, err := w.m.CancelTurn(ctx, "waits", s.Name); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDomainRespondPermission: a permission request makes the session waiting_permission; a wrong option
// or request id is a one-line error; the answer reaches the agent with the request's own id (a number
// stays a number) and the turn goes on.
func TestDomainRespondPermission(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		turn.ToolCall("call-1", "run ls")
		answer, ok := turn.RequestPermission(7, "call-1", "run ls")
		if !ok {
			return
		}
		turn.Say("answer " + string(answer))
	}}
	domainTest(t, opts, func(t *testing.T, w *domainWorld) {
		ctx := t.Context()
		s := w.session(t, "perm")
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "perm", Session: s.Name, Message: "list", Wait: 10 * time.Second})
		if err != nil || res.Status != events.StatusWaitingPermission || res.Done {
			t.Fatalf("send: %+v, %v; want waiting_permission", res, err)
		}
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "perm", Session: s.Name, Cursor: res.Cursor})
		if err != nil || len(page.Pending) != 1 || page.Pending[0].Permission.RequestID != "7" {
			t.Fatalf("pending: %+v, %v; want request 7", page.Pending, err)
		}
		for _, bad := range []struct{ id, option, want string }{
			{"7", "sudo", `option "sudo" is not offered for request "7": use one of [allow, always, reject] or cancelled`},
			{"8", "allow", `no pending permission request "8"`},
		} {
			_, err := w.m.RespondPermission(ctx, "perm", s.Name, bad.id, bad.option)
			if !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("respond %s/%s: %v; want one line with %q", bad.id, bad.option, err, bad.want)
			}
		}
		pr, err := w.m.RespondPermission(ctx, "perm", s.Name, "7", "allow")
		if err != nil || pr.Outcome != "allow" {
			t.Fatalf("respond: %+v, %v", pr, err)
		}
		evs, page := w.readTurn(t, "perm", s.Name, res.Cursor)
		if got, want := texts(evs), `answer {"outcome":{"outcome":"selected","optionId":"allow"}}`; got != want {
			t.Errorf("the agent got %q, want %q", got, want)
		}
		if page.Status != events.StatusIdle || len(page.Pending) != 0 {
			t.Errorf("after the answer: %s, pending %v", page.Status, page.Pending)
		}
		if _, err := w.m.RespondPermission(ctx, "perm", s.Name, "7", "allow"); !errors.Is(err, sandbox.ErrInvalid) {
			t.Errorf("answering twice: %v, want an invalid error", err)
		}
	})
}

// TestDomainCancelTurn: an agent that honours session/cancel ends the turn as cancelled at once; one that
// ignores it has its turn ended locally after exactly cancelGrace (on the fake clock), and the session
// takes the next turn.
func TestDomainCancelTurn(t *testing.T) {
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
	domainTest(t, opts, func(t *testing.T, w *domainWorld) {
		ctx := t.Context()
		s := w.session(t, "cancel")
		if _, err := w.m.CancelTurn(ctx, "cancel", s.Name); !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), "no running turn") {
			t.Errorf("cancel with no turn: %v", err)
		}
		for _, tt := range []struct {
			msg  string
			took time.Duration
		}{{"obey", 0}, {"ignore", live.CancelGrace}} {
			res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "cancel", Session: s.Name, Message: tt.msg})
			if err != nil || res.Status != events.StatusRunning {
				t.Fatalf("send %s: %+v, %v", tt.msg, res, err)
			}
			start := time.Now()
			cr, err := w.m.CancelTurn(ctx, "cancel", s.Name)
			if err != nil || cr.TurnID != res.TurnID || cr.Status != events.StatusIdle {
				t.Fatalf("cancel %s: %+v, %v; want %s idle", tt.msg, cr, err, res.TurnID)
			}
			if took := time.Since(start); took != tt.took {
				t.Errorf("cancel of an agent that does %q took %v, want %v", tt.msg, took, tt.took)
			}
			page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "cancel", Session: s.Name, Cursor: res.Cursor})
			if err != nil || page.LastStop != "cancelled" {
				t.Errorf("after cancel %s: %+v, %v; want stop reason cancelled", tt.msg, page, err)
			}
		}
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "cancel", Session: s.Name, Message: "next", Wait: 10 * time.Second})
		if err != nil || !res.Done || res.FinalText != "next" {
			t.Errorf("a turn after the local end: %+v, %v", res, err)
		}
	})
}
