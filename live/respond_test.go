package live

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestRespondPermission: a permission request makes the session waiting_permission; a wrong option or
// request id is a one-line error; the answer reaches the agent with the request's own id (a number stays a
// number) and the turn goes on.
func TestRespondPermission(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		turn.ToolCall("call-1", "run ls")
		answer, ok := turn.RequestPermission(7, "call-1", "run ls")
		if !ok {
			return
		}
		turn.Say("answer " + string(answer))
	}}
	worldTest(t, opts, func(t *testing.T, w *world) {
		ctx := t.Context()
		l := w.open(t, "perm")
		res, err := l.Send(ctx, "list", 10*time.Second, nil)
		if err != nil || res.Status != events.StatusWaitingPermission || res.Done {
			t.Fatalf("send: %+v, %v; want waiting_permission", res, err)
		}
		page, err := l.Page(PageRequest{Cursor: res.Cursor})
		if err != nil || len(page.Pending) != 1 || page.Pending[0].Permission.RequestID != "7" {
			t.Fatalf("pending: %+v, %v; want request 7", page.Pending, err)
		}
		for _, bad := range []struct{ id, option, want string }{
			{"7", "sudo", `option "sudo" is not offered for request "7": use one of [allow, always, reject] or cancelled`},
			{"8", "allow", `no pending permission request "8"`},
		} {
			_, err := l.Respond(ctx, bad.id, bad.option)
			if !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("respond %s/%s: %v; want one line with %q", bad.id, bad.option, err, bad.want)
			}
		}
		if _, err := l.Respond(ctx, "7", "allow"); err != nil {
			t.Fatalf("respond: %v", err)
		}
		// The logged answer carries the request's id as the agent sent it: the number 7, not the string "7".
		var ids []string
		for _, r := range logged(t, l, "out") {
			var env acp.Envelope
			if json.Unmarshal(r.Env, &env) == nil && env.IsResponse() {
				ids = append(ids, string(env.ID))
			}
		}
		if len(ids) != 1 || ids[0] != "7" {
			t.Errorf("answers logged with ids %q, want one with the JSON number 7", ids)
		}
		evs, page := readTurn(t, l, res.Cursor)
		if got, want := texts(evs), `answer {"outcome":{"outcome":"selected","optionId":"allow"}}`; got != want {
			t.Errorf("the agent got %q, want %q", got, want)
		}
		if page.Status != events.StatusIdle || len(page.Pending) != 0 {
			t.Errorf("after the answer: %s, pending %v", page.Status, page.Pending)
		}
		if _, err := l.Respond(ctx, "7", "allow"); !errors.Is(err, sandbox.ErrInvalid) {
			t.Errorf("answering twice: %v, want an invalid error", err)
		}
	})
}
