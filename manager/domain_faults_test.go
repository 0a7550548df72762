package manager

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/live"
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

// consecutive reports whether ids count up by one with no repeat.
func consecutive(ids []int64) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			return false
		}
	}
	return len(ids) > 0
}

// waitText reads get_events from cursor until the agent's text so far is want.
func (w *domainWorld) waitText(t *testing.T, sandboxName, session string, cursor int64, want string) int64 {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Minute); got != want; {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q: have %q after 10 minutes", want, got)
		}
		page, err := w.m.GetEvents(t.Context(), EventsRequest{Sandbox: sandboxName, Session: session, Cursor: cursor, Wait: 30 * time.Second})
		if err != nil || (len(page.Events) == 0 && page.Status != events.StatusRunning) {
			t.Fatalf("waiting for %q (have %q): %+v, %v", want, got, page, err)
		}
		got += texts(page.Events)
		cursor = page.NextCursor
	}
	return cursor
}

// TestDomainGapRefilledFromRing: envelopes the agent's broadcast skipped (a stream that fell behind) leave
// a gap in the SSE ids; the server reconnects from its last stored id at once and sandbox-agent's ring
// replays them: nothing lost, nothing doubled, no error recorded.
func TestDomainGapRefilledFromRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: stepScript(step, nil, []string{"a", "b", "c", "d", "e", "f"})}
		w := newDomainWorld(t, opts)
		s := w.session(t, "gap")
		res, err := w.m.SendMessage(t.Context(), SendRequest{Sandbox: "gap", Session: s.Name, Message: "go"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		w.agent.Drop(3) // a, b and c reach the ring only
		close(step)
		evs, page := w.readTurn(t, "gap", s.Name, res.Cursor)
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
		if ids := w.sseIDs(t, "gap", s.Name); !consecutive(ids) {
			t.Errorf("SSE ids in the log %v: want each once, in order", ids)
		}
		if c := w.agent.Connects(); len(c) != 2 || c[1] == 0 {
			t.Errorf("stream connects (Last-Event-ID) %v: want one reconnect from the last stored id", c)
		}
	})
}

// TestDomainUnfillableGapRecorded: when the ring no longer holds what was skipped, the server tries
// live.MaxGapRetries reconnects, then records the loss as an error event and reads on: the turn still ends.
func TestDomainUnfillableGapRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		var chunks []string
		for i := range 12 {
			chunks = append(chunks, fmt.Sprintf("c%d.", i))
		}
		opts := fakeagent.Options{Ring: 4, Prompt: stepScript(step, nil, chunks)}
		w := newDomainWorld(t, opts)
		s := w.session(t, "lost")
		res, err := w.m.SendMessage(t.Context(), SendRequest{Sandbox: "lost", Session: s.Name, Message: "go"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		connects := len(w.agent.Connects())
		w.agent.Drop(10) // c0 to c9 are skipped, and a ring of 4 cannot give them back
		close(step)
		evs, page := w.readTurn(t, "lost", s.Name, res.Cursor)
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
		if got := len(w.agent.Connects()) - connects; got != live.MaxGapRetries {
			t.Errorf("%d reconnects for one gap, want %d", got, live.MaxGapRetries)
		}
	})
}

// TestDomainReconnectAfterDroppedStream: the stream drops mid-turn; what the agent says meanwhile is
// replayed on the reconnect from the last stored id: the log holds every envelope once.
func TestDomainReconnectAfterDroppedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		step := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: stepScript(step, []string{"a", "b", "c"}, []string{"d", "e", "f"})}
		w := newDomainWorld(t, opts)
		s := w.session(t, "drop")
		res, err := w.m.SendMessage(t.Context(), SendRequest{Sandbox: "drop", Session: s.Name, Message: "go"})
		if err != nil {
			t.Fatal(err)
		}
		cursor := w.waitText(t, "drop", s.Name, res.Cursor, "abc")
		w.agent.CloseStreams()
		synctest.Wait() // the server saw the stream end and waits to reconnect
		if n := w.agent.Streams(); n != 0 {
			t.Fatalf("%d streams still connected", n)
		}
		close(step) // d, e, f and the turn's end reach only the ring
		evs, page := w.readTurn(t, "drop", s.Name, cursor)
		if got := texts(evs); got != "def" {
			t.Errorf("text after the reconnect %q, want def", got)
		}
		if page.LastStop != "end_turn" {
			t.Errorf("stop reason %q", page.LastStop)
		}
		ids := w.sseIDs(t, "drop", s.Name)
		if !consecutive(ids) || ids[len(ids)-1] != w.agent.LastID(w.serverID(t, "drop", s.Name)) {
			t.Errorf("SSE ids in the log %v: want each once, up to the agent's last", ids)
		}
		if c := w.agent.Connects(); len(c) != 2 || c[1] == 0 {
			t.Errorf("stream connects %v: want one reconnect from the last stored id", c)
		}
	})
}

func (w *domainWorld) serverID(t *testing.T, sandboxName, session string) string {
	t.Helper()
	rec, err := w.store.GetSession(sandboxName, session)
	if err != nil {
		t.Fatal(err)
	}
	return rec.ServerID
}

// TestDomainAgentDeathFailsSession: sandbox-agent dies mid-turn (every connection refused): the server
// confirms it with health checks, ends the turn in the log and fails the session with a reason that says
// what to do; when the sandbox itself is gone, the reason says that instead. A restarted sandbox-agent
// that no longer knows the session fails it too.
func TestDomainAgentDeathFailsSession(t *testing.T) {
	hold := func(turn *fakeagent.Turn) { turn.Say("working"); <-turn.Stopped() }
	for _, tt := range []struct {
		name  string
		fault func(w *domainWorld)
		want  string
	}{
		{"sandbox-agent killed", func(w *domainWorld) { w.agent.Die() },
			`sandbox-agent in sandbox "dies" stopped (it crashed or was killed, or the sandbox stopped)`},
		{"sandbox removed", func(w *domainWorld) { w.b.Forget("dies"); w.agent.Die() },
			"the sandbox no longer exists (removed outside sandbox-mcp)"},
		{"sandbox-agent restarted", func(w *domainWorld) { w.agent.Restart() },
			"sandbox-agent no longer has this session (it restarted or the sandbox was recreated)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			domainTest(t, fakeagent.Options{Prompt: hold}, func(t *testing.T, w *domainWorld) {
				s := w.session(t, "dies")
				res, err := w.m.SendMessage(t.Context(), SendRequest{Sandbox: "dies", Session: s.Name, Message: "go"})
				if err != nil {
					t.Fatal(err)
				}
				w.waitText(t, "dies", s.Name, res.Cursor, "working")
				tt.fault(w)
				start := time.Now()
				_, page := w.readTurn(t, "dies", s.Name, res.Cursor)
				if page.Status != events.StatusFailed || !strings.Contains(page.LastError, tt.want) {
					t.Errorf("after the fault: %s, %q; want failed with %q", page.Status, page.LastError, tt.want)
				}
				// Confirmed by live.DownChecks health checks, not by waiting for a stall (45 s).
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("the session failed after %v", took)
				}
			})
		})
	}
}
