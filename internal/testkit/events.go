package testkit

import (
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
)

// WaitStatus reads get_events from cursor, appending the events to got, until the session has status want
// with nothing more to read; it fails t after within. Waiting for a permission request, a turn that ended
// without one fails at once: it cannot ask any more.
func WaitStatus(t *testing.T, h *Harness, sandbox, session string, cursor int64, got *[]events.Event, want string, within time.Duration) live.Page {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": sandbox, "session": session, "cursor": cursor}, &page)
		*got = append(*got, page.Events...)
		cursor = page.NextCursor
		if page.Status == want && !page.More {
			return page
		}
		if want == events.StatusWaitingPermission && page.Status == events.StatusIdle && !page.More {
			t.Fatalf("the turn ended without asking for permission: %v", Summarize(*got))
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s after %v, want %s; events so far: %v", page.Status, within, want, Summarize(*got))
		}
		if !page.More {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Summarize renders events as "kind detail" lines for comparison and failure messages. Text read while the
// agent is still streaming can arrive split over two pages (a message's first chunks, then the rest):
// consecutive agent_message events are joined, as a reader of the stream would.
func Summarize(evs []events.Event) []string {
	var out []string
	for i, ev := range evs {
		if i > 0 && ev.Kind == events.KindAgentMessage && evs[i-1].Kind == events.KindAgentMessage {
			out[len(out)-1] += ev.Text
			continue
		}
		s := ev.Kind
		switch {
		case ev.Kind == events.KindPermissionRequest:
			s += " " + ev.ToolCall.Title
		case ev.Kind == events.KindPermissionResponse:
			s += " " + ev.Permission.Outcome
		case ev.ToolCall != nil && ev.Kind == events.KindToolCall:
			s += " " + ev.ToolCall.Title + " " + ev.ToolCall.Status
		case ev.ToolCall != nil:
			s += " " + ev.ToolCall.Status
		case ev.Kind == events.KindTurnEnd:
			s += " " + ev.StopReason + ev.Error
		default:
			s += " " + ev.Text + ev.Error
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}
