package events

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

// MetaContinued is the _meta key of the session/load or session/new request we log when a session is
// continued in a new agent process; its value says how ("session/load" or "summary").
const MetaContinued = "sandbox-mcp/continued"

// Normalize maps log records to events, in order. Consecutive agent_message (and thought) chunks merge into
// one event carrying the seq of their last chunk, so a cursor never splits a record. Records that carry
// nothing for a reader (responses to initialize or session/new, command-list updates, our own
// session/new) produce no event; they stay in the log. When raw is true each event carries its envelopes.
func Normalize(recs []eventlog.Record, raw bool) []Event {
	var out []Event
	for ev := range NormalizeSeq(recs, raw) {
		out = append(out, ev)
	}
	return out
}

// NormalizeSeq yields Normalize's events one by one, each complete (its run of chunks merged) when it is
// yielded: a caller that stops early (a page that is full) does not pay for decoding the records after
// the last event it takes.
func NormalizeSeq(recs []eventlog.Record, raw bool) iter.Seq[Event] {
	return func(yield func(Event) bool) {
		// A run of chunks is joined once, at its end: appending chunk by chunk to a string would copy the
		// text so far for every chunk (3 s for 40k chunks, measured).
		var run strings.Builder
		var cur Event // the event being built; valid when have
		have, inRun := false, false
		finish := func() Event {
			if inRun {
				cur.Text = run.String()
				run.Reset()
				inRun = false
			}
			return cur
		}
		for _, r := range recs {
			ev, ok := normalizeOne(r)
			if !ok {
				continue
			}
			ev.Seq, ev.Time = r.Seq, r.Time
			if raw {
				ev.Raw = []json.RawMessage{r.Env}
			}
			if have && mergeable(cur, ev) {
				if !inRun {
					run.WriteString(cur.Text)
					inRun = true
				}
				run.WriteString(ev.Text)
				ev.Text = "" // joined in finish; Merge then only moves seq and raw
				Merge(&cur, ev)
				continue
			}
			if have && !yield(finish()) {
				return
			}
			cur, have = ev, true
		}
		if have {
			yield(finish())
		}
	}
}

// Merge appends next to prev when both are chunks of the same text run (agent message or thought),
// and reports whether it did.
func Merge(prev *Event, next Event) bool {
	if !mergeable(*prev, next) {
		return false
	}
	if prev.FirstSeq == 0 {
		prev.FirstSeq = prev.Seq
	}
	if next.FirstSeq != 0 && next.FirstSeq < prev.FirstSeq {
		prev.FirstSeq = next.FirstSeq
	}
	prev.Seq, prev.Text = next.Seq, prev.Text+next.Text
	prev.Raw = append(prev.Raw, next.Raw...)
	return true
}

func mergeable(prev, next Event) bool {
	return prev.Kind == next.Kind && (next.Kind == KindAgentMessage || next.Kind == KindThought)
}

// promptParams, updateParams and permissionParams are the ACP shapes we read (ACP SDK 0.14).
type promptParams struct {
	Prompt []contentBlock `json:"prompt"`
}

type contentBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// contentItem is a tool call's content item, as far as its text goes.
type contentItem struct {
	Content contentBlock `json:"content"`
}

type updateParams struct {
	Update struct {
		SessionUpdate string          `json:"sessionUpdate"`
		Content       json.RawMessage `json:"content"`
		ToolCallID    string          `json:"toolCallId"`
		Title         string          `json:"title"`
		Kind          string          `json:"kind"`
		Status        string          `json:"status"`
		Entries       []PlanEntry     `json:"entries"`
		CurrentModeID string          `json:"currentModeId"`
		// Decoded on their own (extras.go), so a malformed one costs only itself.
		Locations         json.RawMessage `json:"locations"`
		AvailableCommands json.RawMessage `json:"availableCommands"`
		ConfigOptions     json.RawMessage `json:"configOptions"`
	} `json:"update"`
}

type permissionParams struct {
	ToolCall struct {
		ToolCallID string          `json:"toolCallId"`
		Title      string          `json:"title"`
		Kind       string          `json:"kind"`
		Status     string          `json:"status"`
		Content    json.RawMessage `json:"content"`
		Locations  json.RawMessage `json:"locations"`
	} `json:"toolCall"`
	Options []struct {
		OptionID string `json:"optionId"`
		Name     string `json:"name"`
		Kind     string `json:"kind"`
	} `json:"options"`
}

type permissionResult struct {
	Outcome struct {
		Outcome  string `json:"outcome"`
		OptionID string `json:"optionId"`
	} `json:"outcome"`
}

// normalizeOne maps one record to its event, if it makes one.
func normalizeOne(r eventlog.Record) (Event, bool) {
	var env acp.Envelope
	if !decodeEnvelope(r.Env, &env) {
		return Event{}, false
	}
	if r.Dir == "out" {
		return normalizeOut(&env)
	}
	switch {
	case env.Method == acp.MethodUpdate:
		return normalizeUpdate(env.Params)
	case env.Method == acp.MethodPermission && env.IsRequest():
		var p permissionParams
		_ = json.Unmarshal(env.Params, &p)
		perm := &Permission{RequestID: acp.IDString(env.ID)}
		for _, o := range p.Options {
			perm.Options = append(perm.Options, Option{ID: o.OptionID, Name: o.Name, Kind: o.Kind})
		}
		tc := &ToolCall{ID: p.ToolCall.ToolCallID, Title: p.ToolCall.Title, Kind: p.ToolCall.Kind, Status: p.ToolCall.Status}
		// Real adapters show what the tool would change (Claude Code: the diff of a Write or an Edit).
		tc.Diffs, tc.Terminals = toolContent(p.ToolCall.Content)
		tc.Locations = locations(p.ToolCall.Locations)
		return Event{Kind: KindPermissionRequest, Permission: perm, ToolCall: tc}, true
	case env.Method == acp.MethodAgentExit:
		var p struct {
			Code    *int `json:"code"`
			Success bool `json:"success"`
		}
		_ = json.Unmarshal(env.Params, &p)
		ev := Event{Kind: KindAgentExit, ExitCode: p.Code}
		if !p.Success {
			ev.Error = "the agent process exited unsuccessfully"
		}
		return ev, true
	case env.IsResponse() && isTurnID(acp.IDString(env.ID)):
		ev := Event{Kind: KindTurnEnd, Turn: acp.IDString(env.ID)}
		if env.Error != nil {
			ev.Error = env.Error.Error()
			return ev, true
		}
		ev.StopReason, ev.Usage = turnResult(env.Result)
		return ev, true
	case env.IsResponse() && env.Error != nil:
		return Event{Kind: KindError, Error: env.Error.Error()}, true
	}
	return Event{}, false
}

// normalizeOut maps what we sent: the user's prompt, permission answers and cancel requests.
func normalizeOut(env *acp.Envelope) (Event, bool) {
	switch {
	case env.Method == acp.MethodPrompt:
		var p promptParams
		_ = json.Unmarshal(env.Params, &p)
		var text []string
		for _, b := range p.Prompt {
			if b.Type == "text" {
				text = append(text, b.Text)
			}
		}
		return Event{Kind: KindUserMessage, Turn: acp.IDString(env.ID), Text: strings.Join(text, "\n")}, true
	case env.Method == acp.MethodCancel:
		return Event{Kind: KindCancel, Budget: budgetFromCancel(env.Params)}, true
	case env.Method == acp.MethodLoad || env.Method == acp.MethodNew:
		var p struct {
			Meta map[string]string `json:"_meta"`
		}
		if json.Unmarshal(env.Params, &p) != nil || p.Meta[MetaContinued] == "" {
			return Event{}, false
		}
		return Event{Kind: KindContinued, Text: p.Meta[MetaContinued]}, true
	case env.IsResponse():
		var res permissionResult
		if json.Unmarshal(env.Result, &res) != nil || res.Outcome.Outcome == "" {
			return Event{}, false
		}
		outcome := res.Outcome.OptionID
		if res.Outcome.Outcome == "cancelled" {
			outcome = "cancelled"
		}
		return Event{Kind: KindPermissionResponse, Permission: &Permission{RequestID: acp.IDString(env.ID), Outcome: outcome}}, true
	}
	return Event{}, false
}

func normalizeUpdate(params json.RawMessage) (Event, bool) {
	var p updateParams
	if !decodeUpdateParams(params, &p) {
		return Event{}, false
	}
	u := p.Update
	switch u.SessionUpdate {
	case "agent_message_chunk":
		return Event{Kind: KindAgentMessage, Text: contentText(u.Content)}, true
	case "agent_thought_chunk":
		return Event{Kind: KindThought, Text: contentText(u.Content)}, true
	case "tool_call", "tool_call_update":
		kind := KindToolCall
		if u.SessionUpdate == "tool_call_update" {
			kind = KindToolCallUpdate
		}
		tc := &ToolCall{ID: u.ToolCallID, Title: u.Title, Kind: u.Kind, Status: u.Status, Output: contentText(u.Content)}
		tc.Diffs, tc.Terminals = toolContent(u.Content)
		tc.Locations = locations(u.Locations)
		return Event{Kind: kind, ToolCall: tc}, true
	case "plan":
		return Event{Kind: KindPlan, Plan: u.Entries}, true
	case "current_mode_update":
		return Event{Kind: KindModeChange, Text: u.CurrentModeID}, true
	case "usage_update":
		var raw struct {
			Update json.RawMessage `json:"update"`
		}
		_ = json.Unmarshal(params, &raw)
		return Event{Kind: KindUsage, Usage: usageUpdateFrom(raw.Update)}, true
	case "available_commands_update":
		return Event{Kind: KindCommands, Commands: commands(u.AvailableCommands)}, true
	case "config_option_update":
		return Event{Kind: KindConfigChange, Config: configValues(u.ConfigOptions)}, true
	case "session_info_update":
		if u.Title == "" {
			return Event{}, false // only updatedAt (or a cleared title): nothing for a reader
		}
		return Event{Kind: KindSessionInfo, Text: u.Title}, true
	}
	// user_message_chunk: we log the prompt we sent ourselves (agents echo it only sometimes).
	return Event{}, false
}

// contentText extracts text from an ACP content block, or from a list of tool-call content items
// ({type:"content", content:{type:"text", text}}).
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b contentBlock
	if decodeContentBlock(raw, &b) {
		return b.Text
	}
	var items []contentItem
	if decodeContentItems(raw, &items) {
		var parts []string
		for _, it := range items {
			if it.Content.Text != "" {
				parts = append(parts, it.Content.Text)
			}
		}
		return strings.Join(parts, "\n")
	}
	return ""
}

// TurnID is the JSON-RPC id we give the n-th prompt of a session. Prompt ids are strings with this prefix
// so their responses are told apart from initialize/session/new replies in the stream.
func TurnID(n int) string { return fmt.Sprintf("turn-%d", n) }

func isTurnID(id string) bool { return strings.HasPrefix(id, "turn-") }
