package live

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// stepScript is an agent that says before, waits for step (closed by the test), then says after, one chunk
// per string.
func stepScript(step <-chan struct{}, before, after []string) func(*fakeagent.Turn) {
	return func(turn *fakeagent.Turn) {
		for _, s := range before {
			turn.Say(s)
		}
		select {
		case <-step:
		case <-turn.Stopped():
			return
		}
		for _, s := range after {
			turn.Say(s)
		}
	}
}

// sseIDs lists the SSE ids of the agent's envelopes in the session's log, in log order.
func sseIDs(t *testing.T, l *Session) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range logged(t, l, "in") {
		if r.SSEID > 0 {
			ids = append(ids, r.SSEID)
		}
	}
	return ids
}

// consecutive reports whether ids count up by one with no repeat.
func consecutive(ids []int64) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			return false
		}
	}
	return len(ids) > 0
}

// TestGapRefilledFromRing: envelopes the agent's broadcast skipped (a stream that fell behind) leave a gap
// in the SSE ids; the session reconnects from its last stored id at once and sandbox-agent's ring replays
// them: nothing lost, nothing doubled, no error recorded.
func TestGapRefilledFromRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		w := newWorld(t, fakeagent.Options{Prompt: stepScript(step, nil, []string{"a", "b", "c", "d", "e", "f"})})
		l := w.open(t, "gap")
		res, err := l.Send(t.Context(), "go", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		w.agent.Drop(3) // a, b and c reach the ring only
		close(step)
		evs, page := readTurn(t, l, res.Cursor)
		if got := texts(evs); got != "abcdef" {
			t.Errorf("turn text %q, want abcdef", got)
		}
		for _, ev := range evs {
			if ev.Kind == events.KindError {
				t.Errorf("error event %q after a gap the ring could fill", ev.Error)
			}
		}
		if page.LastStop != "end_turn" {
			t.Errorf("stop reason %q", page.LastStop)
		}
		if ids := sseIDs(t, l); !consecutive(ids) {
			t.Errorf("SSE ids in the log %v: want each once, in order", ids)
		}
		if c := w.agent.Connects(); len(c) != 2 || c[1] == 0 {
			t.Errorf("stream connects (Last-Event-ID) %v: want one reconnect from the last stored id", c)
		}
	})
}

// TestUnfillableGapRecorded: when the ring no longer holds what was skipped, the session tries
// MaxGapRetries reconnects, then records the loss as an error event and reads on: the turn still ends.
func TestUnfillableGapRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		var chunks []string
		for i := range 12 {
			chunks = append(chunks, fmt.Sprintf("c%d.", i))
		}
		w := newWorld(t, fakeagent.Options{Ring: 4, Prompt: stepScript(step, nil, chunks)})
		l := w.open(t, "lost")
		res, err := l.Send(t.Context(), "go", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		connects := len(w.agent.Connects())
		w.agent.Drop(10) // c0 to c9 are skipped, and a ring of 4 cannot give them back
		close(step)
		evs, page := readTurn(t, l, res.Cursor)
		var lost []string
		for _, ev := range evs {
			if ev.Kind == events.KindError {
				lost = append(lost, ev.Error)
			}
		}
		if len(lost) != 1 || !strings.Contains(lost[0], "were lost: sandbox-agent replays only its last 1024") {
			t.Errorf("error events %q: want one saying events were lost", lost)
		}
		if got := texts(evs); !strings.HasSuffix(got, "c11.") || strings.Contains(got, "c0.") {
			t.Errorf("turn text %q: want the tail after the loss", got)
		}
		if page.Status != events.StatusIdle || page.LastStop != "end_turn" {
			t.Errorf("after the loss: %s, %q; want the turn ended normally", page.Status, page.LastStop)
		}
		if got := len(w.agent.Connects()) - connects; got != MaxGapRetries {
			t.Errorf("%d reconnects for one gap, want %d", got, MaxGapRetries)
		}
	})
}

// TestReconnectAfterDroppedStream: the stream drops mid-turn; what the agent says meanwhile is replayed on
// the reconnect from the last stored id: the log holds every envelope once.
func TestReconnectAfterDroppedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		w := newWorld(t, fakeagent.Options{Prompt: stepScript(step, []string{"a", "b", "c"}, []string{"d", "e", "f"})})
		l := w.open(t, "drop")
		res, err := l.Send(t.Context(), "go", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		cursor := waitText(t, l, res.Cursor, "abc")
		w.agent.CloseStreams()
		synctest.Wait() // the session saw the stream end and waits to reconnect
		if n := w.agent.Streams(); n != 0 {
			t.Fatalf("%d streams still connected", n)
		}
		close(step) // d, e, f and the turn's end reach only the ring
		evs, page := readTurn(t, l, cursor)
		if got := texts(evs); got != "def" {
			t.Errorf("text after the reconnect %q, want def", got)
		}
		if page.LastStop != "end_turn" {
			t.Errorf("stop reason %q", page.LastStop)
		}
		ids := sseIDs(t, l)
		if !consecutive(ids) || ids[len(ids)-1] != w.agent.LastID(l.Snapshot().ServerID) {
			t.Errorf("SSE ids in the log %v: want each once, up to the agent's last", ids)
		}
		if c := w.agent.Connects(); len(c) != 2 || c[1] == 0 {
			t.Errorf("stream connects %v: want one reconnect from the last stored id", c)
		}
	})
}

// TestAgentDeathFailsSession: sandbox-agent dies mid-turn (every connection refused): the session confirms
// it with health checks, ends the turn in the log and fails with a reason that says what to do; when
// Config.SandboxGone says the sandbox itself is gone, the reason says that instead. A restarted
// sandbox-agent that no longer knows the session fails it too.
func TestAgentDeathFailsSession(t *testing.T) {
	hold := func(turn *fakeagent.Turn) { turn.Say("working"); <-turn.Stopped() }
	for _, tt := range []struct {
		name  string
		gone  bool // Config.SandboxGone's answer
		fault func(a *fakeagent.Agent)
		want  string
		asked bool // whether SandboxGone is asked
	}{
		{"sandbox-agent killed", false, (*fakeagent.Agent).Die,
			`sandbox-agent in sandbox "sb" stopped (it crashed or was killed, or the sandbox stopped) and ` + AgentDownMark, true},
		{"sandbox removed", true, (*fakeagent.Agent).Die,
			"the sandbox no longer exists (removed outside sandbox-mcp)", true},
		{"sandbox-agent restarted", false, (*fakeagent.Agent).Restart,
			"sandbox-agent no longer has this session (it restarted or the sandbox was recreated)", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			worldTest(t, fakeagent.Options{Prompt: hold}, func(t *testing.T, w *world) {
				var mu sync.Mutex
				var asked []string
				w.cfg.SandboxGone = func(_ context.Context, sb string) bool {
					mu.Lock()
					defer mu.Unlock()
					asked = append(asked, sb)
					return tt.gone
				}
				l := w.open(t, "dies")
				res, err := l.Send(t.Context(), "go", 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				waitText(t, l, res.Cursor, "working")
				tt.fault(w.agent)
				start := time.Now()
				// Waited for as such: the turn's end is logged a moment before the session is failed.
				_ = l.WaitFor(t.Context(), time.Minute, nil, func() (bool, error) {
					return l.Snapshot().State.Status == events.StatusFailed, nil
				})
				// Confirmed by DownChecks health checks, not by waiting for a stall (45 s).
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("the session failed after %v", took)
				}
				evs, page := readTurn(t, l, res.Cursor)
				if page.Status != events.StatusFailed || !strings.Contains(page.LastError, tt.want) {
					t.Errorf("after the fault: %s, %q; want failed with %q", page.Status, page.LastError, tt.want)
				}
				mu.Lock()
				defer mu.Unlock()
				if tt.asked && (len(asked) != 1 || asked[0] != "sb") {
					t.Errorf("SandboxGone asked about %q, want once about sb", asked)
				}
				if !tt.asked {
					return
				}
				// The running turn is ended in the log with the same reason, so the transcript says why.
				var ended bool
				for _, ev := range evs {
					ended = ended || (ev.Kind == events.KindTurnEnd && ev.Turn == res.ID && strings.Contains(ev.Error, tt.want))
				}
				if !ended {
					t.Errorf("no turn_end of %s with the reason in %+v", res.ID, evs)
				}
			})
		})
	}
}
