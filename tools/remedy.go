package tools

import (
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/remedy"
)

// remedies words each remedy a domain error can carry (remedy.Step) as the step a model takes with this
// server's tools and arguments. The domain names the step; the words for it live here, with the tools, so
// that renaming a tool or an argument changes this table and nothing below it. Message appends the wording
// to the error's line: "unknown sandbox "box": create it with create_sandbox first". A wording that starts
// with "or " (an alternative remedy, remedy.Step) continues the message's own step after a comma.
var remedies = map[remedy.Step]string{
	remedy.FollowTurn:          "read it with get_events, answer permissions with respond_permission, or stop it with cancel_turn",
	remedy.SendAfterTurn:       "follow that turn with get_events, then send the message again",
	remedy.CreateSandbox:       "create it with create_sandbox first",
	remedy.CreateSession:       "create it with create_session first",
	remedy.NewSession:          "open a new one with create_session",
	remedy.RecreateSandbox:     "call destroy_sandbox to clean up, then create_sandbox",
	remedy.ListSessions:        "list_sessions shows them",
	remedy.ListContinuable:     "list_sessions shows the ones that can be continued",
	remedy.KeepSending:         "keep using it with send_message",
	remedy.SendContext:         "send the context yourself with send_message",
	remedy.LandOrDiscard:       "land the work with land_sandbox (or destroy_sandbox land_to=<branch>), or pass discard=true to throw it away",
	remedy.LandDiscardOrRename: "land it with land_sandbox, discard it with destroy_sandbox discard=true, or choose another name",
	remedy.SeeDiff:             "see them with get_diff",
	remedy.PageCursor:          "pass 0 or a next_cursor from get_events",
	remedy.ReadPending:         "read get_events for current requests",
	remedy.MCPPerSession:       "leave out sbx_mcp and pass the servers per session with create_session's mcp_servers instead",
	remedy.DirectIsolation:     "or pass isolation=direct",
	remedy.IncludeUncommitted:  "pass include_uncommitted=true to land it",
}

// remedyText is err's text followed by the wording of its remedy, if it has one: after a colon, or after a
// comma for an alternative ("or …"), which continues the step the message ends with.
func remedyText(err error) string {
	switch w := remedies[remedy.Of(err)]; {
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
	if remedy.Of(err) == 0 {
		return err
	}
	return wordedError{err}
}
