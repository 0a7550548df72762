package live

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
)

// countSyncs replaces the sessions' log sync: it records the last Seq each log had when it was synced,
// and fails the sync while fail() says so.
func countSyncs(cfg *Config, fail func() bool) (synced func(*eventlog.Log) int64) {
	var mu sync.Mutex
	seqs := map[*eventlog.Log]int64{}
	cfg.Sync = func(lg *eventlog.Log) error {
		seq := lg.LastSeq()
		if fail != nil && fail() {
			return errors.New("injected fsync failure")
		}
		err := lg.Sync()
		if err == nil {
			mu.Lock()
			seqs[lg] = seq
			mu.Unlock()
		}
		return err
	}
	return func(lg *eventlog.Log) int64 {
		mu.Lock()
		defer mu.Unlock()
		return seqs[lg]
	}
}

// streamScript says "e1 " … "eN " one chunk every gap when prompted "stream N": a turn whose status does
// not change between its chunks.
func streamScript(turn *fakeagent.Turn) {
	var n int
	if _, err := fmt.Sscanf(turn.Text, "stream %d", &n); err != nil {
		turn.Say("echo: " + turn.Text)
		return
	}
	for i := 1; i <= n; i++ {
		turn.Say(fmt.Sprintf("e%d ", i))
		time.Sleep(200 * time.Millisecond) // the bubble's clock
	}
}

// TestEventLogSyncedPerBatch: an event a reader can see is already synced to disk, in the middle of a turn
// too (where the status does not change), so a power loss cannot take back what get_events has shown.
func TestEventLogSyncedPerBatch(t *testing.T) {
	worldTest(t, fakeagent.Options{Prompt: streamScript}, func(t *testing.T, w *world) {
		synced := countSyncs(w.cfg, nil)
		ctx := t.Context()
		l := w.open(t, "durable")
		res, err := l.Send(ctx, "stream 6", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for cursor := res.Cursor; ; {
			var page Page
			err := l.WaitFor(ctx, 5*time.Second, nil, func() (bool, error) {
				var err error
				page, err = l.Page(PageRequest{Cursor: cursor})
				return err != nil || len(page.Events) > 0 || page.Status != events.StatusRunning, err
			})
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
		if checked < 2 {
			t.Fatalf("%d agent messages seen; the check proved nothing", checked)
		}
	})
}

// TestEventLogSyncFailureLogged: a failing sync is logged (once for a run of failures, with the session),
// and the events are still served.
func TestEventLogSyncFailureLogged(t *testing.T) {
	worldTest(t, fakeagent.Options{Prompt: streamScript}, func(t *testing.T, w *world) {
		var failing sync.Mutex
		fail := false
		countSyncs(w.cfg, func() bool { failing.Lock(); defer failing.Unlock(); return fail })
		var buf syncbuf.Buffer
		w.cfg.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		ctx := t.Context()
		l := w.open(t, "syncfail")
		failing.Lock()
		fail = true
		failing.Unlock()
		res, err := l.Send(ctx, "stream 20", 30*time.Second, nil)
		if err != nil || !res.Done || !strings.Contains(res.FinalText, "e20") {
			t.Fatalf("a turn while syncs fail: %+v, %v", res, err)
		}
		failing.Lock()
		fail = false
		failing.Unlock()
		if _, err := l.Send(ctx, "ok", 10*time.Second, nil); err != nil {
			t.Fatal(err)
		}
		logs := buf.String()
		if n := strings.Count(logs, "event log not synced to disk"); n != 1 || !strings.Contains(logs, "injected fsync failure") ||
			!strings.Contains(logs, "session=sb/syncfail") {
			t.Errorf("sync failure logged %d times (want once, with the session and the error):\n%s", n, logs)
		}
		if !strings.Contains(logs, "event log syncs to disk again") {
			t.Errorf("the recovery is not logged:\n%s", logs)
		}
	})
}
