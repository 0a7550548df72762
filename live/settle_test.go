package live

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
)

// TestSettle: Settle waits out a session's dropped event stream before a message is sent into it. A stream
// that dropped while sandbox-agent is up returns once it is connected again (after the reconnect's back-off,
// well before settleWait); when sandbox-agent is down, Settle returns once the stream's own health checks
// have failed the session, even while the stream still counts as connected (a stopped sandbox's published
// port keeps it open for a moment).
func TestSettle(t *testing.T) {
	for _, tt := range []struct {
		name       string
		fault      func(*fakeagent.Agent)
		wantStatus string
		wantErr    string // in LastError
		wantUp     bool   // the stream is connected when Settle returns
	}{
		{"dropped stream reconnects", (*fakeagent.Agent).CloseStreams,
			events.StatusIdle, "", true},
		{"sandbox-agent down", (*fakeagent.Agent).Die,
			events.StatusFailed, AgentDownMark, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			worldTest(t, fakeagent.Options{}, func(t *testing.T, w *world) {
				l := w.open(t, "settle")
				waitUp(t, l)
				tt.fault(w.agent)
				// The session has seen its stream end and waits to reconnect: the stream is down, and
				// sandbox-agent's fate not yet known.
				synctest.Wait()
				if up := isUp(l); up || l.Snapshot().State.Status != events.StatusIdle {
					t.Fatalf("before Settle: up %v, status %s; want a dropped stream on an idle session", up, l.Snapshot().State.Status)
				}
				if !tt.wantUp {
					l.setUp(true) // still counts as connected: only the health check tells
				}
				start := time.Now()
				l.Settle(t.Context())
				took := time.Since(start)
				s := l.Snapshot().State
				if s.Status != tt.wantStatus || !strings.Contains(s.LastError, tt.wantErr) {
					t.Errorf("after Settle: %s (%q); want %s with %q", s.Status, s.LastError, tt.wantStatus, tt.wantErr)
				}
				if up := isUp(l); tt.wantUp && (!up || w.agent.Streams() != 1) {
					t.Errorf("after Settle: up %v with %d streams; want the stream connected again", up, w.agent.Streams())
				}
				if took <= 0 || took >= settleWait {
					t.Errorf("Settle took %v; want it to wait for the outcome, and no longer (under %v)", took, settleWait)
				}
			})
		})
	}
}

// waitUp waits for the session's event stream to be connected.
func waitUp(t *testing.T, l *Session) {
	t.Helper()
	if !l.awaitStream(t.Context(), time.Minute) {
		t.Fatal("the event stream did not connect within a minute")
	}
}

// isUp reports whether the session counts its event stream as connected.
func isUp(l *Session) bool {
	l.upMu.Lock()
	defer l.upMu.Unlock()
	return l.isUp
}
