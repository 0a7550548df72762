package events

import (
	"reflect"
	"testing"
)

func usageEnv(used, size int, cost string) string {
	u := `{"sessionUpdate":"usage_update","used":` + itoa(used) + `,"size":` + itoa(size)
	if cost != "" {
		u += `,"cost":{"amount":` + cost + `,"currency":"USD"}`
	}
	return update(u + `}`)
}

func turnEndUsage(id, stop, usage string) string {
	return `{"jsonrpc":"2.0","id":"` + id + `","result":{"stopReason":"` + stop + `","usage":` + usage + `}}`
}

// TestStateUsage: usage is recorded per turn and summed per session, from the log alone.
func TestStateUsage(t *testing.T) {
	s := NewState()
	for _, r := range records(
		out(prompt("turn-1", "one")),
		in(usageEnv(1000, 200000, "0.01")),
		in(chunk("a")),
		in(usageEnv(3000, 200000, "0.03")),
		in(turnEndUsage("turn-1", "end_turn", `{"inputTokens":2500,"outputTokens":500,"totalTokens":3000,"cachedReadTokens":100}`)),
		out(prompt("turn-2", "two")),
		in(usageEnv(5000, 200000, "0.05")),
		in(turnEndUsage("turn-2", "end_turn", `{"inputTokens":1500,"outputTokens":500,"totalTokens":2000,"cachedWriteTokens":7}`)),
	) {
		s.Apply(r)
	}
	if s.Usage == nil {
		t.Fatal("no usage recorded")
	}
	wantSession := Usage{InputTokens: 4000, OutputTokens: 1000, TotalTokens: 5000, CachedReadTokens: 100, CachedWriteTokens: 7,
		ContextUsed: 5000, ContextSize: 200000, Cost: 0.05, Currency: "USD"}
	if !reflect.DeepEqual(s.Usage.Session, wantSession) {
		t.Errorf("session usage\n got %+v\nwant %+v", s.Usage.Session, wantSession)
	}
	t1, ok1 := s.Usage.TurnTotals("turn-1")
	t2, ok2 := s.Usage.TurnTotals("turn-2")
	if !ok1 || !ok2 {
		t.Fatalf("turn totals missing: %v %v", ok1, ok2)
	}
	if t1.Usage.TotalTokens != 3000 || !near(t1.Usage.Cost, 0.03) || t1.Usage.ContextUsed != 3000 {
		t.Errorf("turn-1 totals %+v", t1.Usage)
	}
	// turn-2's cost and context are measured from where turn-1 left them.
	if t2.Usage.TotalTokens != 2000 || !near(t2.Usage.Cost, 0.02) || t2.Usage.ContextUsed != 2000 {
		t.Errorf("turn-2 totals %+v", t2.Usage)
	}
}

// TestStateUsageCostRestarts: a new agent session (a continued session) reports cost from zero again; the
// session's total keeps what the earlier one cost.
func TestStateUsageCostRestarts(t *testing.T) {
	s := NewState()
	for _, r := range records(
		out(prompt("turn-1", "one")), in(usageEnv(10, 100, "0.40")), in(turnEnd("turn-1", "end_turn")),
		out(prompt("turn-2", "two")), in(usageEnv(10, 100, "0.10")), in(turnEnd("turn-2", "end_turn")),
	) {
		s.Apply(r)
	}
	if !near(s.Usage.Session.Cost, 0.50) {
		t.Errorf("session cost %v, want 0.50", s.Usage.Session.Cost)
	}
	if t2, _ := s.Usage.TurnTotals("turn-2"); !near(t2.Usage.Cost, 0.10) {
		t.Errorf("turn-2 cost %v, want 0.10", t2.Usage.Cost)
	}
}

// TestStateBudgetStop: a turn we cancelled for a budget ends with stop reason budget_exceeded and keeps
// the limit; the next turn starts with no budget hit.
func TestStateBudgetStop(t *testing.T) {
	s := NewState()
	budgetCancel := `{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s","_meta":{"sandbox-mcp/budget":{"limit":"turn_time","used":2,"max":1}}}}`
	steps := []step{
		{out(prompt("turn-1", "loop")), StatusRunning},
		{out(budgetCancel), StatusRunning},
		{in(turnEnd("turn-1", "cancelled")), StatusIdle},
	}
	for _, st := range steps {
		s.Apply(st.rec)
		if s.Status != st.want {
			t.Fatalf("after %s: status %s, want %s", st.rec.Env, s.Status, st.want)
		}
	}
	if s.LastStopReason != StopBudgetExceeded {
		t.Errorf("stop reason %q, want %q", s.LastStopReason, StopBudgetExceeded)
	}
	tu, ok := s.Usage.TurnTotals("turn-1")
	if !ok || tu.Budget == nil || tu.Budget.Limit != LimitTurnTime {
		t.Errorf("turn-1 budget %+v %v", tu.Budget, ok)
	}
	for _, r := range records(out(prompt("turn-2", "again")), in(turnEnd("turn-2", "cancelled"))) {
		s.Apply(r)
	}
	if s.LastStopReason != "cancelled" || s.Budget != nil {
		t.Errorf("turn-2: stop %q budget %+v, want a plain cancel", s.LastStopReason, s.Budget)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
