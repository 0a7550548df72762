package e2e

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestLoad: 10 sessions in 3 sandboxes on the sandbox CLI double, then 20 tool calls issued at once (long
// polls on busy sessions, sends, lists, plain reads). Every call completes with the right result, no quick
// call waits for the long polls (the stdio worker pool is sized by --workers, default 32), and once
// everything is destroyed the server is back to its goroutine and process baseline.
func TestLoad(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	root := env["FAKECLI_ROOT"]
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	// Baseline: the server is up and initialized (its stdio workers run), and nothing has touched a backend.
	time.Sleep(200 * time.Millisecond)
	goBefore, procsBefore := runtime.NumGoroutine(), len(procsMatching(root))

	sizes := []int{4, 3, 3}
	var sessions []session
	for i, n := range sizes {
		var sb manager.SandboxResult
		h.OK("create_sandbox", map[string]any{"workspace": t.TempDir(), "name": fmt.Sprintf("load-%d", i)}, &sb)
		for range n {
			var s manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &s)
			sessions = append(sessions, session{h: h, sandbox: sb.Name, session: s.Name})
		}
	}
	// Five busy sessions, each in a quiet stretch of its turn, so a waiting get_events after its last event
	// waits the whole wait_seconds; five idle ones.
	busy, idle := sessions[:5], sessions[5:]
	const quietTurn = "say start; sleep 30000; say end"
	cursors := make([]int64, len(busy))
	for i, s := range busy {
		turn := s.send(t, quietTurn, 0)
		var got []events.Event
		cursor := turn.Cursor
		for agentText(got) != "start" {
			var page live.Page
			h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
			if page.Status != events.StatusRunning {
				t.Fatalf("busy session %s: status %s, events %v", s.session, page.Status, testkit.Summarize(got))
			}
			got, cursor = append(got, page.Events...), page.NextCursor
		}
		cursors[i] = cursor
	}

	type call struct {
		kind  string // long, send, list, read
		args  map[string]any
		check func(res *mcp.CallToolResult) error
	}
	var calls []call
	for i := range 8 {
		s, cursor := busy[i%len(busy)], cursors[i%len(busy)]
		calls = append(calls, call{"long", map[string]any{"tool": "get_events", "sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 5},
			func(res *mcp.CallToolResult) error {
				var p live.Page
				if err := decodeInto(res, &p); err != nil {
					return err
				}
				if p.Status != events.StatusRunning || len(p.Events) != 0 || p.NextCursor != cursor {
					return fmt.Errorf("long poll = status %s, %d events, next %d; want running, none, %d", p.Status, len(p.Events), p.NextCursor, cursor)
				}
				return nil
			}})
	}
	for i := range 4 {
		s := idle[i]
		calls = append(calls, call{"send", map[string]any{"tool": "send_message", "sandbox": s.sandbox, "session": s.session, "message": fmt.Sprintf("say ok-%d", i)},
			func(res *mcp.CallToolResult) error {
				var r manager.TurnResult
				if err := decodeInto(res, &r); err != nil {
					return err
				}
				if r.TurnID != events.TurnID(1) || r.Session != s.session {
					return fmt.Errorf("send = %+v, want turn-1 of %s", r, s.session)
				}
				return nil
			}})
	}
	for i := range 4 {
		sb, n := fmt.Sprintf("load-%d", i%len(sizes)), sizes[i%len(sizes)]
		calls = append(calls, call{"list", map[string]any{"tool": "list_sessions", "sandbox": sb},
			func(res *mcp.CallToolResult) error {
				var l manager.SessionList
				if err := decodeInto(res, &l); err != nil {
					return err
				}
				if len(l.Sessions) != n {
					return fmt.Errorf("list_sessions(%s) = %d sessions, want %d", sb, len(l.Sessions), n)
				}
				return nil
			}})
	}
	for i := range 4 {
		// Two reads of an idle session with no turn yet, two of a busy session from its start.
		s, status, minEvents := idle[4], events.StatusIdle, 0
		if i%2 == 1 {
			s, status, minEvents = busy[i], events.StatusRunning, 2
		}
		calls = append(calls, call{"read", map[string]any{"tool": "get_events", "sandbox": s.sandbox, "session": s.session, "cursor": 0},
			func(res *mcp.CallToolResult) error {
				var p live.Page
				if err := decodeInto(res, &p); err != nil {
					return err
				}
				if p.Status != status || len(p.Events) < minEvents || (minEvents > 0 && p.Events[0].Text != quietTurn) {
					return fmt.Errorf("read of %s = status %s, events %v; want %s with at least %d", s.session, p.Status, testkit.Summarize(p.Events), status, minEvents)
				}
				return nil
			}})
	}

	goLive := runtime.NumGoroutine()

	// All at once.
	type outcome struct {
		took time.Duration
		done time.Time
	}
	out := make([]outcome, len(calls))
	var wg sync.WaitGroup
	ready := make(chan struct{})
	start := time.Now()
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			args := map[string]any{}
			for k, v := range c.args {
				if k != "tool" {
					args[k] = v
				}
			}
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = c.args["tool"].(string), args
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			t0 := time.Now()
			res, err := h.Client.CallTool(ctx, req)
			out[i] = outcome{took: time.Since(t0), done: time.Now()}
			switch {
			case err != nil:
				t.Errorf("%s %v: %v", c.kind, c.args, err)
			case res.IsError:
				t.Errorf("%s %v failed: %s", c.kind, c.args, testkit.Text(res))
			default:
				if err := c.check(res); err != nil {
					t.Errorf("%s: %v", c.kind, err)
				}
			}
		}()
	}
	close(ready)
	wg.Wait()
	total := time.Since(start)

	var firstLong time.Time
	var maxQuick, maxSend time.Duration
	for i, c := range calls {
		switch c.kind {
		case "long":
			if firstLong.IsZero() || out[i].done.Before(firstLong) {
				firstLong = out[i].done
			}
		case "send":
			maxSend = max(maxSend, out[i].took)
		default:
			maxQuick = max(maxQuick, out[i].took)
		}
	}
	for i, c := range calls {
		if (c.kind == "list" || c.kind == "read") && !out[i].done.Before(firstLong) {
			t.Errorf("%s %v finished after the first long poll (took %v): starved behind the long polls", c.kind, c.args, out[i].took)
		}
	}
	if total > 45*time.Second {
		t.Errorf("20 concurrent calls took %v", total)
	}

	// The sends started real turns.
	for i, s := range idle[:4] {
		evs, _ := s.drain(t, 0, 100, 10)
		if got, want := agentText(evs), fmt.Sprintf("ok-%d", i); got != want {
			t.Errorf("session %s: agent text %q, want %q", s.session, got, want)
		}
	}

	for i := range sizes {
		h.OK("destroy_sandbox", map[string]any{"name": fmt.Sprintf("load-%d", i)}, &manager.DestroyResult{})
	}
	const delta = 5
	var goAfter, procsAfter int
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(250 * time.Millisecond)
		goAfter, procsAfter = runtime.NumGoroutine(), len(procsMatching(root))
		if goAfter <= goBefore+delta && procsAfter <= procsBefore || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("LOAD: 20 concurrent calls in %v; slowest quick call (list_sessions, get_events without wait) %v while 8 long polls were pending; slowest send_message %v",
		total.Round(time.Millisecond), maxQuick.Round(time.Millisecond), maxSend.Round(time.Millisecond))
	t.Logf("LOAD: goroutines %d before, %d with 10 live sessions, %d after; processes of the double %d before, %d after", goBefore, goLive, goAfter, procsBefore, procsAfter)
	if goAfter > goBefore+delta {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("goroutines: %d before, %d after everything was destroyed (allowed +%d):\n%s", goBefore, goAfter, delta, b.String())
	}
	if procsAfter > procsBefore {
		t.Errorf("processes of the double: %d before, %d after: %q", procsBefore, procsAfter, procsMatching(root))
	}
}

// decodeInto decodes a tool result's structured content.
func decodeInto(res *mcp.CallToolResult, out any) error {
	b, err := jsonMarshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return jsonUnmarshal(b, out)
}
