package tools

import (
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// remedies words each remedy a domain error can carry (sandbox.Remedy) as the step a model takes with this
// server's tools and arguments. The domain names the step; the words for it live here, with the tools, so
// that renaming a tool or an argument changes this table and nothing below it. Message appends the wording
// to the error's line: "unknown sandbox "box": create it with create_sandbox first". A wording that starts
// with "or " (an alternative remedy, sandbox.Remedy) continues the message's own step after a comma.
var remedies = map[sandbox.Remedy]string{
	sandbox.FollowTurn:          "read it with get_events, answer permissions with respond_permission, or stop it with cancel_turn",
	sandbox.SendAfterTurn:       "follow that turn with get_events, then send the message again",
	sandbox.CreateSandbox:       "create it with create_sandbox first",
	sandbox.CreateSession:       "create it with create_session first",
	sandbox.NewSession:          "open a new one with create_session",
	sandbox.RecreateSandbox:     "call destroy_sandbox to clean up, then create_sandbox",
	sandbox.ListSessions:        "list_sessions shows them",
	sandbox.ListContinuable:     "list_sessions shows the ones that can be continued",
	sandbox.KeepSending:         "keep using it with send_message",
	sandbox.SendContext:         "send the context yourself with send_message",
	sandbox.LandOrDiscard:       "land the work with land_sandbox (or destroy_sandbox land_to=<branch>), or pass discard=true to throw it away",
	sandbox.LandDiscardOrRename: "land it with land_sandbox, discard it with destroy_sandbox discard=true, or choose another name",
	sandbox.SeeDiff:             "see them with get_diff",
	sandbox.PageCursor:          "pass 0 or a next_cursor from get_events",
	sandbox.ReadPending:         "read get_events for current requests",
	sandbox.MCPPerSession:       "leave out sbx_mcp and pass the servers per session with create_session's mcp_servers instead",
	sandbox.DirectIsolation:     "or pass isolation=direct",
	sandbox.IncludeUncommitted:  "pass include_uncommitted=true to land it",
}

// remedyText is err's text followed by the wording of its remedy, if it has one: after a colon, or after a
// comma for an alternative ("or …"), which continues the step the message ends with.
func remedyText(err error) string {
	switch w := remedies[sandbox.RemedyOf(err)]; {
	case strings.HasPrefix(w, "or "):
		return err.Error() + ", " + w
	case w != "":
		return err.Error() + ": " + w
	}
	return err.Error()
}

// wordedError is an error as a host reads it outside a tool result (a failed resource read or prompt):
// its text ends with its remedy's words, as a tool's error line does; errors.Is and errors.As still reach
// the error.
type wordedError struct{ err error }

func (e wordedError) Error() string { return remedyText(e.err) }
func (e wordedError) Unwrap() error { return e.err }

// worded returns err with its remedy worded into its text, or err itself when it has no remedy.
func worded(err error) error {
	if sandbox.RemedyOf(err) == 0 {
		return err
	}
	return wordedError{err}
}
