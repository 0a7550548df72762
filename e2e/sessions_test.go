package e2e

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Usage, budgets, sessions that continue and the agent's MCP servers, end to end: the real server over
// MCP, the sbx test double, the real sandbox-agent and the scripted agent.

// send runs one turn to its end (wait_seconds) and returns the result.
func (h *harness) send(sb, session, msg string) manager.TurnResult {
	h.T.Helper()
	var tr manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb, "session": session, "message": msg, "wait_seconds": 40}, &tr)
	if !tr.Done {
		h.T.Fatalf("turn %q did not end within 40 s: %+v", msg, tr)
	}
	return tr
}

// allEvents reads a session's events from cursor 0.
func (h *harness) allEvents(sb, session string) []events.Event {
	h.T.Helper()
	var out []events.Event
	for cursor := int64(0); ; {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": sb, "session": session, "cursor": cursor}, &page)
		out = append(out, page.Events...)
		cursor = page.NextCursor
		if !page.More {
			return out
		}
	}
}

// eventCounts counts a session's events (its whole log) by kind and text: "user_message hello" → 1.
func (h *harness) eventCounts(sb, session string) map[string]int {
	h.T.Helper()
	n := map[string]int{}
	for _, ev := range h.allEvents(sb, session) {
		n[ev.Kind+" "+ev.Text]++
	}
	return n
}

// blueDoor starts a server on the sbx double, with the scripted agent's session/load on (load "1") or off
// ("0"), and a session whose first turn said "the blue door": what the continuation tests stop and
// continue. It returns the double's environment and binaries, and the sandbox's and session's names.
func blueDoor(t *testing.T, load string) (h *harness, env map[string]string, bin, sb, sess string) {
	t.Helper()
	env, bin = testkit.FakeEnv(t)
	env["SCRIPTED_AGENT_LOAD_SESSION"] = load
	h = startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--pass-env=SCRIPTED_AGENT_LOAD_SESSION"), env)
	var sandbox manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sandbox)
	var session manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sandbox.Name, "agent": "mock"}, &session)
	h.send(sandbox.Name, session.Name, "say the blue door")
	return h, env, bin, sandbox.Name, session.Name
}

func (h *harness) sessionEntry(sb, name string) manager.SessionEntry {
	h.T.Helper()
	var list manager.SessionList
	h.OK("list_sessions", map[string]any{"sandbox": sb}, &list)
	for _, s := range list.Sessions {
		if s.Name == name {
			return s
		}
	}
	h.T.Fatalf("session %s not in list_sessions: %+v", name, list)
	return manager.SessionEntry{}
}

func about(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestUsageRecordedAndSummed: usage_update and the turns' reported tokens are recorded per turn (usage
// events, turn_end totals) and summed per session (list_sessions, the transcript).
func TestUsageRecordedAndSummed(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)

	h.send(sb.Name, sess.Name, "usage 1000 200000 0.01; tokens 100 20 5; say one")
	h.send(sb.Name, sess.Name, "usage 3000 200000 0.03; tokens 200 40; say two")

	e := h.sessionEntry(sb.Name, sess.Name)
	if e.Usage == nil {
		t.Fatalf("list_sessions has no usage: %+v", e)
	}
	u := *e.Usage
	if u.InputTokens != 300 || u.OutputTokens != 60 || u.CachedReadTokens != 5 || u.TotalTokens != 365 ||
		u.ContextUsed != 3000 || u.ContextSize != 200000 || !about(u.Cost, 0.03) || u.Currency != "USD" {
		t.Errorf("session usage = %+v", u)
	}
	var usageEvents, ends []events.Event
	for _, ev := range h.allEvents(sb.Name, sess.Name) {
		switch ev.Kind {
		case events.KindUsage:
			usageEvents = append(usageEvents, ev)
		case events.KindTurnEnd:
			ends = append(ends, ev)
		}
	}
	if len(usageEvents) != 2 || usageEvents[1].Usage.ContextUsed != 3000 || !about(usageEvents[1].Usage.Cost, 0.03) {
		t.Errorf("usage events = %+v", usageEvents)
	}
	if len(ends) != 2 || ends[1].Usage == nil || ends[1].Usage.TotalTokens != 240 || !about(ends[1].Usage.Cost, 0.02) || ends[1].Usage.ContextUsed != 2000 {
		t.Errorf("turn_end events = %+v (want turn-2: 240 tokens, cost 0.02, context +2000)", ends)
	}
	transcript := readResource(t, h, "sandbox-mcp://sandboxes/"+sb.Name+"/sessions/"+sess.Name+"/transcript")
	if !strings.Contains(transcript, "turn usage: 240 tokens (200 in, 40 out, 0 cache read), context 2000/200000, cost 0.0200 USD") {
		t.Errorf("transcript lacks turn-2's usage:\n%s", transcript)
	}
}

// TestBudgetCancelsTurn: a turn that crosses its cost or time limit is cancelled with stop reason
// budget_exceeded, the events name the limit, and the session takes the next turn with a fresh budget.
// The server's limit is the most a session may ask for.
func TestBudgetCancelsTurn(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--max-turn-cost=1"), env)
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)

	if msg := h.Fails("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock", "budget": map[string]any{"max_cost_usd": 5}}); !strings.Contains(msg, "over the server's limit 1") {
		t.Errorf("a budget over the server's: %s", msg)
	}
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock", "budget": map[string]any{"max_cost_usd": 0.05}}, &sess)
	if sess.Budget == nil || sess.Budget.MaxCostUSD != 0.05 {
		t.Fatalf("create_session budget = %+v", sess.Budget)
	}
	h.send(sb.Name, sess.Name, "usage 1000 200000 0.03; say under budget")
	tr := h.send(sb.Name, sess.Name, "usage 2000 200000 0.05; sleep 100; usage 3000 200000 0.20; sleep 30000; say never")
	if tr.StopReason != events.StopBudgetExceeded {
		t.Fatalf("over-budget turn ended %q (%s), want budget_exceeded", tr.StopReason, tr.Error)
	}
	var cancel, end *events.Event
	for _, ev := range h.allEvents(sb.Name, sess.Name) {
		switch {
		case ev.Kind == events.KindCancel:
			cancel = &ev
		case ev.Kind == events.KindTurnEnd && ev.Turn == tr.TurnID:
			end = &ev
		}
	}
	if cancel == nil || cancel.Budget == nil || cancel.Budget.Limit != events.LimitCost || !about(cancel.Budget.Used, 0.17) || cancel.Budget.Max != 0.05 {
		t.Errorf("cancel event = %+v", cancel)
	}
	if end == nil || end.StopReason != events.StopBudgetExceeded || end.Budget == nil || end.Budget.Limit != events.LimitCost {
		t.Errorf("turn_end = %+v", end)
	}
	if tr := h.send(sb.Name, sess.Name, "usage 3500 200000 0.21; say again"); tr.StopReason != "end_turn" {
		t.Errorf("the turn after a budget stop ended %q, want end_turn", tr.StopReason)
	}

	var timed manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock", "budget": map[string]any{"max_turn_seconds": 1}}, &timed)
	start := time.Now()
	tr = h.send(sb.Name, timed.Name, "sleep 30000; say never")
	if tr.StopReason != events.StopBudgetExceeded || time.Since(start) > 25*time.Second {
		t.Errorf("timed turn ended %q after %s, want budget_exceeded well before its 30 s sleep", tr.StopReason, time.Since(start))
	}
	if e := h.sessionEntry(sb.Name, timed.Name); e.Budget == nil || e.Budget.MaxTurnSeconds != 1 || e.Budget.MaxCostUSD != 1 {
		t.Errorf("list_sessions budget = %+v, want the asked time limit and the server's cost limit", e.Budget)
	}
}

// waitEnded polls until the session is no longer usable (its agent is gone).
func (h *harness) waitEnded(sb, name string) manager.SessionEntry {
	h.T.Helper()
	return h.waitEntry(sb, name, 40*time.Second, func(status string) bool {
		return status == events.StatusFailed || status == events.StatusEnded
	})
}

// waitEntry polls list_sessions until done accepts the session's status, and returns its entry. Each look
// follows a get_events, which makes the session's stream run (and notice a turn's end, or that
// sandbox-agent is gone).
func (h *harness) waitEntry(sb, name string, within time.Duration, done func(status string) bool) manager.SessionEntry {
	h.T.Helper()
	deadline := time.Now().Add(within)
	for {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": sb, "session": name, "cursor": 0, "limit": 1}, &page)
		e := h.sessionEntry(sb, name)
		if done(e.Status) {
			return e
		}
		if time.Now().After(deadline) {
			h.T.Fatalf("session %s/%s still %s after %v", sb, name, e.Status, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestContinueAfterSandboxStop: a session whose sandbox was stopped (and with it sandbox-agent and the
// agent) is continued: with session/load when the agent supports it, the history replayed by the agent
// is not recorded twice; else with a summary; and a fork starts from another session's context.
func TestContinueAfterSandboxStop(t *testing.T) {
	for _, tc := range []struct {
		name, how string
		load      string // SCRIPTED_AGENT_LOAD_SESSION
	}{
		{"session/load", manager.ContinuedLoad, "1"},
		{"summary", manager.ContinuedSummary, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, env, bin, sb, sess := blueDoor(t, tc.load)

			if err := testkit.RunFake(bin, env, "stop", sb); err != nil {
				t.Fatal(err)
			}
			e := h.waitEnded(sb, sess)
			if !e.CanContinue || e.ContinueWith != tc.how {
				t.Fatalf("list_sessions after the stop = %+v, want can_continue with %s", e, tc.how)
			}
			var cont manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb, "agent": "mock", "continue": sess}, &cont)
			if cont.Name != sess || cont.Continued != tc.how {
				t.Fatalf("continue = %+v, want %s continued with %s", cont, sess, tc.how)
			}
			if tc.how == manager.ContinuedSummary {
				if cont.Turn == "" {
					t.Fatalf("a summary continuation sent no priming turn: %+v", cont)
				}
				waitStatus(t, h, sb, sess, 0, new([]events.Event), events.StatusIdle)
			}
			tr := h.send(sb, sess, "history")
			if !strings.Contains(tr.FinalText, "the blue door") {
				t.Errorf("the continued agent does not know the conversation: %q", tr.FinalText)
			}
			n := h.eventCounts(sb, sess)
			users, agents, continued := n["user_message say the blue door"], n["agent_message the blue door"], n["session_continued "+tc.how]
			if users != 1 || agents != 1 || continued != 1 {
				t.Errorf("events: %d user messages, %d agent replies of the first turn, %d session_continued; want 1 each (a replay is not recorded twice)", users, agents, continued)
			}
			if tc.how != manager.ContinuedLoad {
				return
			}
			var fork manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb, "agent": "mock", "fork": sess}, &fork)
			if fork.Name == sess || fork.Forked != sess || fork.Turn == "" {
				t.Fatalf("fork = %+v", fork)
			}
			waitStatus(t, h, sb, fork.Name, 0, new([]events.Event), events.StatusIdle)
			if tr := h.send(sb, fork.Name, "history"); !strings.Contains(tr.FinalText, "User: say the blue door") {
				t.Errorf("the fork was not primed with the conversation: %q", tr.FinalText)
			}
		})
	}
}

// TestMCPServersReachSessionNew: MCP servers given to create_session reach the agent's session/new, with
// secrets filled in by name (and redacted on the way back); unsafe ones are refused with one line.
func TestMCPServersReachSessionNew(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	env["MCP_TOKEN"] = "tok-0123456789abcdef"
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--pass-env=MCP_TOKEN"), env)
	ws := t.TempDir()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	servers := []any{
		map[string]any{"name": "files", "command": "mcp-files", "args": []string{"--root=" + ws}, "env": map[string]string{"TOKEN": "${MCP_TOKEN}"}},
		map[string]any{"name": "issues", "type": "http", "url": "http://127.0.0.1:9/mcp", "headers": map[string]string{"Authorization": "Bearer ${MCP_TOKEN}"}},
	}
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock", "mcp_servers": servers}, &sess)
	tr := h.send(sb.Name, sess.Name, "mcp")
	for _, want := range []string{
		// ACP's McpServer shapes (the agent prints them with sorted keys).
		`{"args":["--root=` + ws + `"],"command":"mcp-files","env":[{"name":"TOKEN","value":"[REDACTED:MCP_TOKEN]"}],"name":"files"}`,
		`{"headers":[{"name":"Authorization","value":"Bearer [REDACTED:MCP_TOKEN]"}],"name":"issues","type":"http","url":"http://127.0.0.1:9/mcp"}`,
	} {
		if !strings.Contains(tr.FinalText, want) {
			t.Errorf("the agent's mcpServers lack %s:\n%s", want, tr.FinalText)
		}
	}
	if strings.Contains(tr.FinalText, env["MCP_TOKEN"]) {
		t.Errorf("the secret came back unredacted: %s", tr.FinalText)
	}

	for _, tc := range []struct {
		server map[string]any
		want   string
	}{
		{map[string]any{"name": "x", "command": "cat", "args": []string{env["HOME"] + "/.ssh/id_ed25519"}}, "is a host path outside the workspace"},
		{map[string]any{"name": "x", "command": "cat", "args": []string{"--token=${MCP_TOKEN}"}}, "never in argv or URLs"},
		{map[string]any{"name": "x", "command": "cat", "args": []string{"--token=" + env["MCP_TOKEN"]}}, "holds the secret MCP_TOKEN"},
		{map[string]any{"name": "x", "command": "cat", "env": map[string]string{"K": "${HOME}"}}, "not one of the server's allowed secret variables"},
		{map[string]any{"name": "x", "type": "http", "url": "http://user:pw@127.0.0.1:9/"}, "must not carry credentials"},
		{map[string]any{"name": "x", "type": "sse", "url": "http://127.0.0.1:9/"}, "does not support sse MCP servers"},
	} {
		msg := h.Fails("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock", "mcp_servers": []any{tc.server}})
		if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, env["MCP_TOKEN"]) {
			t.Errorf("%v: %q, want one line with %q", tc.server, msg, tc.want)
		}
	}
}
