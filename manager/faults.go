package manager

// What a session's event stream does about faults that reconnecting cannot cure. run() reconnects after a
// dropped connection, but when sandbox-agent itself has stopped (crashed, killed, its sandbox restarted)
// the agent process it spawned died with it, and a new sandbox-agent would not know the session: waiting
// for it to come back only hides the fault from the model behind a session that stays "running".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// A refused connection is confirmed by downChecks health checks downCheckGap apart before the session is
// failed: one refusal may be a blip of the path to the port (a published port's proxy), several over a
// second are a server that is gone.
const (
	downChecks   = 3
	downCheckGap = 500 * time.Millisecond
)

// agentDownMark is in the reason of a session failed because its sandbox-agent stopped (resume.go).
const agentDownMark = "the agent process of this session stopped with it"

// goneLookupTimeout bounds the backend lookup that tells a stopped sandbox-agent from a removed sandbox.
const goneLookupTimeout = 30 * time.Second

// agentServerDown reports whether sandbox-agent is down, after the stream found nothing listening
// (acp.ErrUnreachable): every health check through the session's own transport must find nothing listening
// either. A health check that answers, times out or fails otherwise means "not known to be down", and the
// stream goes on reconnecting as before.
func (l *live) agentServerDown(ctx context.Context) bool {
	for i := range downChecks {
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
				l.m.log.Debug("sandbox-agent health unclear; reconnecting", "session", l.key(), "err", err)
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
func (l *live) failAgentServerDown(ctx context.Context) {
	s := l.snapshot()
	reason := fmt.Sprintf("sandbox-agent in sandbox %q stopped (it crashed or was killed, or the sandbox stopped) and "+agentDownMark+": "+
		"send_message continues this session in a new agent process (resume.go), or open a new session with create_session", s.Sandbox)
	if l.m.sandboxGone(ctx, s.Sandbox) {
		reason = "the sandbox no longer exists (removed outside sandbox-mcp): destroy_sandbox, then create_sandbox again"
	}
	l.m.log.Warn("sandbox-agent down; session failed", "session", l.key(), "turn", s.State.Turn)
	id := s.State.Turn
	if id == "" {
		id = "sandbox-mcp-agent-down"
	}
	env, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": -32001, "message": reason}})
	l.ingest.Lock()
	_, _ = l.append(eventlog.Record{Dir: "in", Env: env})
	l.ingest.Unlock()
	l.setState(func(st *events.State) { st.Fail(reason) })
}

// sandboxGone reports whether the backend positively says the sandbox no longer exists. Any other outcome
// (found, or the lookup failed) is false.
func (m *Manager) sandboxGone(ctx context.Context, name string) bool {
	rec, err := m.cfg.Store.GetSandbox(name)
	if err != nil {
		return false
	}
	b, err := m.backend(rec.Backend)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, goneLookupTimeout)
	defer cancel()
	_, err = b.Get(ctx, name)
	return errors.Is(err, sandbox.ErrNotFound)
}
