package live

// What a session's event stream does about faults that reconnecting cannot cure. run() reconnects after a
// dropped connection, but when sandbox-agent itself has stopped (crashed, killed, its sandbox restarted)
// the agent process it spawned died with it, and a new sandbox-agent would not know the session: waiting
// for it to come back only hides the fault from the model behind a session that stays "running".

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// A refused connection is confirmed by DownChecks health checks downCheckGap apart before the session is
// failed: one refusal may be a blip of the path to the port (a published port's proxy), several over a
// second are a server that is gone.
const (
	DownChecks   = 3
	downCheckGap = 500 * time.Millisecond
)

// AgentDownMark is in the reason of a session failed because its sandbox-agent stopped (manager/resume.go).
const AgentDownMark = "the agent process of this session stopped with it"

// agentServerDown reports whether sandbox-agent is down, after the stream found nothing listening
// (acp.ErrUnreachable): every health check through the session's own transport must find nothing listening
// either. A health check that answers, times out or fails otherwise means "not known to be down", and the
// stream goes on reconnecting as before.
func (l *Session) agentServerDown(ctx context.Context) bool {
	for i := range DownChecks {
		if i > 0 {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(downCheckGap):
			}
		}
		err := acp.Health(ctx, l.client.T, 5*time.Second)
		if !errors.Is(err, acp.ErrUnreachable) {
			if err != nil {
				l.logger.Debug("sandbox-agent health unclear; reconnecting", "session", l.Key(), "err", err)
			}
			return false
		}
	}
	return true
}

// failAgentServerDown fails a session whose sandbox-agent is down. The reason names the fault and the way
// out; when the sandbox itself is gone (a removed container behind a published port looks the same as a
// stopped server) it says that instead. A running turn is ended in the log with the same reason, so the
// transcript says why it stopped, then the session is marked failed.
func (l *Session) failAgentServerDown(ctx context.Context) {
	s := l.Snapshot()
	reason := fmt.Sprintf("sandbox-agent in sandbox %q stopped (it crashed or was killed, or the sandbox stopped) and "+AgentDownMark+": "+
		"a new message continues this session in a new agent process, or open a new session", s.Sandbox)
	if l.cfg.SandboxGone(ctx, s.Sandbox) {
		reason = "the sandbox no longer exists (removed outside sandbox-mcp): destroy the sandbox, then create it again"
	}
	l.logger.Warn("sandbox-agent down; session failed", "session", l.Key(), "turn", s.State.Turn)
	id := s.State.Turn
	if id == "" {
		id = "sandbox-mcp-agent-down"
	}
	env := errorEnvelope(id, -32001, reason)
	l.ingest.Lock()
	_, _ = l.append(eventlog.Record{Dir: "in", Env: env})
	l.ingest.Unlock()
	l.SetState(func(st *events.State) { st.Fail(reason) })
}
