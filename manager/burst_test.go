package manager

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// TestBurstUnderLoad: a burst of 1600 tool calls (over 3200 envelopes, three times sandbox-agent 0.4.2's
// 1024-envelope replay ring) is read back whole and in order while the machine is loaded: busy loops on
// every CPU for the length of the turn and an fsync that takes 50 ms (a disk shared with other work).
// sandbox-agent skips envelopes for an SSE reader that falls behind; the reader must get them back from
// the ring before the agent runs past it.
func TestBurstUnderLoad(t *testing.T) {
	w := newFakeWorld(t)
	orig := (*eventlog.Log).Sync
	var syncs atomic.Int64
	w.m.sess.Sync = func(l *eventlog.Log) error { syncs.Add(1); time.Sleep(50 * time.Millisecond); return orig(l) }

	s := w.sandboxWithSession(t, "burst")

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
	ctx := t.Context()
	turn, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "burst", Session: s.Name, Message: "calls 1600"})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	var lost []string
	cursor := turn.Cursor
	for deadline := time.Now().Add(90 * time.Second); ; {
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "burst", Session: s.Name, Cursor: cursor, Limit: 500, Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			switch {
			case ev.Kind == events.KindToolCall:
				titles = append(titles, ev.ToolCall.Title)
			case strings.Contains(ev.Text, "were lost"):
				lost = append(lost, ev.Text)
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
	var want strings.Builder
	for i := 1; i <= 1600; i++ {
		fmt.Fprintf(&want, "t%d ", i)
	}
	if got := strings.Join(titles, " ") + " "; got != want.String() || len(lost) > 0 {
		t.Errorf("read back %d of 1600 tool calls in order; loss reported: %q", len(titles), lost)
	}
	t.Logf("%d fsyncs", syncs.Load())
}
