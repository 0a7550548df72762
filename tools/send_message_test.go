package tools

import (
	"context"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// cutTextService answers send_message with a finished turn whose text lost its start to the bound.
type cutTextService struct{ fakeService }

func (*cutTextService) SendMessage(_ context.Context, r manager.SendRequest) (manager.TurnResult, error) {
	return manager.TurnResult{Sandbox: r.Sandbox, Session: r.Session, TurnID: "turn-1", Status: "idle", Done: true,
		StopReason: "end_turn", FinalText: "the end", FinalCut: 1234}, nil
}

// TestSendMessageSaysWhereCutTextIs: the manager reports how much of a long final text it cut; the tool
// says so where the text starts, in the result's text and its structured final_text alike.
func TestSendMessageSaysWhereCutTextIs(t *testing.T) {
	res := call(t, byName(t, &cutTextService{})["send_message"], map[string]any{"sandbox": "box", "session": "s1", "message": "go", "wait_seconds": 5})
	const want = "[… 1234 earlier bytes; read them with get_events] the end"
	if got := resultText(res); res.IsError || !strings.Contains(got, "Agent: "+want) {
		t.Errorf("text %q, want it to end with %q", got, want)
	}
	if out, ok := res.StructuredContent.(manager.TurnResult); !ok || out.FinalText != want {
		t.Errorf("structured content %+v, want final_text %q", res.StructuredContent, want)
	}
}
