package tools

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestMessage pins the line a failure becomes in a tool result: an error of a kind reads as its message,
// however often it is wrapped, and an error's own words are never cut, even when they are a sentinel's
// text ("invalid request", "sandbox not found") that an older Message stripped wherever it appeared. A
// remedy's wording (remedy.go) ends the line, after whatever wraps the error that carries it.
func TestMessage(t *testing.T) {
	cause := errors.New("exit status 1")
	busy := remedy.Errorf(sandbox.Invalid, remedy.FollowTurn, "session %q is busy with turn %s (%s)", "s1", "turn-2", "running")
	tests := []struct {
		name string
		err  error
		is   error // the sentinel errors.Is must still find
		want string
	}{
		{"not found", sandbox.Errorf(sandbox.NotFound, "unknown sandbox %q: create it with create_sandbox first", "box"),
			sandbox.ErrNotFound, `unknown sandbox "box": create it with create_sandbox first`},
		{"exists", sandbox.Errorf(sandbox.Exists, "sandbox %q already exists on backend %s: choose another name", "box", "sbx"),
			sandbox.ErrExists, `sandbox "box" already exists on backend sbx: choose another name`},
		{"invalid", sandbox.Errorf(sandbox.Invalid, "message is empty: say what the agent should do"),
			sandbox.ErrInvalid, "message is empty: say what the agent should do"},
		{"unavailable, with a cause", sandbox.Errorf(sandbox.Unavailable, "sbx check: %w; install sbx", cause),
			sandbox.ErrUnavailable, "sbx check: exit status 1; install sbx"},
		{"unsupported version", sandbox.Errorf(sandbox.UnsupportedVersion, "sandbox-agent %s is too old: install 0.4", "0.1.0"),
			sandbox.ErrUnsupportedVersion, "sandbox-agent 0.1.0 is too old: install 0.4"},
		{"wrapped once", fmt.Errorf("create_session: %w", sandbox.Errorf(sandbox.NotFound, "unknown sandbox %q", "box")),
			sandbox.ErrNotFound, `create_session: unknown sandbox "box"`},
		{"wrapped twice", fmt.Errorf("tool: %w", fmt.Errorf("create_sandbox: %w", sandbox.Errorf(sandbox.Exists, "sbx create box: %w", cause))),
			sandbox.ErrExists, "tool: create_sandbox: sbx create box: exit status 1"},
		{"a kind inside another kind", sandbox.Errorf(sandbox.Unavailable, "sbx check: %w", sandbox.Errorf(sandbox.Unavailable, "sbx is not installed or not on PATH")),
			sandbox.ErrUnavailable, "sbx check: sbx is not installed or not on PATH"},
		{"unlanded work says so", fmt.Errorf("sandbox %q has 1 commit that was not landed: land it or pass discard=true: %w", "box", manager.ErrUnlanded),
			sandbox.ErrInvalid, `sandbox "box" has 1 commit that was not landed: land it or pass discard=true: unlanded work`},
		{"a sentinel's words in the error's own text stay", sandbox.Errorf(sandbox.Invalid, "agent %q answered: invalid request: the prompt is empty", "claude"),
			sandbox.ErrInvalid, `agent "claude" answered: invalid request: the prompt is empty`},
		{"a CLI's own not-found text stays", sandbox.Errorf(sandbox.NotFound, "sbx rm box: %w", errors.New("ERROR: sandbox not found")),
			sandbox.ErrNotFound, "sbx rm box: ERROR: sandbox not found"},
		{"invalid argument from the system stays", sandbox.Errorf(sandbox.Invalid, "mount source /w: %w", errors.New("invalid argument")),
			sandbox.ErrInvalid, "mount source /w: invalid argument"},
		{"several lines become one", sandbox.Errorf(sandbox.Invalid, "sbx create box: %w", errors.New("ERROR: bad\n  name")),
			sandbox.ErrInvalid, "sbx create box: ERROR: bad name"},
		{"a cancelled call says so", sandbox.Errorf(sandbox.Unavailable, "sbx ls: %w", context.Canceled),
			context.Canceled, "sbx ls: context canceled (the call was cancelled)"},
		{"a remedy is worded with the tools' names", remedy.Errorf(sandbox.NotFound, remedy.CreateSandbox, "unknown sandbox %q", "box"),
			sandbox.ErrNotFound, `unknown sandbox "box": create it with create_sandbox first`},
		{"a wrapped remedy stays at the end of the line", fmt.Errorf("send message to %q: %w", "s1", busy),
			sandbox.ErrInvalid, `send message to "s1": session "s1" is busy with turn turn-2 (running): read it with get_events, answer permissions with respond_permission, or stop it with cancel_turn`},
		{"a remedy given to an error that wraps a cause follows the cause", remedy.With(remedy.LandOrDiscard, fmt.Errorf("sandbox %q has commits that were not landed: %w", "box", manager.ErrUnlanded)),
			manager.ErrUnlanded, `sandbox "box" has commits that were not landed: unlanded work: land the work with land_sandbox (or destroy_sandbox land_to=<branch>), or pass discard=true to throw it away`},
		{"the outermost remedy is the one worded", remedy.With(remedy.SendContext, fmt.Errorf("session %q is open but priming it with the summary failed: %w", "s1", busy)),
			sandbox.ErrInvalid, `session "s1" is open but priming it with the summary failed: session "s1" is busy with turn turn-2 (running): send the context yourself with send_message`},
		{"an alternative continues the message's own step", remedy.Errorf(sandbox.Invalid, remedy.DirectIsolation, "repository %s has no commit yet: commit a baseline first", "/w"),
			sandbox.ErrInvalid, "repository /w has no commit yet: commit a baseline first, or pass isolation=direct"},
		{"a cancelled call with a remedy", remedy.Errorf(sandbox.Invalid, remedy.PageCursor, "cursor %d is beyond the end of the log (%d): %w", 9, 3, context.Canceled),
			context.Canceled, "cursor 9 is beyond the end of the log (3): context canceled: pass 0 or a next_cursor from get_events (the call was cancelled)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.err); got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.is)
			}
		})
	}
}
