package manager

// Prune (`sandbox-mcp prune`): remove our sandboxes, and only ours, created longer ago than an age. Ours are
// the sandboxes in our records and, for backends that label what they create (Docker), the sandboxes
// labelled as ours that the records do not know: the leftovers of a lost state directory. Anything else,
// an unlabelled container or an sbx sandbox someone made by hand, is never touched.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Prune actions.
const (
	PruneRemoved     = "removed"
	PruneWouldRemove = "would remove" // dry run
	PruneSkipped     = "skipped"
	PruneFailed      = "failed"
)

// Where prune learnt that a sandbox is ours.
const (
	PruneFromRecord = "record" // our state directory
	PruneFromLabel  = "label"  // the backend's ownership label (org.sandbox-mcp.managed=true), no record
)

// PruneEntry is one sandbox prune looked at.
type PruneEntry struct {
	Name    string
	Backend string
	Source  string    // PruneFromRecord or PruneFromLabel
	Created time.Time // zero when unknown
	Age     time.Duration
	Action  string // one of the Prune* actions
	// Reason says why, in words for a person: the age for a removal, what kept it for a skip, the error
	// for a failure.
	Reason string
}

// PruneReport is what Prune did, entry by entry.
type PruneReport struct {
	OlderThan time.Duration
	DryRun    bool
	Entries   []PruneEntry
	// Warnings are backends that could not be searched for labelled sandboxes.
	Warnings []string
}

// Count returns how many entries took action.
func (r PruneReport) Count(action string) int {
	n := 0
	for _, e := range r.Entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

// Prune removes our sandboxes created more than olderThan ago, or with dryRun only says which it would
// remove. It goes through every sandbox in our records (through DestroySandbox, so their sessions are
// closed and their records archived), then through every sandbox a backend lists as labelled ours that
// the records do not know (through Backend.Remove, which refuses what is not labelled ours). A sandbox in
// the records whose sessions have a turn running and that was used within olderThan is skipped: someone
// is working in it. The configured default backend limits both to that backend; "auto" (or none) means
// every backend.
//
// A failure to remove one sandbox is an entry with PruneFailed, not an error: the others are still
// pruned. The error is for failures that stop everything (the records cannot be read), and for a named
// default backend that cannot be searched. With "auto", backends whose Check fails are not searched.
func (m *Manager) Prune(ctx context.Context, olderThan time.Duration, dryRun bool) (PruneReport, error) {
	rep := PruneReport{OlderThan: olderThan, DryRun: dryRun}
	if olderThan < 0 {
		return rep, invalidf("older-than %s is negative", olderThan)
	}
	scope := m.cfg.DefaultBackend
	if scope == "auto" {
		scope = ""
	}
	recs, err := m.cfg.Store.ListSandboxes()
	if err != nil {
		return rep, fmt.Errorf("prune: read our records: %w", err)
	}
	now := time.Now()
	known := map[string]bool{} // backend/name
	for _, rec := range recs {
		known[rec.Backend+"/"+rec.Name] = true
	}
	for _, rec := range recs {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if scope != "" && rec.Backend != scope {
			continue
		}
		e := PruneEntry{Name: rec.Name, Backend: rec.Backend, Source: PruneFromRecord, Created: rec.Created, Age: now.Sub(rec.Created)}
		switch busy, why := m.pruneBusy(rec.Name, now.Sub(rec.LastUsed), olderThan); {
		case rec.Adopted:
			e.Action, e.Reason = PruneSkipped, "adopted: it existed before sandbox-mcp used it, so sandbox-mcp never removes it"
		case rec.Created.IsZero():
			e.Action, e.Reason = PruneSkipped, "its record has no creation time"
		case e.Age < olderThan:
			e.Action, e.Reason = PruneSkipped, fmt.Sprintf("created %s ago, less than %s", HumanDuration(e.Age), HumanDuration(olderThan))
		case busy:
			e.Action, e.Reason = PruneSkipped, why
		case dryRun:
			e.Action, e.Reason = PruneWouldRemove, fmt.Sprintf("created %s ago; in our records", HumanDuration(e.Age))
		default:
			res, err := m.DestroySandbox(ctx, rec.Name)
			if errors.Is(err, ErrUnlanded) { // isolation: prune never loses work that was not landed
				e.Action, e.Reason = PruneSkipped, "its clone holds work that was not landed"
				break
			}
			if err != nil {
				e.Action, e.Reason = PruneFailed, err.Error()
				break
			}
			e.Action, e.Reason = PruneRemoved, fmt.Sprintf("created %s ago; in our records; %d open session(s) closed", HumanDuration(e.Age), res.SessionsClosed)
			if res.AlreadyGone {
				e.Reason += "; it was already gone from " + rec.Backend
			}
		}
		rep.Entries = append(rep.Entries, e)
	}

	var errs []error
	for _, name := range m.BackendNames() {
		if scope != "" && name != scope {
			continue
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		b := m.cfg.Backends[name]
		if scope == "" && b.Check(ctx) != nil {
			continue // not installed or not running here: it holds nothing of ours to find
		}
		infos, err := b.List(ctx)
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s not searched for sandboxes labelled as ours: %v", name, err))
			if scope != "" {
				errs = append(errs, fmt.Errorf("prune: list %s: %w", name, err))
			}
			continue
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
		for _, info := range infos {
			// Only what the backend itself says we created; sbx and the plugin never say so.
			if !info.Managed || known[b.Name()+"/"+info.Name] {
				continue
			}
			rep.Entries = append(rep.Entries, m.pruneLabelled(ctx, b, info, now, olderThan, dryRun))
		}
	}
	return rep, errors.Join(errs...)
}

// pruneLabelled prunes one sandbox labelled as ours that our records do not know.
func (m *Manager) pruneLabelled(ctx context.Context, b sandbox.Backend, info sandbox.Info, now time.Time, olderThan time.Duration, dryRun bool) PruneEntry {
	e := PruneEntry{Name: info.Name, Backend: b.Name(), Source: PruneFromLabel, Created: info.Created, Age: now.Sub(info.Created)}
	what := fmt.Sprintf("created %s ago; labelled as ours, not in our records", HumanDuration(e.Age))
	switch {
	case info.Created.IsZero():
		e.Action, e.Reason = PruneSkipped, "no creation time"
	case e.Age < olderThan:
		e.Action, e.Reason = PruneSkipped, fmt.Sprintf("created %s ago, less than %s; labelled as ours, not in our records", HumanDuration(e.Age), HumanDuration(olderThan))
	case dryRun:
		e.Action, e.Reason = PruneWouldRemove, what
	default:
		err := b.Remove(ctx, info.Name)
		switch {
		case errors.Is(err, sandbox.ErrNotFound):
			e.Action, e.Reason = PruneRemoved, what+"; it was already gone"
		case err != nil:
			e.Action, e.Reason = PruneFailed, err.Error()
		default:
			e.Action, e.Reason = PruneRemoved, what
			m.log.Info("labelled sandbox pruned", "sandbox", info.Name, "backend", b.Name(), "created", info.Created)
		}
	}
	return e
}

// pruneBusy reports whether someone is working in the sandbox: a session with a turn running or a
// permission pending, and a use within olderThan (a "running" turn in a sandbox nobody touched for that
// long is a leftover of a server that died).
func (m *Manager) pruneBusy(name string, sinceUse, olderThan time.Duration) (bool, string) {
	if sinceUse >= olderThan {
		return false, ""
	}
	sessions, _ := m.cfg.Store.ListSessions(name)
	for _, s := range sessions {
		if l := m.cached(name, s.Name); l != nil {
			s = l.Snapshot()
		}
		if st := s.State.Status; st == events.StatusRunning || st == events.StatusWaitingPermission {
			return true, fmt.Sprintf("session %s is %s and the sandbox was used %s ago: destroy the sandbox if it must go", s.Name,
				strings.ReplaceAll(st, "_", " "), HumanDuration(sinceUse))
		}
	}
	return false, ""
}

// HumanDuration writes d for a person, to the minute above a minute: "45s", "5m", "3h20m", "26h", "3d4h".
func HumanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + HumanDuration(-d)
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if hours == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, hours)
}
