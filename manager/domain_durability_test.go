package manager

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// countSyncs replaces syncLog (live.go), the one internal hook these tests need, for the test: it
// records the highest Seq a log had when a sync of it succeeded, and fails the sync while fail says so.
func countSyncs(t *testing.T, fail func() bool) (synced func() int64) {
	var mu sync.Mutex
	var seq int64
	orig := syncLog
	syncLog = func(lg *eventlog.Log) error {
		last := lg.LastSeq()
		if fail != nil && fail() {
			return errors.New("injected fsync failure")
		}
		err := orig(lg)
		if err == nil {
			mu.Lock()
			seq = max(seq, last)
			mu.Unlock()
		}
		return err
	}
	t.Cleanup(func() { syncLog = orig })
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return seq
	}
}

// TestEventLogSyncedPerBatch: an event a reader can see is already synced to disk, in the middle of a turn
// too (where the status does not change), so a power loss cannot take back what get_events has shown.
func TestEventLogSyncedPerBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		synced := countSyncs(t, nil)
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			for i := range 6 { // one chunk at a time: each is its own batch
				time.Sleep(200 * time.Millisecond)
				turn.Say(fmt.Sprintf("s%d ", i+1))
			}
		}}
		w := newDomainWorld(t, opts)
		ctx := t.Context()
		s := w.session(t, "durable") // the only session: the only log synced
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "durable", Session: s.Name, Message: "go"})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for cursor := res.Cursor; ; {
			page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "durable", Session: s.Name, Cursor: cursor, Wait: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// No synctest.Wait: what the page showed must be synced when the call returns.
			got := synced()
			for _, ev := range page.Events {
				if ev.Kind == events.KindAgentMessage {
					checked++
					if ev.Seq > got {
						t.Errorf("event %d (%q) was shown while the log was synced only up to %d", ev.Seq, ev.Text, got)
					}
				}
			}
			cursor = page.NextCursor
			if page.Status == events.StatusIdle && len(page.Events) == 0 {
				break
			}
		}
		if checked != 6 {
			t.Fatalf("%d agent messages seen, want 6 (one a page); the check proved little", checked)
		}
	})
}

// TestEventLogSyncFailureLogged: a failing sync is logged (once for a run of failures, with the session),
// and the events are still served.
func TestEventLogSyncFailureLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing sync.Mutex
		fail := false
		setFail := func(v bool) { failing.Lock(); fail = v; failing.Unlock() }
		countSyncs(t, func() bool { failing.Lock(); defer failing.Unlock(); return fail })
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			if turn.Text != "events" {
				turn.Say(turn.Text)
				return
			}
			for i := range 20 { // one batch each: twenty failed syncs in a row
				time.Sleep(time.Millisecond)
				turn.Say(fmt.Sprintf("e%d ", i+1))
			}
		}}
		w := newDomainWorld(t, opts)
		ctx := t.Context()
		s := w.session(t, "syncfail")
		setFail(true)
		res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "syncfail", Session: s.Name, Message: "events", Wait: 10 * time.Second})
		if err != nil || !res.Done || !strings.HasSuffix(res.FinalText, "e19 e20 ") {
			t.Fatalf("a turn while syncs fail: %+v, %v", res, err)
		}
		setFail(false)
		if _, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "syncfail", Session: s.Name, Message: "ok", Wait: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		logs := w.logs.String()
		if n := strings.Count(logs, "event log not synced to disk"); n != 1 || !strings.Contains(logs, "injected fsync failure") ||
			!strings.Contains(logs, "session=syncfail/"+s.Name) {
			t.Errorf("sync failure logged %d times (want once, with the session and the error):\n%s", n, logs)
		}
		if n := strings.Count(logs, "event log syncs to disk again"); n != 1 {
			t.Errorf("the recovery is logged %d times, want once:\n%s", n, logs)
		}
	})
}
