package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestOversizeEnvelope: one envelope over the server's per-envelope cap (16 MiB by default), sent by the
// agent through the real sandbox-agent, is dropped with an error event that says so, and the stream moves
// on: what follows it arrives and the turn ends. Before, the SSE reader failed on it, reconnected from the
// last stored id, got the same envelope replayed, and so on forever: the session was wedged.
func TestOversizeEnvelope(t *testing.T) {
	env, bin := fakeEnv(t)
	h := startServer(t, sandboxArgs(t, "sbx", bin), env)
	s := newSession(t, h)
	// 17 MiB: sandbox-agent 0.4.2 passes an envelope this big (measured), and it is over the default cap.
	turn := s.send(t, "say before; big 17825792; say after", 0)
	var got []events.Event
	cursor := turn.Cursor
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page manager.EventsPage
		s.h.ok("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
		got, cursor = append(got, page.Events...), page.NextCursor
		if page.Status == events.StatusIdle && !page.More {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the turn did not end within 60 s (status %s): the session is wedged on the oversize envelope; events: %v", page.Status, summarize(got))
		}
	}
	var dropped string
	for _, ev := range got {
		if ev.Kind == events.KindError && strings.Contains(ev.Error, "dropped") {
			dropped = ev.Error
		}
	}
	if dropped == "" || !strings.Contains(dropped, "17825") {
		t.Errorf("no error event naming the dropped envelope and its size; events: %v", summarize(got))
	}
	if text := agentText(got); text != "beforeafter" {
		t.Errorf("agent text = %.200q, want the text around the dropped envelope, %q", text, "beforeafter")
	}
	t.Logf("error event: %s", dropped)
}
