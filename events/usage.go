package events

// Usage and budgets, as ACP reports them. Two messages carry usage (ACP schema, "Session Usage Updates"
// in docs/protocol/v1/draft/prompt-turn.mdx of agentclientprotocol/agent-client-protocol):
//
//   - session/update "usage_update": {used, size, cost?{amount, currency}}, sent any time. used/size are
//     the tokens in the session's context window and its size; cost is the session's cumulative cost.
//   - the session/prompt response's "usage" (newer ACP): the turn's {inputTokens, outputTokens,
//     totalTokens, thoughtTokens?, cachedReadTokens?, cachedWriteTokens?}, known only when the turn ends.
//
// Numbers are decoded as float64 and each message on its own, so a malformed usage member never costs
// the event it rides on (a turn end keeps its stop reason).

import (
	"bytes"
	"encoding/json"
	"math"
)

// Usage is what an agent reported about tokens and cost. Zero fields were not reported.
type Usage struct {
	InputTokens       int64   `json:"input_tokens,omitempty"`
	OutputTokens      int64   `json:"output_tokens,omitempty"`
	CachedReadTokens  int64   `json:"cached_read_tokens,omitempty"`
	CachedWriteTokens int64   `json:"cached_write_tokens,omitempty"`
	ThoughtTokens     int64   `json:"thought_tokens,omitempty"`
	TotalTokens       int64   `json:"total_tokens,omitempty"`
	ContextUsed       int64   `json:"context_used,omitempty"`
	ContextSize       int64   `json:"context_size,omitempty"`
	Cost              float64 `json:"cost,omitempty"`
	Currency          string  `json:"currency,omitempty"`
}

// Budget limits, as named in a budget_exceeded event.
const (
	LimitTokens   = "tokens"
	LimitCost     = "cost"
	LimitTurnTime = "turn_time"
)

// StopBudgetExceeded is the stop reason of a turn that sandbox-mcp cancelled because a budget limit was
// crossed (the agent itself answers "cancelled").
const StopBudgetExceeded = "budget_exceeded"

// BudgetHit says which limit a turn crossed.
type BudgetHit struct {
	Limit string  `json:"limit"`
	Used  float64 `json:"used"`
	Max   float64 `json:"max"`
}

// MetaBudget is the _meta key of our session/cancel params that records a budget cancel in the log.
const MetaBudget = "sandbox-mcp/budget"

// usageUpdate decodes a usage_update's own members.
func usageUpdateFrom(update json.RawMessage) *Usage {
	var u struct {
		Used float64 `json:"used"`
		Size float64 `json:"size"`
		Cost *struct {
			Amount   float64 `json:"amount"`
			Currency string  `json:"currency"`
		} `json:"cost"`
	}
	_ = json.Unmarshal(update, &u)
	out := &Usage{ContextUsed: tokens(u.Used), ContextSize: tokens(u.Size)}
	if u.Cost != nil && finite(u.Cost.Amount) && u.Cost.Amount >= 0 {
		out.Cost, out.Currency = u.Cost.Amount, u.Cost.Currency
	}
	return out
}

// turnResult decodes a session/prompt result: its stop reason and the turn's usage, if reported.
func turnResult(result json.RawMessage) (string, *Usage) {
	var res struct {
		StopReason string `json:"stopReason"`
	}
	_ = json.Unmarshal(result, &res)
	if !bytes.Contains(result, []byte(`"usage"`)) {
		return res.StopReason, nil
	}
	var u struct {
		Usage *struct {
			InputTokens       float64 `json:"inputTokens"`
			OutputTokens      float64 `json:"outputTokens"`
			TotalTokens       float64 `json:"totalTokens"`
			ThoughtTokens     float64 `json:"thoughtTokens"`
			CachedReadTokens  float64 `json:"cachedReadTokens"`
			CachedWriteTokens float64 `json:"cachedWriteTokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(result, &u) != nil || u.Usage == nil {
		return res.StopReason, nil
	}
	r := u.Usage
	return res.StopReason, &Usage{InputTokens: tokens(r.InputTokens), OutputTokens: tokens(r.OutputTokens),
		TotalTokens: tokens(r.TotalTokens), ThoughtTokens: tokens(r.ThoughtTokens),
		CachedReadTokens: tokens(r.CachedReadTokens), CachedWriteTokens: tokens(r.CachedWriteTokens)}
}

// budgetFromCancel reads the budget a cancel of ours records in its params' _meta.
func budgetFromCancel(params json.RawMessage) *BudgetHit {
	var p struct {
		Meta map[string]*BudgetHit `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return nil
	}
	return p.Meta[MetaBudget]
}

// tokens turns a reported count into a sane integer: negative, fractional garbage or NaN become 0.
func tokens(f float64) int64 {
	if !finite(f) || f < 0 || f > 1e15 {
		return 0
	}
	return int64(f)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// UsageState is a session's usage, derived from its log by State.Apply.
type UsageState struct {
	// Session: tokens summed over the turns that reported them, the latest context figures, and the cost
	// so far (Carried plus the agent's latest cumulative report).
	Session Usage `json:"session"`
	// Turn is the current (or last) turn: its tokens when it ended, its context growth and its cost.
	Turn Usage `json:"turn"`
	// LastCost is the agent's latest cumulative cost; Carried holds what earlier agent sessions reported
	// (a continued session's new agent starts counting from zero again).
	LastCost float64 `json:"last_cost,omitempty"`
	Carried  float64 `json:"carried,omitempty"`
	// CostBase and ContextBase are the session's cost and context when the current turn started.
	CostBase    float64 `json:"cost_base,omitempty"`
	ContextBase int64   `json:"context_base,omitempty"`
	// Turns keeps each recent turn's totals, for its turn_end event.
	Turns []TurnUsage `json:"turns,omitempty"`
}

// TurnUsage is one ended turn's totals and, if a budget stopped it, which limit.
type TurnUsage struct {
	Turn   string     `json:"turn"`
	Usage  Usage      `json:"usage"`
	Budget *BudgetHit `json:"budget,omitempty"`
}

// maxTurnUsage bounds UsageState.Turns, which is persisted with every status change.
const maxTurnUsage = 64

// TurnTokens is what a token budget compares: the turn's token total when the agent reported it, else
// how much the context window grew during the turn (the only token figure ACP streams mid-turn).
func (u Usage) TurnTokens() int64 {
	if u.TotalTokens > 0 {
		return u.TotalTokens
	}
	if t := u.InputTokens + u.OutputTokens; t > 0 {
		return t
	}
	return u.ContextUsed
}

// startTurn records the baselines a turn's figures are measured from.
func (s *UsageState) startTurn() {
	s.CostBase, s.ContextBase = s.Session.Cost, s.Session.ContextUsed
	s.Turn = Usage{Currency: s.Session.Currency}
}

// applyUpdate takes a usage_update.
func (s *UsageState) applyUpdate(u *Usage, running bool) {
	if u.ContextSize > 0 || u.ContextUsed > 0 {
		s.Session.ContextUsed, s.Session.ContextSize = u.ContextUsed, u.ContextSize
	}
	if u.Currency != "" || u.Cost > 0 {
		if u.Cost < s.LastCost {
			s.Carried += s.LastCost // a new agent session counts from zero
		}
		s.LastCost = u.Cost
		s.Session.Cost = s.Carried + u.Cost
		if u.Currency != "" {
			s.Session.Currency = u.Currency
		}
	}
	if running {
		s.Turn.ContextUsed = max(0, s.Session.ContextUsed-s.ContextBase)
		s.Turn.ContextSize = s.Session.ContextSize
		s.Turn.Cost = max(0, s.Session.Cost-s.CostBase)
		s.Turn.Currency = s.Session.Currency
	}
}

// endTurn takes the turn's reported token totals and keeps the turn's summary.
func (s *UsageState) endTurn(turn string, reported *Usage, hit *BudgetHit) {
	if reported != nil {
		s.Turn.InputTokens, s.Turn.OutputTokens = reported.InputTokens, reported.OutputTokens
		s.Turn.CachedReadTokens, s.Turn.CachedWriteTokens = reported.CachedReadTokens, reported.CachedWriteTokens
		s.Turn.ThoughtTokens, s.Turn.TotalTokens = reported.ThoughtTokens, reported.TotalTokens
		s.Session.InputTokens += reported.InputTokens
		s.Session.OutputTokens += reported.OutputTokens
		s.Session.CachedReadTokens += reported.CachedReadTokens
		s.Session.CachedWriteTokens += reported.CachedWriteTokens
		s.Session.ThoughtTokens += reported.ThoughtTokens
		s.Session.TotalTokens += reported.TotalTokens
	}
	s.Turns = append(s.Turns, TurnUsage{Turn: turn, Usage: s.Turn, Budget: hit})
	if len(s.Turns) > maxTurnUsage {
		s.Turns = append(s.Turns[:0:0], s.Turns[len(s.Turns)-maxTurnUsage:]...)
	}
}

// TurnTotals returns an ended turn's totals, if still kept.
func (s *UsageState) TurnTotals(turn string) (TurnUsage, bool) {
	if s == nil {
		return TurnUsage{}, false
	}
	for i := len(s.Turns) - 1; i >= 0; i-- {
		if s.Turns[i].Turn == turn {
			return s.Turns[i], true
		}
	}
	return TurnUsage{}, false
}

// Enrich completes a turn_end event with what only the whole log tells: the turn's cost and context
// growth, and the budget limit that stopped it (its stop reason is then budget_exceeded).
func (s *UsageState) Enrich(ev Event) Event {
	if ev.Kind != KindTurnEnd {
		return ev
	}
	t, ok := s.TurnTotals(ev.Turn)
	if !ok {
		return ev
	}
	u := t.Usage
	if ev.Usage != nil { // the tokens as the agent reported them in this very envelope
		u.InputTokens, u.OutputTokens, u.TotalTokens = ev.Usage.InputTokens, ev.Usage.OutputTokens, ev.Usage.TotalTokens
		u.CachedReadTokens, u.CachedWriteTokens, u.ThoughtTokens = ev.Usage.CachedReadTokens, ev.Usage.CachedWriteTokens, ev.Usage.ThoughtTokens
	}
	if u != (Usage{}) {
		ev.Usage = &u
	}
	if t.Budget != nil {
		ev.Budget = t.Budget
		if ev.StopReason == "cancelled" {
			ev.StopReason = StopBudgetExceeded
		}
	}
	return ev
}
