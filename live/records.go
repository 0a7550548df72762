package live

import (
	"encoding/json"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
)

// The records we write to a session's log ourselves, in the agent's direction ("in"): no agent sent them,
// but they read like its answers, so a turn's state and get_events treat them alike.

// noteEnvelope is an error response of ours, which get_events shows as an error event and which changes
// no turn's state (its id is not a turn's).
func noteEnvelope(id, msg string) []byte { return errorEnvelope(id, -32001, msg) }

// errorEnvelope is an error response we write ourselves under id: with a turn's id it ends that turn.
func errorEnvelope(id string, code int, msg string) []byte {
	b, _ := json.Marshal(acp.Response{ID: acp.StringID(id), Error: &acp.RPCError{Code: code, Message: msg}})
	return b
}

// localCancel is the response we log for a turn the agent did not end after session/cancel: cancelled,
// with why in _meta, so the session can take the next turn.
func localCancel(turn, why string) []byte {
	b, _ := json.Marshal(acp.Response{ID: acp.StringID(turn), Result: acp.StopResult{StopReason: "cancelled"},
		Meta: map[string]any{"sandbox-mcp/local": why}})
	return b
}
