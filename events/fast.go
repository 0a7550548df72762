package events

import (
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/internal/jsonscan"
)

// The fast path. Decoding an envelope with encoding/json costs a validation pass and a decoding pass per
// level, and normalisation goes three levels deep (envelope, params, content): about 7 µs for a 200-byte
// message chunk, which made get_events three times the cost of reading the log. normalizeFast reads the
// envelope in one pass, strictly (it accepts only what encoding/json accepts), keeping just the members
// normalisation uses. Whatever it would not decode exactly as encoding/json does (an error member, a
// permission request, a plan's entries, a key that matches a field only case-insensitively or through an
// escape, a repeated key, a number where a string belongs, deep nesting, …) it leaves to normalizeSlow by
// answering handled=false. FuzzNormalizeFast checks that the two agree.

// normalizeFast maps an envelope the agent sent. handled=false: use normalizeSlow.
func normalizeFast(env []byte) (ev Event, ok, handled bool) {
	s := jsonscan.Scanner{B: env}
	var e fastEnvelope
	if !e.decode(&s) || !s.End() {
		return Event{}, false, false
	}
	switch {
	case e.method == acp.MethodUpdate && e.updateDone && e.update.slow():
		return Event{}, false, false
	case e.method == acp.MethodUpdate && e.updateDone:
		ev, ok := updateEvent(&e.update)
		return ev, ok, true
	case e.method == acp.MethodUpdate:
		return normalizeUpdateFast(e.params)
	case e.method == acp.MethodPermission || e.method == acp.MethodAgentExit:
		return Event{}, false, false // rare: not worth a second implementation
	case e.method == "" && len(e.id) > 0: // a response (IsResponse) without an error
		id := acp.IDString(e.id)
		if !isTurnID(id) {
			return Event{}, false, true
		}
		stop, usage := turnResult(e.result)
		return Event{Kind: KindTurnEnd, Turn: id, StopReason: stop, Usage: usage}, true, true
	}
	return Event{}, false, true
}

// fastEnvelope is the part of acp.Envelope normalisation reads; raw members are spans of the input.
type fastEnvelope struct {
	method             string
	id, params, result []byte
	// A session/update's params are decoded in the same pass when the method comes first (as it does
	// from sandbox-agent); else params is kept as a span and decoded afterwards.
	update     fastUpdate
	updateDone bool
}

var envelopeKeys = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// decode reads an envelope object. False: invalid, or not decoded here as encoding/json would decode it
// into acp.Envelope.
func (e *fastEnvelope) decode(s *jsonscan.Scanner) bool {
	if !s.BeginObject() {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		var bit uint8
		switch {
		case !plain:
			return false // may unescape to a field's name
		case string(key) == "jsonrpc":
			bit, ok = 1, s.StringOrNull(nil)
		case string(key) == "id":
			bit = 2
			e.id, ok = s.Span()
		case string(key) == "method":
			bit, ok = 4, s.StringOrNull(&e.method)
		case string(key) == "params" && seen&4 != 0 && e.method == acp.MethodUpdate:
			bit = 8
			ok = e.update.decodeParams(s)
			e.updateDone = ok
		case string(key) == "params":
			bit = 8
			e.params, ok = s.Span()
		case string(key) == "result":
			bit = 16
			e.result, ok = s.Span()
		case string(key) == "error":
			bit, ok = 32, s.Null() // a JSON-RPC error becomes an *acp.RPCError: left to encoding/json
		default:
			ok = !foldsToAny(key, envelopeKeys) && s.Skip()
		}
		if !ok || seen&bit != 0 {
			return false // repeated keys: encoding/json's last-one-wins and merging are not reproduced
		}
		seen |= bit
	}
}

var (
	updateParamsKeys = []string{"update"}
	updateKeys       = []string{"sessionUpdate", "toolCallId", "title", "kind", "status", "currentModeId", "content", "entries", "locations", "availableCommands", "configOptions"}
	contentKeys      = []string{"type", "text"}
)

// fastUpdate is updateParams.Update as normalizeUpdateFast reads it.
type fastUpdate struct {
	sessionUpdate, toolCallID, title, kind, status, currentModeID string
	content                                                       []byte // span of the content member
	text                                                          string // its text, when textOK
	textOK                                                        bool
}

// normalizeUpdateFast is normalizeUpdate in one pass over params.
func normalizeUpdateFast(params []byte) (Event, bool, bool) {
	s := jsonscan.Scanner{B: params}
	var u fastUpdate
	if !u.decodeParams(&s) || !s.End() || u.slow() {
		return Event{}, false, false
	}
	ev, ok := updateEvent(&u)
	return ev, ok, true
}

// slowUpdate reports whether an update kind is left to encoding/json: a few per session or turn, with
// members (usage figures, command and option lists) not worth a second implementation.
func slowUpdate(kind string) bool {
	switch kind {
	case "usage_update", "available_commands_update", "config_option_update", "session_info_update":
		return true
	}
	return false
}

// slow reports whether a decoded update is left to encoding/json: its kind is, or its content is a list
// this scanner did not read (one with a diff or a terminal, which toolContent reads).
func (u *fastUpdate) slow() bool {
	return slowUpdate(u.sessionUpdate) || (!u.textOK && len(u.content) > 0 && u.content[0] == '[')
}

// decodeParams reads a session/update's params object ({"sessionId":…,"update":{…}}).
func (u *fastUpdate) decodeParams(s *jsonscan.Scanner) bool {
	if !s.BeginObject() {
		return false
	}
	seenUpdate := false
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok || (more && !plain) {
			return false
		}
		if !more {
			return true
		}
		switch {
		case string(key) != "update":
			ok = !foldsToAny(key, updateParamsKeys) && s.Skip()
		case seenUpdate:
			ok = false
		default:
			seenUpdate = true
			ok = s.Null() || u.decode(s)
		}
		if !ok {
			return false
		}
	}
}

// updateEvent is normalizeUpdate's mapping of a decoded update.
func updateEvent(u *fastUpdate) (Event, bool) {
	text := u.text
	if !u.textOK {
		text = contentText(u.content)
	}
	switch u.sessionUpdate {
	case "agent_message_chunk":
		return Event{Kind: KindAgentMessage, Text: text}, true
	case "agent_thought_chunk":
		return Event{Kind: KindThought, Text: text}, true
	case "tool_call", "tool_call_update":
		kind := KindToolCall
		if u.sessionUpdate == "tool_call_update" {
			kind = KindToolCallUpdate
		}
		return Event{Kind: kind, ToolCall: &ToolCall{ID: u.toolCallID, Title: u.title, Kind: u.kind, Status: u.status, Output: text}}, true
	case "plan":
		return Event{Kind: KindPlan}, true // without entries: a plan with some was left to encoding/json
	case "current_mode_update":
		return Event{Kind: KindModeChange, Text: u.currentModeID}, true
	}
	return Event{}, false
}

// decode reads the update object.
func (u *fastUpdate) decode(s *jsonscan.Scanner) bool {
	if !s.BeginObject() {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok || (more && !plain) {
			return false
		}
		if !more {
			return true
		}
		var bit uint8
		switch string(key) {
		case "sessionUpdate":
			bit, ok = 1, s.StringOrNull(&u.sessionUpdate)
		case "toolCallId":
			bit, ok = 2, s.StringOrNull(&u.toolCallID)
		case "title":
			bit, ok = 4, s.StringOrNull(&u.title)
		case "kind":
			bit, ok = 8, s.StringOrNull(&u.kind)
		case "status":
			bit, ok = 16, s.StringOrNull(&u.status)
		case "currentModeId":
			bit, ok = 32, s.StringOrNull(&u.currentModeID)
		case "content":
			bit = 64
			// A content block is decoded here; anything else (null, a list of tool-call content items, a
			// block this scanner leaves alone) is skipped and given to contentText.
			s.WS()
			start := *s
			u.text, u.textOK = fastContent(s)
			if !u.textOK {
				*s = start
				ok = s.Skip()
			}
			u.content = s.B[start.I:s.I:s.I]
		case "entries":
			return false // a plan's []PlanEntry: left to encoding/json
		case "locations":
			ok = s.Null() || emptyArray(s) // a tool call's locations, if any: left to encoding/json
		case "availableCommands", "configOptions":
			return false // their updates are left to encoding/json (slowUpdate) whatever they say they are
		default:
			ok = !foldsToAny(key, updateKeys) && s.Skip()
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// fastContent decodes a content member into its text as contentText would: a content block, or a list
// of tool-call content items ([{"type":"content","content":{block}}, {"type":"diff",…}, …]). False:
// neither, or not in a way decoded here; s is then left anywhere.
func fastContent(s *jsonscan.Scanner) (string, bool) {
	if s.I < len(s.B) && s.B[s.I] == '{' {
		return fastContentBlock(s)
	}
	if s.I >= len(s.B) || s.B[s.I] != '[' || !s.BeginArray() {
		return "", false // null, a string, …: contentText gives ""
	}
	var parts []string
	for first := true; ; first = false {
		more, ok := s.Element(first)
		if !ok {
			return "", false
		}
		if !more {
			return strings.Join(parts, "\n"), true
		}
		if !s.Null() { // a null item is a zero item: no text
			text, ok := fastContentItem(s)
			if !ok {
				return "", false
			}
			if text != "" {
				parts = append(parts, text)
			}
		}
	}
}

var contentItemKeys = []string{"content", "type"}

// fastContentItem reads one tool-call content item and returns the text of its content block. Items
// of type diff or terminal are left to encoding/json (toolContent).
func fastContentItem(s *jsonscan.Scanner) (text string, ok bool) {
	if !s.BeginObject() {
		return "", false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok || (more && !plain) {
			return "", false
		}
		if !more {
			return text, true
		}
		var bit uint8
		switch string(key) {
		case "content":
			bit = 1
			s.WS()
			if !s.Null() {
				text, ok = fastContentBlock(s)
			}
		case "type":
			bit = 2
			var typ string
			ok = s.StringOrNull(&typ) && typ != "diff" && typ != "terminal"
		default:
			ok = !foldsToAny(key, contentItemKeys) && s.Skip()
		}
		if !ok || seen&bit != 0 {
			return "", false
		}
		seen |= bit
	}
}

// emptyArray consumes [] (with any whitespace inside).
func emptyArray(s *jsonscan.Scanner) bool {
	if !s.BeginArray() {
		return false
	}
	more, ok := s.Element(true)
	return ok && !more
}

// fastContentBlock decodes a content block ({"type":"text","text":…}) into its text as contentText
// would. False: not an object of that shape; s is then left anywhere.
func fastContentBlock(s *jsonscan.Scanner) (text string, ok bool) {
	if s.I >= len(s.B) || s.B[s.I] != '{' || !s.BeginObject() {
		return "", false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok || (more && !plain) {
			return "", false
		}
		if !more {
			return text, true
		}
		var bit uint8
		switch string(key) {
		case "type":
			bit, ok = 1, s.StringOrNull(nil)
		case "text":
			bit, ok = 2, s.StringOrNull(&text)
		default:
			ok = !foldsToAny(key, contentKeys) && s.Skip()
		}
		if !ok || seen&bit != 0 {
			return "", false
		}
		seen |= bit
	}
}

// foldsToAny reports whether key equals one of names ignoring ASCII case, so that encoding/json would
// decode it into that field. Callers pass only plain (ASCII) keys.
func foldsToAny(key []byte, names []string) bool {
	for _, n := range names {
		if len(key) == len(n) && strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}
