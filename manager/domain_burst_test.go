package manager

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// TestBurstGapRefilledWhileSyncIsSlow: a burst of 1600 tool calls (3200 envelopes, three times
// sandbox-agent 0.4.2's 1024-envelope replay ring) streamed while every fsync of the log takes 50 ms (a
// disk shared with other work), with a gap early in it (envelopes sandbox-agent's broadcast skipped). The
// reader reconnects at once from its own last id, without waiting for the writer and its syncs, while the
// ring still holds what was skipped: the burst is read back whole and in order. (Waiting for the writer
// first, the burst ran past the ring.) The same burst against the real sandbox-agent on a loaded machine
// is e2e's TestBurstUnderLoad.
func TestBurstGapRefilledWhileSyncIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The one internal hook: the live sessions' sync of the event log (live.Config.Sync). It is slowed only while the burst is
		// ingested and nothing else wants the session's lock, which the sync is under: a goroutine waiting
		// for a sync.Mutex is not durably blocked, so the bubble's clock would stop with the sync asleep.
		var slow atomic.Bool
		var agent *fakeagent.Agent // set before the turn starts
		done := make(chan struct{})
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			defer close(done)
			for i := 1; i <= 1600; i++ {
				if i == 100 {
					agent.Drop(10) // the next 10 envelopes reach the ring only
				}
				time.Sleep(10 * time.Microsecond) // 3200 envelopes in 32 ms: less than one sync
				id := fmt.Sprintf("c%d", i)
				turn.ToolCall(id, fmt.Sprintf("t%d", i))
				turn.Update(map[string]any{"sessionUpdate": "tool_call_update", "toolCallId": id, "status": "completed"})
			}
		}}
		w := newDomainWorld(t, opts)
		w.m.sess.Sync = func(l *eventlog.Log) error {
			if slow.Load() {
				time.Sleep(50 * time.Millisecond)
			}
			return l.Sync()
		}
		agent = w.agent
		ctx := t.Context()
		s := w.session(t, "burst")
		turn, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "burst", Session: s.Name, Message: "go"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		slow.Store(true)
		<-done
		time.Sleep(time.Minute) // the writer's slow batches, and any reconnect, are over long before
		slow.Store(false)
		var titles, lost []string
		for cursor := turn.Cursor; ; {
			page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "burst", Session: s.Name, Cursor: cursor, Limit: live.MaxLimit, Wait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				switch {
				case ev.Kind == events.KindToolCall:
					titles = append(titles, ev.ToolCall.Title)
				case ev.Kind == events.KindError:
					lost = append(lost, ev.Error)
				}
			}
			cursor = page.NextCursor
			if page.Status == events.StatusIdle && !page.More {
				break
			}
			if time.Since(start) > 10*time.Minute { // the bubble's clock
				t.Fatalf("turn not over after 10 minutes: %d tool calls so far", len(titles))
			}
		}
		var want strings.Builder
		for i := 1; i <= 1600; i++ {
			fmt.Fprintf(&want, "t%d ", i)
		}
		if got := strings.Join(titles, " ") + " "; got != want.String() || len(lost) > 0 {
			t.Errorf("read back %d of 1600 tool calls in order; errors: %q", len(titles), lost)
		}
		if c := w.agent.Connects(); len(c) < 2 {
			t.Errorf("stream connects %v: want a reconnect for the gap, or the check proved nothing", c)
		}
		t.Logf("connects %v; read in %v of the bubble's clock", w.agent.Connects(), time.Since(start))
	})
}
