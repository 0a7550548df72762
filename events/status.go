package events

import (
	"bytes"
	"encoding/json"
	"maps"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

// Session statuses.
const (
	StatusIdle              = "idle"
	StatusRunning           = "running"
	StatusWaitingPermission = "waiting_permission"
	StatusEnded             = "ended"
	StatusFailed            = "failed"
)

// Statuses lists every status, for the schema's enum.
var Statuses = []string{StatusIdle, StatusRunning, StatusWaitingPermission, StatusEnded, StatusFailed}

// State is a session's status derived from its log. Apply it to every record in order; it is small and
// JSON-serialisable, so the server persists it beside the log and never rescans the log to know it.
type State struct {
	Status string `json:"status"`
	// Turn is the running turn's id, empty when idle.
	Turn string `json:"turn,omitempty"`
	// Turns counts the prompts sent, so the next turn id is TurnID(Turns+1).
	Turns int `json:"turns"`
	// Pending are the permission requests not answered yet.
	Pending []Event `json:"pending,omitempty"`
	// PendingIDs keeps each pending request's JSON-RPC id as sent (string or number), because the answer
	// must carry the same id with the same type.
	PendingIDs map[string]json.RawMessage `json:"pending_ids,omitempty"`
	// LastStopReason and LastError describe how the last turn ended.
	LastStopReason string `json:"last_stop_reason,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	// TurnStartSeq is the log position of the current (or last) turn's prompt.
	TurnStartSeq int64 `json:"turn_start_seq,omitempty"`
	// TurnStart is when the current (or last) turn's prompt was logged: budgets time turns from it.
	TurnStart time.Time `json:"turn_start,omitzero"`
	// Usage is what the agent reported about tokens and cost (nil until it reports any).
	Usage *UsageState `json:"usage,omitempty"`
	// Budget is the limit that made us cancel the running turn, if one did.
	Budget *BudgetHit `json:"budget,omitempty"`
	// Mode and Model are the session's current mode and model as the agent last reported them
	// (current_mode_update, config_option_update), cut to EventLimits.Field; empty until it does.
	Mode  string `json:"mode,omitempty"`
	Model string `json:"model,omitempty"`
}

// NewState is the state of a freshly opened session.
func NewState() State { return State{Status: StatusIdle} }

// Apply advances the state by one record. Unknown or malformed records leave it unchanged.
func (s *State) Apply(r eventlog.Record) {
	if s.Status == StatusEnded || s.Status == StatusFailed {
		return
	}
	var env acp.Envelope
	if !decodeEnvelope(r.Env, &env) {
		return
	}
	if r.Dir == "out" {
		switch {
		case env.Method == acp.MethodPrompt:
			s.Turns++
			s.Turn, s.Status = acp.IDString(env.ID), StatusRunning
			s.LastError, s.LastStopReason, s.TurnStartSeq = "", "", r.Seq
			s.TurnStart, s.Budget = r.Time, nil
			if s.Usage != nil {
				s.ownUsage().startTurn()
			}
		case env.Method == acp.MethodCancel && s.Turn != "":
			if hit := budgetFromCancel(env.Params); hit != nil {
				s.Budget = hit
			}
		case env.IsResponse():
			s.answer(BoundID(acp.IDString(env.ID)))
		}
		return
	}
	switch {
	case env.Method == acp.MethodUpdate:
		if !bytes.Contains(r.Env, []byte("_update")) {
			return // the common case (text chunks) pays for no second decoding
		}
		ev, ok := normalizeOne(r)
		switch {
		case !ok:
		case ev.Kind == KindUsage:
			s.ownUsage().applyUpdate(ev.Usage, s.Turn != "")
		case ev.Kind == KindModeChange:
			s.Mode = BoundID(ev.Text)
		case ev.Kind == KindConfigChange:
			s.applyConfig(ev.Config)
		}
	case env.Method == acp.MethodPermission && env.IsRequest():
		if ev, ok := normalizeOne(r); ok {
			ev.Seq, ev.Time = r.Seq, r.Time
			// Kept cut to size: every result lists the pending requests, and the agent writes them.
			ev = Bound(ev, PendingLimits)
			s.Pending = append(s.Pending, ev)
			s.PendingIDs = maps.Clone(s.PendingIDs) // copied on write: see ownUsage
			if s.PendingIDs == nil {
				s.PendingIDs = map[string]json.RawMessage{}
			}
			// A copy: env's members share the record's bytes, which may be a whole page read from the log.
			s.PendingIDs[ev.Permission.RequestID] = bytes.Clone(env.ID)
		}
		s.refresh()
	case env.Method == acp.MethodAgentExit:
		ev, _ := normalizeOne(r)
		s.Pending, s.PendingIDs, s.Turn = nil, nil, ""
		if ev.Error != "" || s.Status == StatusRunning || s.Status == StatusWaitingPermission {
			s.Status = StatusFailed
			s.LastError = "the agent process exited"
			if ev.ExitCode != nil {
				s.LastError += " with code " + itoa(*ev.ExitCode)
			}
			return
		}
		s.Status = StatusEnded
	case env.IsResponse() && env.Error == nil && !isTurnID(acp.IDString(env.ID)):
		// session/new, session/load, set_mode and set_config_option answer with the current values.
		if bytes.Contains(env.Result, []byte(`"current`)) || bytes.Contains(env.Result, []byte(`"configOptions"`)) {
			s.applyResult(env.Result)
		}
	case env.IsResponse() && s.Turn != "" && acp.IDString(env.ID) == s.Turn:
		ev, _ := normalizeOne(r)
		if ev.StopReason == "cancelled" && s.Budget != nil {
			ev.StopReason = StopBudgetExceeded
		}
		if s.Usage != nil || ev.Usage != nil || s.Budget != nil {
			s.ownUsage().endTurn(s.Turn, ev.Usage, s.Budget)
		}
		s.Turn, s.Pending, s.PendingIDs, s.Status = "", nil, nil, StatusIdle
		ev = Bound(ev, EventLimits)
		s.LastStopReason, s.LastError = ev.StopReason, ev.Error
	}
}

// applyConfig takes the mode and model among an agent's config options.
func (s *State) applyConfig(cfg []ConfigValue) {
	if v, ok := currentOf(cfg, "mode"); ok {
		s.Mode = BoundID(v)
	}
	if v, ok := currentOf(cfg, "model"); ok {
		s.Model = BoundID(v)
	}
}

// applyResult takes the current mode and model from a response: its configOptions (newer ACP) or its
// modes.currentModeId and models.currentModelId.
func (s *State) applyResult(result json.RawMessage) {
	var r struct {
		ConfigOptions json.RawMessage `json:"configOptions"`
		Modes         *struct {
			Current string `json:"currentModeId"`
		} `json:"modes"`
		Models *struct {
			Current string `json:"currentModelId"`
		} `json:"models"`
	}
	if json.Unmarshal(result, &r) != nil {
		return
	}
	if r.Modes != nil && r.Modes.Current != "" {
		s.Mode = BoundID(r.Modes.Current)
	}
	if r.Models != nil && r.Models.Current != "" {
		s.Model = BoundID(r.Models.Current)
	}
	s.applyConfig(configValues(r.ConfigOptions))
}

// ownUsage returns s.Usage as a fresh copy that s alone holds, made before Apply changes it. A State is
// copied by value (a session's Snapshot) and read without the lock its owner applies records under (the
// budget watcher, a page's turn_end totals, a permission answer's id): changing the UsageState or the
// PendingIDs map a copy shares would be a data race. Usage changes once per prompt, usage report or turn
// end, so the copy costs little.
func (s *State) ownUsage() *UsageState {
	u := &UsageState{}
	if s.Usage != nil {
		*u = *s.Usage // Turns is shared: endTurn only appends past a copy's length, or makes a new array
	}
	s.Usage = u
	return u
}

// End marks the session ended (its sandbox was destroyed or its agent closed by us).
func (s *State) End() {
	s.Status, s.Turn, s.Pending, s.PendingIDs = StatusEnded, "", nil, nil
}

// Fail marks the session failed with a reason (the agent's server lost it).
func (s *State) Fail(reason string) {
	s.Status, s.Turn, s.Pending, s.PendingIDs, s.LastError = StatusFailed, "", nil, nil, reason
}

func (s *State) answer(id string) {
	for i, p := range s.Pending {
		if p.Permission.RequestID == id {
			s.Pending = append(s.Pending[:i:i], s.Pending[i+1:]...)
			s.PendingIDs = maps.Clone(s.PendingIDs) // copied on write: see ownUsage
			delete(s.PendingIDs, id)
			break
		}
	}
	s.refresh()
}

func (s *State) refresh() {
	switch {
	case s.Turn == "":
		s.Status = StatusIdle
	case len(s.Pending) > 0:
		s.Status = StatusWaitingPermission
	default:
		s.Status = StatusRunning
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
