package manager

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// countSyncs replaces syncLog for the test: it records the last Seq each log had when it was synced, and
// fails the sync while fail() says so.
func countSyncs(t *testing.T, fail func() bool) (synced func(*eventlog.Log) int64) {
	var mu sync.Mutex
	seqs := map[*eventlog.Log]int64{}
	orig := syncLog
	syncLog = func(lg *eventlog.Log) error {
		seq := lg.LastSeq()
		if fail != nil && fail() {
			return errors.New("injected fsync failure")
		}
		err := orig(lg)
		if err == nil {
			mu.Lock()
			seqs[lg] = seq
			mu.Unlock()
		}
		return err
	}
	t.Cleanup(func() { syncLog = orig })
	return func(lg *eventlog.Log) int64 {
		mu.Lock()
		defer mu.Unlock()
		return seqs[lg]
	}
}

// TestEventLogSyncedPerBatch: an event a reader can see is already synced to disk, in the middle of a turn
// too (where the status does not change), so a power loss cannot take back what get_events has shown.
func TestEventLogSyncedPerBatch(t *testing.T) {
	synced := countSyncs(t, nil)
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "durable")
	res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "durable", Session: s.Name, Message: "stream 6 200"})
	if err != nil {
		t.Fatal(err)
	}
	l := w.m.cached("durable", s.Name)
	checked := 0
	for cursor := res.Cursor; ; {
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "durable", Session: s.Name, Cursor: cursor, Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// Read under the lock append holds from the write to the broadcast: what the page showed was
		// appended before, so it must be synced by now.
		l.mu.Lock()
		got := synced(l.log)
		l.mu.Unlock()
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
	if checked == 0 {
		t.Fatal("no agent message seen; the check proved nothing")
	}
}

// TestEventLogSyncFailureLogged: a failing sync is logged (once for a run of failures, with the session),
// and the events are still served.
func TestEventLogSyncFailureLogged(t *testing.T) {
	var failing sync.Mutex
	fail := false
	countSyncs(t, func() bool { failing.Lock(); defer failing.Unlock(); return fail })
	w := newFakeWorld(t)
	var buf lockedBuf
	w.m.log = slog.New(slog.NewTextHandler(&buf, nil))
	ctx := t.Context()
	s := w.sandboxWithSession(t, "syncfail")
	failing.Lock()
	fail = true
	failing.Unlock()
	res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "syncfail", Session: s.Name, Message: "events 20", Wait: 10 * time.Second})
	if err != nil || !res.Done || !strings.Contains(res.FinalText, "e20") {
		t.Fatalf("a turn while syncs fail: %+v, %v", res, err)
	}
	failing.Lock()
	fail = false
	failing.Unlock()
	if _, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "syncfail", Session: s.Name, Message: "say ok", Wait: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if n := strings.Count(logs, "event log not synced to disk"); n != 1 || !strings.Contains(logs, "injected fsync failure") ||
		!strings.Contains(logs, "session=syncfail/"+s.Name) {
		t.Errorf("sync failure logged %d times (want once, with the session and the error):\n%s", n, logs)
	}
	if !strings.Contains(logs, "event log syncs to disk again") {
		t.Errorf("the recovery is not logged:\n%s", logs)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
