package manager

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
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
