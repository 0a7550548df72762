package e2e

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestOversizeEnvelope: one envelope over the server's per-envelope cap (16 MiB by default), sent by the
// agent through the real sandbox-agent, is dropped with an error event that says so, and the stream moves
// on: what follows it arrives and the turn ends. Before, the SSE reader failed on it, reconnected from the
// last stored id, got the same envelope replayed, and so on forever: the session was wedged.
func TestOversizeEnvelope(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	s := newSession(t, h)
	// 17 MiB: sandbox-agent 0.4.2 passes an envelope this big (measured), and it is over the default cap.
	turn := s.send(t, "say before; big 17825792; say after", 0)
	var got []events.Event
	cursor := turn.Cursor
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page live.Page
		s.h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
		got, cursor = append(got, page.Events...), page.NextCursor
		if page.Status == events.StatusIdle && !page.More {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the turn did not end within 60 s (status %s): the session is wedged on the oversize envelope; events: %v", page.Status, testkit.Summarize(got))
		}
	}
	var dropped string
	for _, ev := range got {
		if ev.Kind == events.KindError && strings.Contains(ev.Error, "dropped") {
			dropped = ev.Error
		}
	}
	if dropped == "" || !strings.Contains(dropped, "17825") {
		t.Errorf("no error event naming the dropped envelope and its size; events: %v", testkit.Summarize(got))
	}
	if text := agentText(got); text != "beforeafter" {
		t.Errorf("agent text = %.200q, want the text around the dropped envelope, %q", text, "beforeafter")
	}
	t.Logf("error event: %s", dropped)
}

// Figures of TestFlood, stated in SECURITY.md: what one flooding agent may cost the server.
const (
	floodLogCap      = 32 << 20  // --max-session-log for the test: small, so the flood crosses it
	floodHeapCeiling = 128 << 20 // the whole test process's heap (server and client), sampled every 2 ms
)

// TestFlood: one agent floods its session through the real sandbox-agent: 64 MiB of thoughts in 64 KiB
// chunks, then one envelope of 50 MB and 8 MiB of tool output in 1 MiB chunks, then 16 MiB of message in
// 4 KiB chunks (135 MiB in all), and the model reads everything a model can read of it (every page of
// get_events, the final text of the next turn, the transcript). Meanwhile the server's heap stays under
// floodHeapCeiling, the session's log ends near --max-session-log, error events say what was dropped,
// and every turn ends normally.
func TestFlood(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--max-session-log="+strconv.Itoa(floodLogCap)), env)
	s := newSession(t, h)

	var peak atomic.Uint64
	stop := sampleHeap(&peak)
	start := time.Now()
	// Three turns, so that what each checks does not depend on timing: a burst of thousands of small
	// envelopes can outrun the reader and sandbox-agent's 1024-envelope ring (its envelopes are then
	// recorded as lost), and neither the cap's crossing nor the big envelope must be among them.
	var got []events.Event
	pages := 0
	for _, script := range []string{
		"flood think 67108864 65536",
		"big 50000000; flood tool 8388608 1048576; say done",
		"flood say 16777216 4096",
	} {
		turn := s.send(t, script, 0)
		for cursor, deadline := turn.Cursor, time.Now().Add(2*time.Minute); ; {
			var page live.Page
			s.h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
			got, cursor = append(got, page.Events...), page.NextCursor
			pages++
			if page.Status == events.StatusIdle && !page.More {
				break
			}
			if page.Status != events.StatusRunning && page.Status != events.StatusIdle {
				t.Fatalf("status %s (%s) during the flood", page.Status, page.LastError)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the flooded turn %q did not end within 2 min (%d events read)", script, len(got))
			}
		}
	}
	flooded := time.Since(start)
	// What else a model reads: a turn's final text (send_message waits for the next turn's) and the
	// transcript, both over the whole log.
	var next manager.TurnResult
	s.h.OK("send_message", map[string]any{"sandbox": s.sandbox, "session": s.session, "message": "say final", "wait_seconds": 30}, &next)
	transcript := readResource(t, h, "sandbox-mcp://sandboxes/"+s.sandbox+"/sessions/"+s.session+"/transcript")
	stop()

	fi, err := os.Stat(filepath.Join(h.State, "sessions", s.sandbox, s.session+".log"))
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, ev := range got {
		if ev.Kind == events.KindError {
			notes = append(notes, ev.Error)
		}
	}
	t.Logf("flood of %d MiB through sandbox-agent in %v; %d pages, %d events; log %.1f MiB (cap %d MiB); peak heap %.1f MiB (ceiling %d MiB); transcript %d bytes",
		(64<<20+50_000_000+16<<20+8<<20)>>20, flooded.Round(time.Millisecond), pages, len(got), float64(fi.Size())/(1<<20), floodLogCap>>20,
		float64(peak.Load())/(1<<20), floodHeapCeiling>>20, len(transcript))
	for _, n := range notes {
		t.Logf("error event: %.200s", n)
	}

	if p := peak.Load(); p > floodHeapCeiling {
		t.Errorf("peak heap %d MiB, over the %d MiB ceiling", p>>20, floodHeapCeiling>>20)
	}
	if fi.Size() > floodLogCap+1<<20 {
		t.Errorf("log is %d bytes, over its %d-byte cap by more than 1 MiB", fi.Size(), floodLogCap)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"reached its limit of 32 MiB", "were dropped", "of 50000160 bytes dropped (limit 16777216"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no error event saying %q; error events: %q", want, notes)
		}
	}
	// Past the cap the next turn's text is not recorded either; the turn itself ends as usual.
	if !next.Done || next.Status != events.StatusIdle || next.FinalText != "" {
		t.Errorf("the next turn: done %v, status %s, final text %.100q; want done, idle, no text (over the log cap)", next.Done, next.Status, next.FinalText)
	}
	if len(transcript) > 250_000 {
		t.Errorf("transcript is %d bytes, over its bound", len(transcript))
	}
}

// sampleHeap records the largest heap (live and not yet collected objects) seen every 2 ms until the
// returned stop is called; stop takes one last sample and waits for the sampler to end.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return func() { close(done); <-ended }
}
