// Package events turns a session's raw ACP traffic (the durable log of JSON-RPC envelopes) into what a
// model reads: a short list of typed events with merged text, and the session's status.
//
// Both are pure functions of the log, so they survive restarts, can be fuzzed, and never depend on what
// happened to be in memory.
package events

import (
	"encoding/json"
	"time"
)

// Kinds of normalised events.
const (
	KindUserMessage        = "user_message"
	KindAgentMessage       = "agent_message"
	KindThought            = "thought"
	KindToolCall           = "tool_call"
	KindToolCallUpdate     = "tool_call_update"
	KindPlan               = "plan"
	KindPermissionRequest  = "permission_request"
	KindPermissionResponse = "permission_response"
	KindCancel             = "cancel_requested"
	KindTurnEnd            = "turn_end"
	KindModeChange         = "mode_change"
	KindError              = "error"
	KindAgentExit          = "agent_exit"
	KindUsage              = "usage"
	KindContinued          = "session_continued"
)

// Kinds lists every kind, for the schema's enum.
var Kinds = []string{KindUserMessage, KindAgentMessage, KindThought, KindToolCall, KindToolCallUpdate, KindPlan,
	KindPermissionRequest, KindPermissionResponse, KindCancel, KindTurnEnd, KindModeChange, KindError, KindAgentExit,
	KindUsage, KindContinued}

// Event is one normalised event.
type Event struct {
	Seq        int64             `json:"seq" jsonschema_description:"Log position of this event (of its last chunk when merged); pass it as cursor to read what follows."`
	FirstSeq   int64             `json:"first_seq,omitempty" jsonschema_description:"For merged text: the log position of the first chunk."`
	Time       time.Time         `json:"time" jsonschema_description:"When the server recorded it."`
	Kind       string            `json:"kind" jsonschema:"enum=user_message,enum=agent_message,enum=thought,enum=tool_call,enum=tool_call_update,enum=plan,enum=permission_request,enum=permission_response,enum=cancel_requested,enum=turn_end,enum=mode_change,enum=error,enum=agent_exit,enum=usage,enum=session_continued" jsonschema_description:"What happened."`
	Turn       string            `json:"turn,omitempty" jsonschema_description:"Turn id, on user_message and turn_end."`
	Text       string            `json:"text,omitempty" jsonschema_description:"Message, thought or mode text (chunks merged)."`
	ToolCall   *ToolCall         `json:"tool_call,omitempty" jsonschema_description:"The tool call, for tool_call, tool_call_update and permission_request."`
	Plan       []PlanEntry       `json:"plan,omitempty" jsonschema_description:"The agent's plan entries."`
	Permission *Permission       `json:"permission,omitempty" jsonschema_description:"For permission_request and permission_response."`
	StopReason string            `json:"stop_reason,omitempty" jsonschema_description:"For turn_end: end_turn, max_tokens, max_turn_requests, refusal, cancelled, or budget_exceeded (sandbox-mcp cancelled it at a limit)."`
	Error      string            `json:"error,omitempty" jsonschema_description:"Error message, for error and failed turns."`
	ExitCode   *int              `json:"exit_code,omitempty" jsonschema_description:"For agent_exit: the agent process's exit code."`
	Usage      *Usage            `json:"usage,omitempty" jsonschema_description:"For usage: what the agent reported (context, session cost). For turn_end: the turn's totals."`
	Budget     *BudgetHit        `json:"budget,omitempty" jsonschema_description:"For cancel_requested and turn_end of a turn stopped by a budget: which limit was crossed."`
	Truncated  bool              `json:"truncated,omitempty" jsonschema_description:"True when this event's text was shortened to keep the output bounded."`
	Raw        []json.RawMessage `json:"raw,omitempty" jsonschema_description:"The ACP envelopes behind this event (only with raw=true)."`
}

// ToolCall is an agent's tool call as ACP reports it.
type ToolCall struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Status string `json:"status,omitempty"`
	Output string `json:"output,omitempty" jsonschema_description:"Text content reported with the update, if any."`
}

// PlanEntry is one step of an agent's plan.
type PlanEntry struct {
	Content  string `json:"content"`
	Priority string `json:"priority,omitempty"`
	Status   string `json:"status,omitempty"`
}

// Permission is a permission request from the agent (or our answer to one).
type Permission struct {
	RequestID string   `json:"request_id" jsonschema_description:"Pass it to respond_permission."`
	Options   []Option `json:"options,omitempty"`
	Outcome   string   `json:"outcome,omitempty" jsonschema_description:"For permission_response: the option id chosen, or cancelled."`
}

// Option is one answer the agent offers for a permission request.
type Option struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty" jsonschema_description:"allow_once, allow_always, reject_once or reject_always."`
}
