package manager

// Sessions interrupted under the model's feet. A sandbox can stop while a session waits for its next
// message: sbx stops a sandbox by itself once nothing holds it, a user runs `sbx stop`, the host sleeps,
// or sandbox-agent crashes. The session's agent process dies with sandbox-agent, and the event stream
// fails the session (faults.go, live.go). The next send_message then continues the session in place the
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

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Reasons that mean the agent process went away with its server while the sandbox still exists.
var interruptedReasons = []string{
	agentDownMark, // faults.go: sandbox-agent stopped (crash, kill, stopped sandbox)
	"sandbox-agent no longer has this session", // live.go: sandbox-agent restarted under us
}

// settleWait bounds how long send_message waits for a dropped event stream to either reconnect or find
// sandbox-agent down (faults.go: a refusal, then downChecks health checks downCheckGap apart).
const settleWait = streamWait

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

// settle gives a session whose event stream is not connected the time to reconnect or to find its
// sandbox-agent down, so a message is never sent into a server that is gone (it would be logged and
// then lost).
//
// A stream can still count as connected for a moment after its server went away (a stopped sandbox's
// published port), so over HTTP sandbox-agent's health is asked first: one loopback round trip. If
// nothing listens, the stream's own checks (faults.go) decide, and we wait for them.
func (l *live) settle(ctx context.Context) {
	if st := l.snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
		return
	}
	down := false
	if _, direct := l.client.T.(*acp.HTTP); direct {
		down = errors.Is(acp.Health(ctx, l.client.T, 5*time.Second), acp.ErrUnreachable)
	}
	deadline := time.Now().Add(settleWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st := l.snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
			return
		}
		if !down && l.awaitStream(ctx, 100*time.Millisecond) {
			return
		}
		if down {
			select {
			case <-ctx.Done():
			case <-l.wait():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// resume continues an interrupted session before send_message uses it, and says how in one line. Any
// other session is returned as it is.
func (m *Manager) resume(ctx context.Context, l *live) (*live, string, error) {
	l.settle(ctx)
	s := l.snapshot()
	if !interrupted(s.State) {
		return l, "", nil
	}
	why := s.State.LastError
	m.log.Info("continuing an interrupted session", "session", l.key(), "reason", why)
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
		_ = m.waitFor(ctx, nl, primeWait, nil, func() (bool, error) {
			st := nl.snapshot().State
			return st.Turn != res.Turn || st.Status != events.StatusRunning, nil
		})
		if st := nl.snapshot().State; st.Turn == res.Turn && st.Status == events.StatusRunning {
			return nil, "", sandbox.Errorf(sandbox.Invalid, "session %q was interrupted and continued with a summary, whose turn %s is still running: follow it with get_events, then send the message again",
				s.Name, res.Turn)
		}
	}
	return nl, fmt.Sprintf("the session was interrupted (its sandbox-agent had stopped) and continued with %s before this message", res.Continued), nil
}
