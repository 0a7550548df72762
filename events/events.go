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
	KindCommands           = "available_commands"
	KindConfigChange       = "config_change"
	KindSessionInfo        = "session_info"
)

// Kinds lists every kind, for the schema's enum.
var Kinds = []string{KindUserMessage, KindAgentMessage, KindThought, KindToolCall, KindToolCallUpdate, KindPlan,
	KindPermissionRequest, KindPermissionResponse, KindCancel, KindTurnEnd, KindModeChange, KindError, KindAgentExit,
	KindUsage, KindContinued, KindCommands, KindConfigChange, KindSessionInfo}

// Event is one normalised event.
type Event struct {
	Seq        int64             `json:"seq" jsonschema_description:"Log position of this event (of its last chunk when merged); pass it as cursor to read what follows."`
	FirstSeq   int64             `json:"first_seq,omitempty" jsonschema_description:"For merged text: the log position of the first chunk."`
	Time       time.Time         `json:"time" jsonschema_description:"When the server recorded it."`
	Kind       string            `json:"kind" jsonschema:"enum=user_message,enum=agent_message,enum=thought,enum=tool_call,enum=tool_call_update,enum=plan,enum=permission_request,enum=permission_response,enum=cancel_requested,enum=turn_end,enum=mode_change,enum=error,enum=agent_exit,enum=usage,enum=session_continued,enum=available_commands,enum=config_change,enum=session_info" jsonschema_description:"What happened."`
	Turn       string            `json:"turn,omitempty" jsonschema_description:"Turn id, on user_message and turn_end."`
	Text       string            `json:"text,omitempty" jsonschema_description:"Message, thought or mode text (chunks merged); for session_info the session's title."`
	ToolCall   *ToolCall         `json:"tool_call,omitempty" jsonschema_description:"The tool call, for tool_call, tool_call_update and permission_request."`
	Plan       []PlanEntry       `json:"plan,omitempty" jsonschema_description:"The agent's plan entries."`
	Commands   []Command         `json:"commands,omitempty" jsonschema_description:"For available_commands: the slash commands the agent accepts in a message."`
	Config     []ConfigValue     `json:"config,omitempty" jsonschema_description:"For config_change: the agent's session settings (mode, model, …) and their current values."`
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
	// What real adapters report beside text (ACP ToolCallContent and ToolCallLocation).
	Diffs     []Diff     `json:"diffs,omitempty" jsonschema_description:"File changes the tool call makes or made: path, line counts and the changed lines (clipped)."`
	Terminals []string   `json:"terminals,omitempty" jsonschema_description:"Ids of agent terminals showing the tool call's output."`
	Locations []Location `json:"locations,omitempty" jsonschema_description:"Files (and lines) the tool call works on."`
}

// Diff summarises one file change of a tool call, from ACP's {type: diff, path, oldText, newText}.
// oldText and newText may be the whole file or only the replaced part (Claude Code's Edit sends the
// replaced string), so the counts are of the lines that differ between the two texts.
type Diff struct {
	Path    string `json:"path"`
	NewFile bool   `json:"new_file,omitempty" jsonschema_description:"True when there was no old text: the file is created."`
	Added   int    `json:"added" jsonschema_description:"Lines added."`
	Removed int    `json:"removed" jsonschema_description:"Lines removed."`
	Diff    string `json:"diff,omitempty" jsonschema_description:"The changed lines, each starting with - (removed), + (added) or a space (unchanged context); clipped."`
}

// Location is a file a tool call works on, and the line when known.
type Location struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
}

// Command is a slash command the agent offers (ACP available_commands_update).
type Command struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Hint        string `json:"hint,omitempty" jsonschema_description:"What to write after the command, when it takes input."`
}

// ConfigValue is one of the agent's session settings (ACP config_option_update) and its current value.
type ConfigValue struct {
	ID       string `json:"id"`
	Category string `json:"category,omitempty" jsonschema_description:"mode, model, thought_level, … as the agent labels it."`
	Value    string `json:"value"`
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
