package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// in builds a record the agent sent; records sets its seq.
func in(env string) eventlog.Record {
	return eventlog.Record{Dir: eventlog.DirIn, Env: json.RawMessage(env)}
}

// out builds a record we sent.
func out(env string) eventlog.Record {
	return eventlog.Record{Dir: eventlog.DirOut, Env: json.RawMessage(env)}
}

// records numbers recs 1, 2, 3… one second apart, as eventlog.Append would.
func records(recs ...eventlog.Record) []eventlog.Record {
	for i := range recs {
		recs[i].Seq = int64(i + 1)
		recs[i].Time = t0.Add(time.Duration(i) * time.Second)
		if recs[i].Dir == eventlog.DirIn {
			recs[i].SSEID = int64(100 + i)
		}
	}
	return recs
}

// Envelopes as sandbox-agent 0.4.2 streams them from a scripted agent (docs/sandbox-agent.md §6.1, §7),
// and as we send them.
func update(u string) string {
	return `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":` + u + `}}`
}

func chunk(text string) string {
	return update(fmt.Sprintf(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":%q}}`, text))
}

func thoughtChunk(text string) string {
	return update(fmt.Sprintf(`{"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":%q}}`, text))
}

func prompt(id, text string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"method":"session/prompt","params":{"sessionId":"s","prompt":[{"type":"text","text":%q}]}}`, id, text)
}

func turnEnd(id, stopReason string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"result":{"stopReason":%q}}`, id, stopReason)
}

// permRequest is a session/request_permission with the given raw id (`"perm-1"` or `7`).
func permRequest(rawID string) string {
	return `{"jsonrpc":"2.0","id":` + rawID + `,"method":"session/request_permission","params":{"sessionId":"s",` +
		`"toolCall":{"toolCallId":"tc-1","title":"Write hello.txt","kind":"edit","status":"pending"},` +
		`"options":[{"optionId":"allow","name":"Allow","kind":"allow_once"},{"optionId":"always","name":"Always allow","kind":"allow_always"},{"optionId":"reject","name":"Reject","kind":"reject_once"}]}}`
}

func permAnswer(rawID, optionID string) string {
	return `{"jsonrpc":"2.0","id":` + rawID + `,"result":{"outcome":{"outcome":"selected","optionId":"` + optionID + `"}}}`
}

const (
	initOut       = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}`
	initResult    = `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":1,"agentCapabilities":{"loadSession":true},"authMethods":[],"agentInfo":{"name":"scripted","version":"1.0"}}}`
	newOut        = `{"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":"/ws","mcpServers":[]}}`
	newResult     = `{"jsonrpc":"2.0","id":1,"result":{"sessionId":"s","modes":{"currentModeId":"default","availableModes":[]}}}`
	cancelOut     = `{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s"}}`
	exitOK        = `{"jsonrpc":"2.0","method":"_adapter/agent_exited","params":{"code":0,"success":true}}`
	exitFailed    = `{"jsonrpc":"2.0","method":"_adapter/agent_exited","params":{"code":1,"success":false}}`
	toolCall      = `{"sessionUpdate":"tool_call","toolCallId":"tc-1","title":"Write hello.txt","kind":"edit","status":"pending"}`
	usageUpdate   = `{"sessionUpdate":"usage_update","used":1200,"size":200000}`
	commandUpdate = `{"sessionUpdate":"available_commands_update","availableCommands":[{"name":"init","description":"x"}]}`
)

func intp(n int) *int { return &n }

// withoutTime drops Time and Raw, which TestNormalize does not compare.
func withoutTime(evs []Event) []Event {
	out := make([]Event, len(evs))
	for i, ev := range evs {
		ev.Time, ev.Raw = time.Time{}, nil
		out[i] = ev
	}
	return out
}

func TestNormalize(t *testing.T) {
	tc := func(status, output string) *ToolCall {
		return &ToolCall{ID: "tc-1", Title: "Write hello.txt", Kind: "edit", Status: status, Output: output}
	}
	options := []Option{{ID: "allow", Name: "Allow", Kind: "allow_once"}, {ID: "always", Name: "Always allow", Kind: "allow_always"},
		{ID: "reject", Name: "Reject", Kind: "reject_once"}}
	tests := []struct {
		name string
		recs []eventlog.Record
		want []Event
	}{
		{
			name: "consecutive message chunks merge with the last seq and the first seq",
			recs: records(in(chunk("Hel")), in(chunk("lo")), in(chunk(" world"))),
			want: []Event{{Seq: 3, FirstSeq: 1, Kind: KindAgentMessage, Text: "Hello world"}},
		},
		{
			name: "a single chunk has no first seq",
			recs: records(in(chunk("Hi"))),
			want: []Event{{Seq: 1, Kind: KindAgentMessage, Text: "Hi"}},
		},
		{
			name: "thought chunks merge separately from message chunks",
			recs: records(in(thoughtChunk("Let me ")), in(thoughtChunk("think")), in(chunk("Do")), in(chunk("ne")), in(thoughtChunk("Hmm"))),
			want: []Event{
				{Seq: 2, FirstSeq: 1, Kind: KindThought, Text: "Let me think"},
				{Seq: 4, FirstSeq: 3, Kind: KindAgentMessage, Text: "Done"},
				{Seq: 5, Kind: KindThought, Text: "Hmm"},
			},
		},
		{
			name: "a tool call between chunks breaks the merge",
			recs: records(in(chunk("a")), in(update(toolCall)), in(chunk("b"))),
			want: []Event{
				{Seq: 1, Kind: KindAgentMessage, Text: "a"},
				{Seq: 2, Kind: KindToolCall, ToolCall: tc("pending", "")},
				{Seq: 3, Kind: KindAgentMessage, Text: "b"},
			},
		},
		{
			name: "records without an event do not break the merge",
			recs: records(in(chunk("a")), in(update(commandUpdate)), in(`not json`), in(chunk("b"))),
			want: []Event{{Seq: 4, FirstSeq: 1, Kind: KindAgentMessage, Text: "ab"}},
		},
		{
			name: "a usage update is an event with the context and the session's cost",
			recs: records(in(update(usageUpdate)), in(update(`{"sessionUpdate":"usage_update","used":1500.0,"size":200000,"cost":{"amount":0.045,"currency":"USD"}}`)),
				in(update(`{"sessionUpdate":"usage_update","used":-3,"size":"x","cost":{"amount":"free"}}`))),
			want: []Event{{Seq: 1, Kind: KindUsage, Usage: &Usage{ContextUsed: 1200, ContextSize: 200000}},
				{Seq: 2, Kind: KindUsage, Usage: &Usage{ContextUsed: 1500, ContextSize: 200000, Cost: 0.045, Currency: "USD"}},
				{Seq: 3, Kind: KindUsage, Usage: &Usage{}}},
		},
		{
			name: "a turn end carries the turn's reported usage; a malformed one keeps the stop reason",
			recs: records(in(`{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn","usage":{"inputTokens":100,"outputTokens":20,"totalTokens":150,"cachedReadTokens":30}}}`),
				in(`{"jsonrpc":"2.0","id":"turn-2","result":{"usage":{"inputTokens":"many"},"stopReason":"max_tokens"}}`)),
			want: []Event{{Seq: 1, Kind: KindTurnEnd, Turn: "turn-1", StopReason: "end_turn", Usage: &Usage{InputTokens: 100, OutputTokens: 20, TotalTokens: 150, CachedReadTokens: 30}},
				{Seq: 2, Kind: KindTurnEnd, Turn: "turn-2", StopReason: "max_tokens"}},
		},
		{
			name: "a budget cancel names its limit; a continuation says how it was made",
			recs: records(out(`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s","_meta":{"sandbox-mcp/budget":{"limit":"cost","used":0.2,"max":0.1}}}}`),
				out(`{"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":"s","cwd":"/w","_meta":{"sandbox-mcp/continued":"session/load"}}}`),
				out(newOut)),
			want: []Event{{Seq: 1, Kind: KindCancel, Budget: &BudgetHit{Limit: LimitCost, Used: 0.2, Max: 0.1}},
				{Seq: 2, Kind: KindContinued, Text: "session/load"}},
		},
		{
			name: "our prompt is a user message with its turn id and its text blocks joined",
			recs: records(out(`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"sessionId":"s","prompt":[` +
				`{"type":"text","text":"fix the bug"},{"type":"image","data":"AAAA","mimeType":"image/png"},{"type":"text","text":"in main.go"}]}}`)),
			want: []Event{{Seq: 1, Kind: KindUserMessage, Turn: "turn-1", Text: "fix the bug\nin main.go"}},
		},
		{
			name: "the agent's echo of the prompt is no event",
			recs: records(out(prompt("turn-1", "hi")), in(update(`{"sessionUpdate":"user_message_chunk","content":{"type":"text","text":"hi"}}`))),
			want: []Event{{Seq: 1, Kind: KindUserMessage, Turn: "turn-1", Text: "hi"}},
		},
		{
			name: "tool call and its update with text content",
			recs: records(in(update(toolCall)), in(update(`{"sessionUpdate":"tool_call_update","toolCallId":"tc-1","status":"completed","content":[`+
				`{"type":"content","content":{"type":"text","text":"line 1"}},{"type":"diff","path":"/ws/a","oldText":"x","newText":"y"},`+
				`{"type":"content","content":{"type":"text","text":"line 2"}}]}`))),
			want: []Event{
				{Seq: 1, Kind: KindToolCall, ToolCall: tc("pending", "")},
				{Seq: 2, Kind: KindToolCallUpdate, ToolCall: &ToolCall{ID: "tc-1", Status: "completed", Output: "line 1\nline 2"}},
			},
		},
		{
			name: "plan entries",
			recs: records(in(update(`{"sessionUpdate":"plan","entries":[{"content":"Read the code","priority":"high","status":"completed"},` +
				`{"content":"Write tests","priority":"medium","status":"in_progress"}]}`))),
			want: []Event{{Seq: 1, Kind: KindPlan, Plan: []PlanEntry{
				{Content: "Read the code", Priority: "high", Status: "completed"},
				{Content: "Write tests", Priority: "medium", Status: "in_progress"},
			}}},
		},
		{
			name: "permission request with a string id carries its options and tool call",
			recs: records(in(permRequest(`"perm-1"`))),
			want: []Event{{Seq: 1, Kind: KindPermissionRequest, ToolCall: tc("pending", ""),
				Permission: &Permission{RequestID: "perm-1", Options: options}}},
		},
		{
			name: "permission request with a numeric id",
			recs: records(in(permRequest(`7`))),
			want: []Event{{Seq: 1, Kind: KindPermissionRequest, ToolCall: tc("pending", ""),
				Permission: &Permission{RequestID: "7", Options: options}}},
		},
		{
			name: "our selected answer is a permission response with the option id",
			recs: records(out(permAnswer(`"perm-1"`, "always"))),
			want: []Event{{Seq: 1, Kind: KindPermissionResponse, Permission: &Permission{RequestID: "perm-1", Outcome: "always"}}},
		},
		{
			name: "our cancelled answer is a permission response with outcome cancelled",
			recs: records(out(`{"jsonrpc":"2.0","id":7,"result":{"outcome":{"outcome":"cancelled"}}}`)),
			want: []Event{{Seq: 1, Kind: KindPermissionResponse, Permission: &Permission{RequestID: "7", Outcome: "cancelled"}}},
		},
		{
			name: "our cancel notification",
			recs: records(out(cancelOut)),
			want: []Event{{Seq: 1, Kind: KindCancel}},
		},
		{
			name: "the prompt's response is a turn end with its stop reason",
			recs: records(in(turnEnd("turn-1", "end_turn"))),
			want: []Event{{Seq: 1, Kind: KindTurnEnd, Turn: "turn-1", StopReason: "end_turn"}},
		},
		{
			name: "the prompt's error response is a turn end with the error",
			recs: records(in(`{"jsonrpc":"2.0","id":"turn-2","error":{"code":-32603,"message":"Internal error","data":{"details":"Query closed before response received","agentStderr":"boom"}}}`)),
			want: []Event{{Seq: 1, Kind: KindTurnEnd, Turn: "turn-2", Error: "agent error -32603: Internal error: Query closed before response received"}},
		},
		{
			name: "an error response for another id is an error event",
			recs: records(in(`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}}`)),
			want: []Event{{Seq: 1, Kind: KindError, Error: "agent error -32601: Method not found"}},
		},
		{
			name: "a clean agent exit has its code and no error",
			recs: records(in(exitOK)),
			want: []Event{{Seq: 1, Kind: KindAgentExit, ExitCode: intp(0)}},
		},
		{
			name: "an unsuccessful agent exit has an error text",
			recs: records(in(exitFailed)),
			want: []Event{{Seq: 1, Kind: KindAgentExit, ExitCode: intp(1), Error: "the agent process exited unsuccessfully"}},
		},
		{
			name: "mode change",
			recs: records(in(update(`{"sessionUpdate":"current_mode_update","currentModeId":"plan"}`))),
			want: []Event{{Seq: 1, Kind: KindModeChange, Text: "plan"}},
		},
		{
			name: "initialize and session/new, ours and their responses, produce no event",
			recs: records(out(initOut), in(initResult), out(newOut), in(newResult)),
		},
		{
			name: "malformed records are skipped",
			recs: records(in(`{"jsonrpc":`), in(``), out(`[1,2]`), in(`{"method":"session/update","params":"nope"}`), in(chunk("ok"))),
			want: []Event{{Seq: 5, Kind: KindAgentMessage, Text: "ok"}},
		},
		{
			name: "a whole turn with a permission round trip",
			recs: records(out(prompt("turn-1", "write hello")), in(update(toolCall)), in(permRequest(`"perm-1"`)),
				out(permAnswer(`"perm-1"`, "allow")), in(update(`{"sessionUpdate":"tool_call_update","toolCallId":"tc-1","status":"completed"}`)),
				in(chunk("Wro")), in(chunk("te it.")), in(turnEnd("turn-1", "end_turn"))),
			want: []Event{
				{Seq: 1, Kind: KindUserMessage, Turn: "turn-1", Text: "write hello"},
				{Seq: 2, Kind: KindToolCall, ToolCall: tc("pending", "")},
				{Seq: 3, Kind: KindPermissionRequest, ToolCall: tc("pending", ""), Permission: &Permission{RequestID: "perm-1", Options: options}},
				{Seq: 4, Kind: KindPermissionResponse, Permission: &Permission{RequestID: "perm-1", Outcome: "allow"}},
				{Seq: 5, Kind: KindToolCallUpdate, ToolCall: &ToolCall{ID: "tc-1", Status: "completed"}},
				{Seq: 7, FirstSeq: 6, Kind: KindAgentMessage, Text: "Wrote it."},
				{Seq: 8, Kind: KindTurnEnd, Turn: "turn-1", StopReason: "end_turn"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutTime(Normalize(tt.recs, false))
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("Normalize:\ngot  %s\nwant %s", g, w)
			}
		})
	}
}

func TestNormalizeTimeIsTheRecordTime(t *testing.T) {
	got := Normalize(records(in(update(toolCall)), in(chunk("a")), in(chunk("b"))), false)
	if len(got) != 2 {
		t.Fatalf("got %d events, want 2", len(got))
	}
	if !got[0].Time.Equal(t0) {
		t.Errorf("tool call time: got %v, want %v", got[0].Time, t0)
	}
	if want := t0.Add(time.Second); !got[1].Time.Equal(want) {
		t.Errorf("merged message time: got %v, want its first chunk's %v", got[1].Time, want)
	}
}

func TestNormalizeRaw(t *testing.T) {
	recs := records(out(prompt("turn-1", "hi")), in(update(commandUpdate)), in(chunk("He")), in(chunk("y")), in(turnEnd("turn-1", "end_turn")))
	tests := []struct {
		name    string
		raw     bool
		wantRaw [][]string
	}{
		{name: "raw attaches each event's envelope and all of a merged event's", raw: true,
			wantRaw: [][]string{{prompt("turn-1", "hi")}, {chunk("He"), chunk("y")}, {turnEnd("turn-1", "end_turn")}}},
		{name: "without raw no envelope is attached", raw: false, wantRaw: [][]string{nil, nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(recs, tt.raw)
			if len(got) != len(tt.wantRaw) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.wantRaw))
			}
			for i, ev := range got {
				var gotRaw []string
				for _, r := range ev.Raw {
					gotRaw = append(gotRaw, string(r))
				}
				if !reflect.DeepEqual(gotRaw, tt.wantRaw[i]) {
					t.Errorf("event %d (%s) raw: got %q, want %q", i, ev.Kind, gotRaw, tt.wantRaw[i])
				}
			}
		})
	}
}

func TestTurnID(t *testing.T) {
	if got, want := TurnID(3), "turn-3"; got != want {
		t.Errorf("TurnID(3): got %q, want %q", got, want)
	}
	if !isTurnID(TurnID(12)) || isTurnID("perm-1") || isTurnID("1") {
		t.Error("isTurnID must accept TurnID's ids only")
	}
}
