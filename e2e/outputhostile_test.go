package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestOutputSizeHostile: an agent that tries to blow up results rather than one that is merely verbose.
// It sends permission requests with 95 kB titles and 200 options of 10 kB names, a dozen requests at
// once, a plan of 200 entries of 5 kB, a message of text that JSON escapes to six times its size, and a
// 95 kB error. Every tool result that shows any of it (text and structured content together, error
// results included) stays within hostOutputBytes.
func TestOutputSizeHostile(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	s := newSession(t, h)
	largest := 0
	check := func(what string, res *mcp.CallToolResult) {
		t.Helper()
		n := resultBytes(t, res)
		largest = max(largest, n)
		if n > hostOutputBytes {
			t.Errorf("%s: %d bytes, over the %d-byte budget: %.300s", what, n, hostOutputBytes, testkit.Text(res))
		}
	}
	call := func(what, tool string, args map[string]any) *mcp.CallToolResult {
		t.Helper()
		res := h.Call(tool, args)
		check(what, res)
		return res
	}
	ids := map[string]any{"sandbox": s.sandbox, "session": s.session}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range ids {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// everything reads every result that shows the session, from its start.
	everything := func(when string) live.Page {
		t.Helper()
		var page live.Page
		for _, args := range []map[string]any{with("cursor", 0), with("cursor", 0, "limit", 500), with("cursor", 0, "limit", 1)} {
			res := call("get_events "+when, "get_events", args)
			decode(t, res, &page)
		}
		for cursor, more := int64(0), true; more; {
			res := call("get_events page "+when, "get_events", with("cursor", cursor))
			var p live.Page
			decode(t, res, &p)
			cursor, more = p.NextCursor, p.More
		}
		call("list_sessions "+when, "list_sessions", map[string]any{"sandbox": s.sandbox})
		call("list_sandboxes "+when, "list_sandboxes", map[string]any{})
		call("send_message while busy "+when, "send_message", with("message", "say hi"))
		call("respond_permission to an unknown request "+when, "respond_permission", with("request_id", "nosuch", "option", "o1"))
		return page
	}
	waitFor := func(status string) live.Page {
		t.Helper()
		var page live.Page
		for range 240 {
			decode(t, call("get_events waiting", "get_events", with("cursor", 0, "limit", 1)), &page)
			if page.Status == status {
				return page
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("status never became %s: %s", status, testkit.Text(h.Call("get_events", with("cursor", 0))))
		return live.Page{}
	}

	// One request with a 95 kB title and 200 options of 10 kB names.
	call("send_message", "send_message", with("message", "perms 1 95000 200 10000"))
	waitFor(events.StatusWaitingPermission)
	page := everything("with a 95 kB title and 200 options of 10 kB")
	if len(page.Pending) != 1 || len(page.Pending[0].Permission.Options) > events.PendingLimits.Options {
		t.Errorf("pending = %d requests, the first with %d options", len(page.Pending), len(page.Pending[0].Permission.Options))
	}
	call("respond_permission with an option not offered", "respond_permission", with("request_id", page.Pending[0].Permission.RequestID, "option", "nosuch"))
	call("respond_permission", "respond_permission", with("request_id", page.Pending[0].Permission.RequestID, "option", "o1"))
	waitFor(events.StatusIdle)

	// A huge plan, text that escapes to six times its size, then twelve requests at once.
	call("send_message", "send_message", with("message", "plan-big 200 5000; say-big 60000; perms 12 95000 50 1000"))
	waitFor(events.StatusWaitingPermission)
	page = waitFor(events.StatusWaitingPermission)
	for range 60 {
		if page.PendingMore > 0 {
			break
		}
		page = waitFor(events.StatusWaitingPermission)
	}
	page = everything("with twelve requests waiting")
	if len(page.Pending) != events.MaxPending || page.PendingMore != 12-events.MaxPending {
		t.Errorf("pending: %d listed, %d more; want %d and %d", len(page.Pending), page.PendingMore, events.MaxPending, 12-events.MaxPending)
	}
	call("cancel_turn", "cancel_turn", ids)
	waitFor(events.StatusIdle)

	// A 95 kB error, returned by a waiting send_message.
	res := call("send_message with a 95 kB error", "send_message", with("message", "fail-big 95000", "wait_seconds", 30))
	var turn manager.TurnResult
	decode(t, res, &turn)
	if !turn.Done || turn.Error == "" || len(turn.Error) > 3*events.EventLimits.Error {
		t.Errorf("turn with a 95 kB error: done=%v, error of %d bytes", turn.Done, len(turn.Error))
	}
	everything("after a 95 kB error")
	t.Logf("hostile agent: the largest result was %d bytes (%.0f%% of the %d-byte budget)", largest, 100*float64(largest)/float64(hostOutputBytes), hostOutputBytes)
}

// resultBytes is a result's size as a host takes it: its text plus its structured content as JSON
// (without HTML escaping, as a JavaScript host writes it), for error results too.
func resultBytes(t *testing.T, res *mcp.CallToolResult) int {
	t.Helper()
	n := len(testkit.Text(res))
	if res.StructuredContent != nil {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res.StructuredContent); err != nil {
			t.Fatal(err)
		}
		n += len(strings.TrimSuffix(b.String(), "\n"))
	}
	return n
}
