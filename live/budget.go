package live

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
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// overBudget returns the limit the running turn has crossed, if any.
func overBudget(b *state.Budget, st events.State, now time.Time) *events.BudgetHit {
	if b.IsZero() || st.Turn == "" || st.Budget != nil {
		return nil // no limits, no turn, or already cancelled for one
	}
	if b.MaxTurnSeconds > 0 && !st.TurnStart.IsZero() {
		if el := now.Sub(st.TurnStart); el > time.Duration(b.MaxTurnSeconds)*time.Second {
			return &events.BudgetHit{Limit: events.LimitTurnTime, Used: el.Round(time.Millisecond).Seconds(), Max: float64(b.MaxTurnSeconds)}
		}
	}
	if st.Usage == nil {
		return nil
	}
	if n := st.Usage.Turn.TurnTokens(); b.MaxTokens > 0 && n > b.MaxTokens {
		return &events.BudgetHit{Limit: events.LimitTokens, Used: float64(n), Max: float64(b.MaxTokens)}
	}
	if c := st.Usage.Turn.Cost; b.MaxCostUSD > 0 && c > b.MaxCostUSD {
		return &events.BudgetHit{Limit: events.LimitCost, Used: c, Max: b.MaxCostUSD}
	}
	return nil
}

// watchBudget enforces the session's budget until ctx ends. It runs beside the stream goroutine.
func (l *Session) watchBudget(ctx context.Context) {
	b := l.Snapshot().Budget
	for {
		changed := l.Changed()
		s := l.Snapshot()
		if st := s.State.Status; st == events.StatusEnded || st == events.StatusFailed {
			return
		}
		if hit := overBudget(b, s.State, time.Now()); hit != nil {
			l.cancelForBudget(ctx, s.State.Turn, s.SessionID, hit)
			continue
		}
		var timeout <-chan time.Time
		var timer *time.Timer
		if b.MaxTurnSeconds > 0 && s.State.Turn != "" && s.State.Budget == nil {
			left := time.Until(s.State.TurnStart.Add(time.Duration(b.MaxTurnSeconds)*time.Second)) + 10*time.Millisecond
			timer = time.NewTimer(max(left, 10*time.Millisecond))
			timeout = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// cancelForBudget cancels turn with the limit recorded in the cancel's _meta. Like cancel_turn, a turn the
// agent does not end within CancelGrace is ended in the log, so the session is usable again.
func (l *Session) cancelForBudget(ctx context.Context, turn, sessionID string, hit *events.BudgetHit) {
	l.logger.Info("turn over budget; cancelling", "session", l.Key(), "turn", turn, "limit", hit.Limit, "used", hit.Used, "max", hit.Max)
	env, _ := json.Marshal(acp.Notification{Method: acp.MethodCancel,
		Params: acp.CancelParams{SessionID: sessionID, Meta: map[string]any{events.MetaBudget: hit}}})
	if err := l.sendLogged(ctx, env); err != nil {
		l.logger.Warn("budget cancel not delivered", "session", l.Key(), "err", err)
		// Recorded anyway, so the turn is not cancelled again at every append and still ends as over budget.
		l.ingest.Lock()
		_, _ = l.append(eventlog.Record{Dir: eventlog.DirOut, Env: env})
		l.ingest.Unlock()
	}
	t := time.NewTimer(CancelGrace)
	defer t.Stop()
	for {
		changed := l.Changed()
		if l.Snapshot().State.Turn != turn {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
			l.logger.Warn("turn did not end after a budget cancel; ending it locally", "session", l.Key(), "turn", turn)
			end := localCancel(turn, fmt.Sprintf("the agent did not answer session/cancel within %s", CancelGrace))
			l.ingest.Lock()
			_, _ = l.append(eventlog.Record{Dir: eventlog.DirIn, Env: end})
			l.ingest.Unlock()
			return
		}
	}
}
