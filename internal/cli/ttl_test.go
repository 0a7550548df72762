package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestTTLThroughMCP: tool calls through the MCP server are uses that keep a sandbox up; once nobody calls,
// the janitor stops it, get_events tells the model why, and create_session starts it again. The server is
// newServer's, over an in-process client; the janitor is started on its manager here, as Run does with
// --idle-ttl.
func TestTTLThroughMCP(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h, mgr := inProcessServer(t, env, bin)
	ctx := t.Context()

	ws := t.TempDir()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": "ttl-mcp"}, &sb)
	t.Cleanup(func() {
		// Removing the sandbox kills the sandbox-agent the double runs as a local process.
		if _, err := mgr.DestroySandbox(context.Background(), sb.Name); err != nil {
			t.Errorf("destroy: %v", err)
		}
		mgr.Close()
	})
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)

	// Generous next to the polling interval: a loaded CI machine can take a second to answer a call.
	const ttl = 2 * time.Second
	jctx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() { defer close(janitorDone); mgr.RunJanitor(jctx, ttl, 50*time.Millisecond) }()
	stop := func() { stopJanitor(); <-janitorDone }
	t.Cleanup(stop)

	status := func() string { return sandboxStatus(h, sb.Name) } // list_sandboxes names no sandbox: it is not a use
	for start := time.Now(); time.Since(start) < 3*ttl; {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": sb.Name, "session": sess.Name}, &page)
		time.Sleep(100 * time.Millisecond)
	}
	if got := status(); got != "running" {
		t.Fatalf("the sandbox is %s while a client polls it, want running", got)
	}

	deadline := time.Now().Add(10 * time.Second)
	for status() != "stopped" {
		if time.Now().After(deadline) {
			t.Fatal("the idle sandbox was not stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	var page live.Page
	h.OK("get_events", map[string]any{"sandbox": sb.Name, "session": sess.Name}, &page)
	if want := "stopped after " + ttl.String() + " idle (--idle-ttl); create a session to start again"; page.Status != events.StatusEnded || page.LastError != want {
		t.Errorf("get_events after the stop: status %q, last_error %q; want ended, %q", page.Status, page.LastError, want)
	}
	if got := h.Fails("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "hi"}); !strings.Contains(got, "create_session") {
		t.Errorf("send_message to the stopped session: %q, want it to point at create_session", got)
	}

	var again manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &again)
	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": again.Name, "message": "say awake", "wait_seconds": 10}, &turn)
	if !turn.Done || !strings.Contains(turn.FinalText, "awake") {
		t.Errorf("a turn after the restart: %+v", turn)
	}
	if got := status(); got != "running" {
		t.Errorf("after create_session the sandbox is %s, want running", got)
	}
}
