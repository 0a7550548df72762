package manager

// Budgets. A session's budget limits each turn: tokens, cost and wall time. A watcher per session wakes on
// every append to its log (and at the turn's time limit), compares the running turn's usage, which
// events.State derives from the agent's usage reports, with the limits, and when one is crossed sends
// session/cancel carrying the limit in its _meta. The log then records which limit stopped the turn, and
// the turn ends with stop reason budget_exceeded. The next turn starts from zero again: a limit is per
// turn, and the session stays usable.
//
// The server's --max-turn-* flags are both the default and the ceiling: a caller may ask for less, never
// for more (a tool argument never widens what the server allows).

import (
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// sessionBudget merges a requested budget with the server's: unset fields take the server's value, and no
// field may exceed it.
func (m *Manager) sessionBudget(req *state.Budget) (*state.Budget, error) {
	caps := m.cfg.DefaultBudget
	b := caps
	if req != nil {
		if req.MaxTokens < 0 || req.MaxCostUSD < 0 || req.MaxTurnSeconds < 0 || req.MaxCostUSD != req.MaxCostUSD {
			return nil, invalidf("budget limits must be positive (0 or absent means the server's default)")
		}
		for _, f := range []struct {
			name      string
			got, ceil float64
		}{
			{"max_tokens", float64(req.MaxTokens), float64(caps.MaxTokens)},
			{"max_cost_usd", req.MaxCostUSD, caps.MaxCostUSD},
			{"max_turn_seconds", float64(req.MaxTurnSeconds), float64(caps.MaxTurnSeconds)},
		} {
			if f.ceil > 0 && f.got > f.ceil {
				return nil, invalidf("budget %s %v is over the server's limit %v: ask for %v or less", f.name, f.got, f.ceil, f.ceil)
			}
		}
		if req.MaxTokens > 0 {
			b.MaxTokens = req.MaxTokens
		}
		if req.MaxCostUSD > 0 {
			b.MaxCostUSD = req.MaxCostUSD
		}
		if req.MaxTurnSeconds > 0 {
			b.MaxTurnSeconds = req.MaxTurnSeconds
		}
	}
	if b.IsZero() {
		return nil, nil
	}
	return &b, nil
}
