package manager

// Sessions interrupted under the model's feet. A sandbox can stop while a session waits for its next
// message: sbx stops a sandbox by itself once nothing holds it, a user runs `sbx stop`, the host sleeps,
// or sandbox-agent crashes. The session's agent process dies with sandbox-agent, and the event stream
// fails the session (live/faults.go, live/live.go). The next send_message then continues the session in place the
// way create_session's continue does (continue.go): sandbox-agent is started again through the backend
// (sbx's exec starts a stopped sandbox, and the published port is read again), the agent reloads its
// history with session/load when it can, or is primed with a summary; then the message is sent. Our log
// keeps every record once: the continuation appends after the failure, and the stream resumes after the
// new server's reply.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Reasons that mean the agent process went away with its server while the sandbox still exists.
var interruptedReasons = []string{
	live.AgentDownMark,                         // live/faults.go: sandbox-agent stopped (crash, kill, stopped sandbox)
	"sandbox-agent no longer has this session", // live/live.go: sandbox-agent restarted under us
}

// primeWait bounds the wait for the summary turn that primes a continued session before the message.
const primeWait = 50 * time.Second

// interrupted reports whether a failed session failed because its agent process went away.
func interrupted(s events.State) bool {
	if s.Status != events.StatusFailed {
		return false
	}
	for _, r := range interruptedReasons {
		if strings.Contains(s.LastError, r) {
			return true
		}
	}
	return false
}

// resume continues an interrupted session before send_message uses it, and says how in one line. Any
// other session is returned as it is.
func (m *Manager) resume(ctx context.Context, l *live.Session) (*live.Session, string, error) {
	l.Settle(ctx)
	s := l.Snapshot()
	if !interrupted(s.State) {
		return l, "", nil
	}
	why := s.State.LastError
	m.log.Info("continuing an interrupted session", "session", l.Key(), "reason", why)
	rec, err := m.sandboxRecord(s.Sandbox)
	if err != nil {
		return nil, "", err
	}
	res, primer, err := m.continueLocked(ctx, rec, CreateSessionRequest{Sandbox: s.Sandbox, Agent: s.Agent, Continue: s.Name})
	if err != nil {
		return nil, "", gone(s.Sandbox, fmt.Errorf("session %q was interrupted (its sandbox-agent had stopped) and continuing it failed: %w", s.Name, err))
	}
	if primer != "" {
		res, err = m.prime(ctx, res, primer)
		if err != nil {
			return nil, "", err
		}
	}
	nl, err := m.session(ctx, s.Sandbox, s.Name)
	if err != nil {
		return nil, "", err
	}
	if res.Turn != "" {
		_ = nl.WaitFor(ctx, primeWait, nil, func() (bool, error) {
			st := nl.Snapshot().State
			return st.Turn != res.Turn || st.Status != events.StatusRunning, nil
		})
		if st := nl.Snapshot().State; st.Turn == res.Turn && st.Status == events.StatusRunning {
			return nil, "", remedy.Errorf(sandbox.Invalid, remedy.SendAfterTurn, "session %q was interrupted and continued with a summary, whose turn %s is still running",
				s.Name, res.Turn)
		}
	}
	return nl, fmt.Sprintf("the session was interrupted (its sandbox-agent had stopped) and continued with %s before this message", res.Continued), nil
}

// goneLookupTimeout bounds the backend lookup that tells a stopped sandbox-agent from a removed sandbox.
const goneLookupTimeout = 30 * time.Second

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
