package manager

// Idle TTL (--idle-ttl). A sandbox nobody uses still costs a VM or a container, with sandbox-agent and its
// agents resident in it. The janitor stops sandboxes no tool call has named for the TTL; their records stay,
// so create_session (or create_sandbox) starts them again. "Used" is any tool call naming the sandbox: each
// one calls use, which also holds the sandbox off the janitor while the call runs (a get_events waiting 45 s
// is in use the whole time).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// lastUsedPersistEvery bounds the writes of a sandbox record's LastUsed: a client polling get_events every
// second must not cost a disk write (and an fsync) each time. After a restart the janitor may therefore
// see a LastUsed up to this much older than the real one.
const lastUsedPersistEvery = time.Minute

// idleStopTimeout bounds one Backend.Stop (a VM shutdown).
const idleStopTimeout = 2 * time.Minute

// usage is what the janitor knows of one sandbox. Guarded by idleTracker.mu.
type usage struct {
	last      time.Time     // start or end of the latest tool call naming the sandbox
	persisted time.Time     // the LastUsed last written to its record
	inflight  int           // tool calls naming it that are running now
	stopping  chan struct{} // non-nil while the janitor stops it; closed when it is done
	stopped   bool          // stopped by the janitor (or found stopped) and not used since
	retry     time.Time     // after a failed stop, the janitor waits until then
}

// idleTracker holds the usage of every sandbox the server has seen used. Its zero value is ready.
type idleTracker struct {
	mu sync.Mutex
	m  map[string]*usage
}

// get returns the entry of name, creating it. The caller holds t.mu.
func (t *idleTracker) get(name string) *usage {
	if t.m == nil {
		t.m = map[string]*usage{}
	}
	u := t.m[name]
	if u == nil {
		u = &usage{}
		t.m[name] = u
	}
	return u
}

// use records a tool call naming the sandbox and returns the function that ends it; call it with defer,
// before taking the sandbox's lock. While the janitor is stopping the sandbox, use waits for it (or for
// ctx) first, so the call then finds the sandbox stopped and its sessions ended rather than dying halfway.
// Names that are not sandboxes of ours are not tracked.
func (m *Manager) use(ctx context.Context, name string) (done func()) {
	if sandbox.ValidateName("sandbox", name) != nil {
		return func() {}
	}
	t := &m.idle
	for {
		t.mu.Lock()
		u := t.m[name]
		if u == nil {
			t.mu.Unlock()
			if _, err := m.cfg.Store.GetSandbox(name); err != nil {
				return func() {} // unknown (the call will say so) or not created yet (create_sandbox records it)
			}
			t.mu.Lock()
			u = t.get(name)
		}
		if ch := u.stopping; ch != nil {
			t.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return func() {}
			}
		}
		now := time.Now()
		u.inflight++
		u.last, u.stopped, u.retry = now, false, time.Time{}
		prev := u.persisted
		persist := now.Sub(prev) >= lastUsedPersistEvery
		if persist {
			u.persisted = now // claimed, so concurrent calls do not write too
		}
		t.mu.Unlock()
		if persist {
			// In the background: the write waits for the sandbox's lock (a create_session may hold it for
			// its whole initialize), and the call that triggered it must not. Not at all once Close began.
			revert := func() {
				t.mu.Lock()
				if u.persisted.Equal(now) {
					u.persisted = prev // the next call tries again
				}
				t.mu.Unlock()
			}
			if !m.spawn(func(context.Context) {
				if !m.persistLastUsed(name, now) {
					revert()
				}
			}) {
				revert()
			}
		}
		return sync.OnceFunc(func() {
			t.mu.Lock()
			u.inflight--
			u.last = time.Now()
			t.mu.Unlock()
		})
	}
}

// persistLastUsed writes at into the sandbox's record. It never waits for the sandbox's lock: whoever holds
// it (create, destroy, create_session, the janitor) is writing the record or about to; it reports false then,
// and on any failure.
func (m *Manager) persistLastUsed(name string, at time.Time) bool {
	defer m.lockSandbox(name)()
	rec, err := m.cfg.Store.GetSandbox(name)
	if err != nil {
		return false
	}
	if !rec.LastUsed.Before(at) {
		return true
	}
	rec.LastUsed = at.UTC()
	if err := m.cfg.Store.PutSandbox(rec); err != nil {
		m.log.Warn("persist last use", "sandbox", name, "err", err)
		return false
	}
	return true
}

// tryLockSandbox is lockSandbox without waiting: ok is false when someone holds the lock.
func (m *Manager) tryLockSandbox(name string) (unlock func(), ok bool) {
	m.mu.Lock()
	mu := m.sandbox[name]
	if mu == nil {
		mu = &sync.Mutex{}
		m.sandbox[name] = mu
	}
	m.mu.Unlock()
	if !mu.TryLock() {
		return nil, false
	}
	return mu.Unlock, true
}

// JanitorInterval is how often RunJanitor looks when given no interval: a tenth of the TTL, between one
// second and one minute, so a sandbox is stopped at most 10% (or a minute) after its TTL.
func JanitorInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), time.Minute)
}

// RunJanitor stops, every `every` (JanitorInterval(ttl) when zero or less), the sandboxes of ours that no
// tool call has named for ttl, until ctx ends or the manager is closed. It does nothing when ttl is zero or
// less. A sandbox with a turn running or a permission pending (in any of its sessions) is never stopped,
// however long nobody looked at it. Stopping one ends its open sessions (sandbox-agent and the agents die
// with it), stops their event streams, and stops the sandbox through its backend; its records stay, so
// create_session and create_sandbox start it again. Each stop is logged.
//
// StartJanitor runs it as a goroutine the manager owns, which Close stops and joins.
func (m *Manager) RunJanitor(ctx context.Context, ttl, every time.Duration) {
	if ttl <= 0 {
		return
	}
	if every <= 0 {
		every = JanitorInterval(ttl)
	}
	m.log.Info("idle janitor on", "idle_ttl", ttl, "every", every)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.isClosed() {
			return
		}
		m.stopIdle(ctx, ttl)
	}
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// stopIdle is one round of the janitor over every sandbox record.
func (m *Manager) stopIdle(ctx context.Context, ttl time.Duration) {
	recs, err := m.cfg.Store.ListSandboxes()
	if err != nil {
		m.log.Warn("idle janitor: list sandboxes", "err", err)
		return
	}
	known := map[string]bool{}
	for _, rec := range recs {
		if ctx.Err() != nil || m.isClosed() {
			return
		}
		known[rec.Name] = true
		m.stopIfIdle(ctx, rec.Name, ttl)
	}
	// Forget destroyed sandboxes, so the tracker never grows past the sandboxes that exist.
	m.idle.mu.Lock()
	for name, u := range m.idle.m {
		if !known[name] && u.inflight == 0 && u.stopping == nil {
			delete(m.idle.m, name)
		}
	}
	m.idle.mu.Unlock()
}

// stopIfIdle stops one sandbox if it is idle for ttl and nothing runs in it.
func (m *Manager) stopIfIdle(ctx context.Context, name string, ttl time.Duration) {
	// Someone holding the sandbox's lock (create, destroy, create_session) is using it: next round.
	unlock, ok := m.tryLockSandbox(name)
	if !ok {
		return
	}
	defer unlock()
	rec, err := m.cfg.Store.GetSandbox(name) // again, under the lock
	if err != nil || rec.Adopted {
		return // an adopted sandbox is not ours to stop
	}
	now := time.Now()
	t := &m.idle
	t.mu.Lock()
	u := t.get(name)
	last := latest(u.last, rec.LastUsed, rec.Created)
	if u.inflight > 0 || u.stopped || now.Before(u.retry) || now.Sub(last) < ttl {
		t.mu.Unlock()
		return
	}
	// Claimed: from here every use of the sandbox waits until this stop is over.
	done := make(chan struct{})
	u.stopping = done
	t.mu.Unlock()
	stopped, failed := false, false
	defer func() {
		t.mu.Lock()
		u.stopping = nil
		u.stopped = stopped
		if failed {
			u.retry = time.Now().Add(ttl) // the error is logged once per TTL, not every round
		}
		t.mu.Unlock()
		close(done)
	}()

	sessions, err := m.cfg.Store.ListSessions(name)
	if err != nil {
		m.log.Warn("idle janitor: list sessions", "sandbox", name, "err", err)
		return
	}
	lives := map[string]*live.Session{} // fresher than their records on disk
	for i, s := range sessions {
		if l := m.cached(name, s.Name); l != nil {
			lives[s.Name], sessions[i] = l, l.Snapshot()
		}
	}
	if s, busy := busySession(sessions); busy {
		m.log.Debug("idle sandbox kept: a turn is running", "sandbox", name, "session", s.Name, "status", s.State.Status)
		return
	}
	b, err := m.backend(rec.Backend)
	if err != nil {
		m.log.Warn("idle janitor: backend", "sandbox", name, "err", err)
		failed = true
		return
	}
	sctx, cancel := context.WithTimeout(ctx, idleStopTimeout)
	defer cancel()
	open := openSessions(sessions)
	// Asked first, so that a sandbox already stopped (by us before a restart, by hand, or by sbx's own idle
	// stop) is not stopped and logged again at every start of the server.
	info, err := b.Get(sctx, name)
	switch {
	case errors.Is(err, sandbox.ErrNotFound):
		stopped = true // gone: nothing to stop; its sessions fail when next used
		return
	case err != nil:
		m.log.Warn("idle janitor: look up sandbox", "sandbox", name, "err", err)
		failed = true
		return
	case info.Status == sandbox.StatusStopped && len(open) == 0:
		stopped = true
		return
	}

	// Streams first: a stream that saw sandbox-agent vanish would fail its session with another reason, and
	// its health checks through exec would start the sandbox again.
	m.forgetSessions(name)
	for i, s := range sessions {
		if l := lives[s.Name]; l != nil {
			sessions[i] = l.Snapshot() // final: its stream has stopped
		}
	}
	if s, busy := busySession(sessions); busy {
		// Nothing can start a turn while we hold the claim; should one have, its stream resumes on next use.
		m.log.Warn("idle sandbox kept: a turn started while stopping it", "sandbox", name, "session", s.Name)
		return
	}
	open = openSessions(sessions)
	if err := b.Stop(sctx, name); err != nil {
		// The sessions stay as they were on disk; the next call naming one loads it and resumes its stream.
		m.log.Error("idle janitor: stop sandbox", "sandbox", name, "err", err)
		failed = true
		return
	}
	stopped = true
	idle := now.Sub(last).Round(time.Second)
	reason := fmt.Sprintf("stopped after %s idle (--idle-ttl); create a session to start again", ttl)
	ended := 0
	for _, s := range open {
		s.State.End()
		s.State.LastError = reason
		if err := m.cfg.Store.PutSession(s); err != nil {
			m.log.Error("idle janitor: end session", "session", name+"/"+s.Name, "err", err)
			continue
		}
		ended++
	}
	m.log.Info("idle sandbox stopped", slog.String("sandbox", name), slog.String("backend", rec.Backend),
		slog.Duration("idle", idle), slog.Duration("idle_ttl", ttl), slog.Int("sessions_ended", ended))
}

// busySession returns a session with a turn running or a permission pending.
func busySession(sessions []state.Session) (state.Session, bool) {
	for _, s := range sessions {
		st := s.State
		if st.Status == events.StatusRunning || st.Status == events.StatusWaitingPermission || st.Turn != "" || len(st.Pending) > 0 {
			return s, true
		}
	}
	return state.Session{}, false
}

// openSessions are the sessions neither ended nor failed.
func openSessions(sessions []state.Session) []state.Session {
	var out []state.Session
	for _, s := range sessions {
		if s.State.Status != events.StatusEnded && s.State.Status != events.StatusFailed {
			out = append(out, s)
		}
	}
	return out
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
