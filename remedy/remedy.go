// Package remedy names the next step a failure asks for, as a domain value that the tools package words
// with its tools' names (tools/remedy.go), so that no package below tools names a tool.
package remedy

import (
	"errors"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Step is the next step a failure asks for, as a domain value. The domain says what went wrong (and any
// step of its own that needs no tool: "run git init and commit there") and which step helps; whoever shows
// the error to someone who can take the step words it: the tools package, with the names of its tools and
// arguments (tools/remedy.go), so that no package below it names a tool. The remedy adds nothing to the
// error's text, as a sandbox.Kind does not.
//
// Most remedies are the step itself, worded after the whole line ("unknown sandbox "box": create it with
// create_sandbox first"). Those marked "alternative" below offer another way out than the step the
// message ends with, and are worded as its continuation ("…: commit a baseline first, or pass
// isolation=direct"): use them only after a message that ends with a step.
type Step int

// The remedies. The zero Step is none. Each must have its wording in tools/remedy.go
// (TestRemedyWording checks every one).
const (
	_                   Step = iota
	FollowTurn               // a turn is running: read its events, answer its permission requests, or cancel it
	SendAfterTurn            // another turn holds the session: follow that turn, then send the message again
	CreateSandbox            // no such sandbox: create it first
	CreateSession            // no such session: create it first
	NewSession               // the session ended or failed for good: open a new one
	RecreateSandbox          // the sandbox was removed behind our back: destroy its record, then create it again
	ListSessions             // no such session to start from: the list of sessions shows the ones there are
	ListContinuable          // no such session to continue: the list of sessions shows the ones that can be
	KeepSending              // the session is still usable: send it messages rather than continue it
	SendContext              // the session is open without its context: send that context as a message
	LandOrDiscard            // a clone holds work not landed: land it, or destroy the sandbox discarding it
	LandDiscardOrRename      // the sandbox's name still holds unlanded work: land it, discard it, or pick another name
	SeeDiff                  // the work is in the user's folder already: look at the diff
	PageCursor               // a cursor outside the log: start at 0 or at the cursor a page returned
	ReadPending              // no such permission request: read the session's events for the pending ones
	MCPPerSession            // gateway MCP servers on a backend without a gateway: give the servers per session
	DirectIsolation          // alternative: the sandbox can work in the user's folder itself instead of a clone
	IncludeUncommitted       // only uncommitted work to land: land it with the uncommitted changes included
	numRemedies
)

// All lists every remedy, for the tests that check each one is worded.
func All() []Step {
	rs := make([]Step, 0, numRemedies-1)
	for r := Step(1); r < numRemedies; r++ {
		rs = append(rs, r)
	}
	return rs
}

// remedyError is an error with a remedy: its text, Is and As are its cause's.
type remedyError struct {
	err    error
	remedy Step
}

// Errorf is sandbox.Errorf with a remedy: an error of kind k (zero for none) whose text is exactly the formatted
// message and whose next step is r (Of).
func Errorf(k sandbox.Kind, r Step, format string, args ...any) error {
	return &remedyError{err: sandbox.Errorf(k, format, args...), remedy: r}
}

// With gives err the remedy r, leaving its text, kind and causes as they are; nil stays nil.
func With(r Step, err error) error {
	if err == nil {
		return nil
	}
	return &remedyError{err: err, remedy: r}
}

// Of returns the remedy of the outermost error in err's chain that has one, or zero: a caller that
// wraps an error with a remedy of its own knows better than the error it wraps.
func Of(err error) Step {
	var re *remedyError
	if errors.As(err, &re) {
		return re.remedy
	}
	return 0
}

func (e *remedyError) Error() string { return e.err.Error() }

// Unwrap returns the error the remedy was given to, through which errors.Is and errors.As reach its kind
// and causes.
func (e *remedyError) Unwrap() error { return e.err }
