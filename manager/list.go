package manager

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// SandboxEntry is one sandbox in list_sandboxes.
type SandboxEntry struct {
	Name      string         `json:"name"`
	Backend   string         `json:"backend"`
	Status    string         `json:"status"`
	Workspace string         `json:"workspace,omitempty"`
	Ours      bool           `json:"ours"`
	Sessions  []SessionEntry `json:"sessions,omitempty"`
}

// SessionEntry is one session in list_sessions and list_sandboxes.
type SessionEntry struct {
	Name      string `json:"name"`
	Agent     string `json:"agent"`
	Status    string `json:"status"`
	Turn      string `json:"turn,omitempty"`
	Turns     int    `json:"turns"`
	Pending   int    `json:"pending_permissions,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Created   string `json:"created"`
	// Usage, budgets and continuation (budget.go, continue.go).
	Usage        *events.Usage `json:"usage,omitempty"`
	Budget       *state.Budget `json:"budget,omitempty"`
	CanContinue  bool          `json:"can_continue,omitempty"`
	ContinueWith string        `json:"continue_with,omitempty"`
	Mode         string        `json:"mode,omitempty"`
	Model        string        `json:"model,omitempty"`
}

// SandboxList is list_sandboxes' answer.
type SandboxList struct {
	Sandboxes []SandboxEntry `json:"sandboxes"`
	Warnings  []string       `json:"warnings,omitempty"`
}

// ListSandboxes joins our records with what the backends report: a sandbox we created that is gone shows
// as missing; sandboxes the backends hold that we did not create show with ours=false. Only backends we
// have records for, plus the default one, are asked.
func (m *Manager) ListSandboxes(ctx context.Context) (SandboxList, error) {
	recs, err := m.cfg.Store.ListSandboxes()
	if err != nil {
		return SandboxList{}, err
	}
	names := []string{m.cfg.DefaultBackend}
	for _, r := range recs {
		if !slices.Contains(names, r.Backend) {
			names = append(names, r.Backend)
		}
	}
	running := map[string]sandbox.Info{} // backend/name → info
	out := SandboxList{Sandboxes: []SandboxEntry{}}
	for _, n := range names {
		b, err := m.backend(n)
		if err != nil {
			continue
		}
		infos, err := b.List(ctx)
		if err != nil {
			out.Warnings = append(out.Warnings, b.Name()+": "+err.Error())
			continue
		}
		for _, i := range infos {
			running[b.Name()+"/"+i.Name] = i
		}
	}
	for _, r := range recs {
		e := SandboxEntry{Name: r.Name, Backend: r.Backend, Workspace: r.Workspace, Ours: true, Status: "missing"}
		if i, ok := running[r.Backend+"/"+r.Name]; ok {
			e.Status = i.Status
			delete(running, r.Backend+"/"+r.Name)
		} else if m.listFailed(out.Warnings, r.Backend) {
			e.Status = "unknown"
		}
		e.Sessions, _ = m.sessionEntries(r.Name)
		out.Sandboxes = append(out.Sandboxes, e)
	}
	var others []SandboxEntry
	for _, i := range running {
		e := SandboxEntry{Name: i.Name, Backend: i.Backend, Status: i.Status}
		if len(i.Workspaces) > 0 {
			e.Workspace = i.Workspaces[0]
		}
		others = append(others, e)
	}
	sort.Slice(others, func(a, b int) bool { return others[a].Name < others[b].Name })
	out.Sandboxes = append(out.Sandboxes, others...)
	return out, nil
}

func (m *Manager) listFailed(warnings []string, backend string) bool {
	for _, w := range warnings {
		if len(w) > len(backend) && w[:len(backend)+1] == backend+":" {
			return true
		}
	}
	return false
}

// SessionList is list_sessions' answer.
type SessionList struct {
	Sandbox  string         `json:"sandbox"`
	Sessions []SessionEntry `json:"sessions"`
}

// ListSessions lists a sandbox's sessions from our records (live state where the session is loaded).
func (m *Manager) ListSessions(ctx context.Context, sandboxName string) (SessionList, error) {
	if _, err := m.sandboxRecord(sandboxName); err != nil {
		return SessionList{}, err
	}
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	entries, err := m.sessionEntries(sandboxName)
	return SessionList{Sandbox: sandboxName, Sessions: entries}, err
}

func (m *Manager) sessionEntries(sandboxName string) ([]SessionEntry, error) {
	recs, err := m.cfg.Store.ListSessions(sandboxName)
	if err != nil {
		return nil, err
	}
	entries := []SessionEntry{}
	for _, r := range recs {
		if l := m.cached(sandboxName, r.Name); l != nil {
			r = l.Snapshot()
		}
		e := SessionEntry{Name: r.Name, Agent: r.Agent, Status: r.State.Status, Turn: r.State.Turn,
			Turns: r.State.Turns, Pending: len(r.State.Pending), LastError: r.State.LastError,
			Created: r.Created.Format("2006-01-02T15:04:05Z07:00"), Budget: r.Budget}
		if r.State.Usage != nil {
			u := r.State.Usage.Session
			e.Usage = &u
		}
		e.CanContinue, e.ContinueWith = canContinue(r)
		e.Mode, e.Model = r.CurrentConfig()
		entries = append(entries, e)
	}
	return entries, nil
}

// Recover reloads the state directory after a start and resumes the event streams of every session
// that was not over, so events the agents produced while the server was down are ingested (from
// sandbox-agent's replay) and new ones keep flowing. It runs in the background: it touches backends,
// which initialize must never wait for. Sessions whose sandbox is gone are marked failed by their stream.
func (m *Manager) Recover(ctx context.Context) {
	recs, err := m.cfg.Store.ListSandboxes()
	if err != nil {
		m.log.Error("recover: list sandboxes", "err", err)
		return
	}
	for _, rec := range recs {
		sessions, err := m.cfg.Store.ListSessions(rec.Name)
		if err != nil {
			m.log.Error("recover: list sessions", "sandbox", rec.Name, "err", err)
			continue
		}
		for _, s := range sessions {
			if s.State.Status == events.StatusEnded || s.State.Status == events.StatusFailed {
				continue
			}
			if ctx.Err() != nil {
				return
			}
			if _, err := m.session(ctx, rec.Name, s.Name); err != nil && !errors.Is(err, state.ErrNotFound) {
				m.log.Warn("recover: resume session", "session", rec.Name+"/"+s.Name, "err", err)
				continue
			}
			m.log.Info("resumed session", "session", rec.Name+"/"+s.Name, "status", s.State.Status)
		}
	}
}
