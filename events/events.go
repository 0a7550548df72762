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
	Seq        int64             `json:"seq"`
	FirstSeq   int64             `json:"first_seq,omitempty"`
	Time       time.Time         `json:"time"`
	Kind       string            `json:"kind"`
	Turn       string            `json:"turn,omitempty"`
	Text       string            `json:"text,omitempty"`
	ToolCall   *ToolCall         `json:"tool_call,omitempty"`
	Plan       []PlanEntry       `json:"plan,omitempty"`
	Commands   []Command         `json:"commands,omitempty"`
	Config     []ConfigValue     `json:"config,omitempty"`
	Permission *Permission       `json:"permission,omitempty"`
	StopReason string            `json:"stop_reason,omitempty"`
	Error      string            `json:"error,omitempty"`
	ExitCode   *int              `json:"exit_code,omitempty"`
	Usage      *Usage            `json:"usage,omitempty"`
	Budget     *BudgetHit        `json:"budget,omitempty"`
	Truncated  bool              `json:"truncated,omitempty"`
	Raw        []json.RawMessage `json:"raw,omitempty"`
}

// ToolCall is an agent's tool call as ACP reports it.
type ToolCall struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Status string `json:"status,omitempty"`
	Output string `json:"output,omitempty"`
	// What real adapters report beside text (ACP ToolCallContent and ToolCallLocation).
	Diffs     []Diff     `json:"diffs,omitempty"`
	Terminals []string   `json:"terminals,omitempty"`
	Locations []Location `json:"locations,omitempty"`
}

// Diff summarises one file change of a tool call, from ACP's {type: diff, path, oldText, newText}.
// oldText and newText may be the whole file or only the replaced part (Claude Code's Edit sends the
// replaced string), so the counts are of the lines that differ between the two texts.
type Diff struct {
	Path    string `json:"path"`
	NewFile bool   `json:"new_file,omitempty"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Diff    string `json:"diff,omitempty"`
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
	Hint        string `json:"hint,omitempty"`
}

// ConfigValue is one of the agent's session settings (ACP config_option_update) and its current value.
type ConfigValue struct {
	ID       string `json:"id"`
	Category string `json:"category,omitempty"`
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
	RequestID string   `json:"request_id"`
	Options   []Option `json:"options,omitempty"`
	Outcome   string   `json:"outcome,omitempty"`
}

// Option is one answer the agent offers for a permission request.
type Option struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty"`
}
