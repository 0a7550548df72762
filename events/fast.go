package events

import (
	"encoding/json"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
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
	s := jsonScan{b: env}
	var e fastEnvelope
	if !e.decode(&s) || !s.end() {
		return Event{}, false, false
	}
	switch {
	case e.method == MethodUpdate && e.updateDone:
		ev, ok := updateEvent(&e.update)
		return ev, ok, true
	case e.method == MethodUpdate:
		return normalizeUpdateFast(e.params)
	case e.method == MethodPermission || e.method == MethodAgentExit:
		return Event{}, false, false // rare: not worth a second implementation
	case e.method == "" && len(e.id) > 0: // a response (IsResponse) without an error
		id := acp.IDString(e.id)
		if !isTurnID(id) {
			return Event{}, false, true
		}
		var res struct {
			StopReason string `json:"stopReason"`
		}
		_ = json.Unmarshal(e.result, &res)
		return Event{Kind: KindTurnEnd, Turn: id, StopReason: res.StopReason}, true, true
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
func (e *fastEnvelope) decode(s *jsonScan) bool {
	if !s.beginObject() {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.member(first)
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
			bit, ok = 1, s.stringOrNull(nil)
		case string(key) == "id":
			bit = 2
			e.id, ok = s.span()
		case string(key) == "method":
			bit, ok = 4, s.stringOrNull(&e.method)
		case string(key) == "params" && seen&4 != 0 && e.method == MethodUpdate:
			bit = 8
			ok = e.update.decodeParams(s)
			e.updateDone = ok
		case string(key) == "params":
			bit = 8
			e.params, ok = s.span()
		case string(key) == "result":
			bit = 16
			e.result, ok = s.span()
		case string(key) == "error":
			bit, ok = 32, s.null() // a JSON-RPC error becomes an *acp.RPCError: left to encoding/json
		default:
			ok = !foldsToAny(key, envelopeKeys) && s.skip()
		}
		if !ok || seen&bit != 0 {
			return false // repeated keys: encoding/json's last-one-wins and merging are not reproduced
		}
		seen |= bit
	}
}

var (
	updateParamsKeys = []string{"update"}
	updateKeys       = []string{"sessionUpdate", "toolCallId", "title", "kind", "status", "currentModeId", "content", "entries"}
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
	s := jsonScan{b: params}
	var u fastUpdate
	if !u.decodeParams(&s) || !s.end() {
		return Event{}, false, false
	}
	ev, ok := updateEvent(&u)
	return ev, ok, true
}

// decodeParams reads a session/update's params object ({"sessionId":…,"update":{…}}).
func (u *fastUpdate) decodeParams(s *jsonScan) bool {
	if !s.beginObject() {
		return false
	}
	seenUpdate := false
	for first := true; ; first = false {
		key, plain, more, ok := s.member(first)
		if !ok || (more && !plain) {
			return false
		}
		if !more {
			return true
		}
		switch {
		case string(key) != "update":
			ok = !foldsToAny(key, updateParamsKeys) && s.skip()
		case seenUpdate:
			ok = false
		default:
			seenUpdate = true
			ok = s.null() || u.decode(s)
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
func (u *fastUpdate) decode(s *jsonScan) bool {
	if !s.beginObject() {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.member(first)
		if !ok || (more && !plain) {
			return false
		}
		if !more {
			return true
		}
		var bit uint8
		switch string(key) {
		case "sessionUpdate":
			bit, ok = 1, s.stringOrNull(&u.sessionUpdate)
		case "toolCallId":
			bit, ok = 2, s.stringOrNull(&u.toolCallID)
		case "title":
			bit, ok = 4, s.stringOrNull(&u.title)
		case "kind":
			bit, ok = 8, s.stringOrNull(&u.kind)
		case "status":
			bit, ok = 16, s.stringOrNull(&u.status)
		case "currentModeId":
			bit, ok = 32, s.stringOrNull(&u.currentModeID)
		case "content":
			bit = 64
			// A content block is decoded here; anything else (null, a list of tool-call content items, a
			// block this scanner leaves alone) is skipped and given to contentText.
			s.ws()
			start, depth := s.i, s.depth
			u.text, u.textOK = s.content()
			if !u.textOK {
				s.i, s.depth = start, depth
				ok = s.skip()
			}
			u.content = s.b[start:s.i:s.i]
		case "entries":
			return false // a plan's []PlanEntry: left to encoding/json
		default:
			ok = !foldsToAny(key, updateKeys) && s.skip()
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// content decodes a content member into its text as contentText would: a content block, or a list of
// tool-call content items ([{"type":"content","content":{block}}, {"type":"diff",…}, …]). False: neither,
// or not in a way decoded here; s is then left anywhere.
func (s *jsonScan) content() (string, bool) {
	if s.i < len(s.b) && s.b[s.i] == '{' {
		return s.contentBlock()
	}
	if s.i >= len(s.b) || s.b[s.i] != '[' || s.depth >= maxScanDepth {
		return "", false // null, a string, …: contentText gives ""
	}
	s.i++
	s.depth++
	var parts []string
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return "", true
	}
	for {
		s.ws()
		if !s.null() { // a null item is a zero item: no text
			text, ok := s.contentItem()
			if !ok {
				return "", false
			}
			if text != "" {
				parts = append(parts, text)
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return "", false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return strings.Join(parts, "\n"), true
		default:
			return "", false
		}
	}
}

var contentItemKeys = []string{"content"}

// contentItem reads one tool-call content item and returns the text of its content block.
func (s *jsonScan) contentItem() (text string, ok bool) {
	if !s.beginObject() {
		return "", false
	}
	seen := false
	for first := true; ; first = false {
		key, plain, more, ok := s.member(first)
		if !ok || (more && !plain) {
			return "", false
		}
		if !more {
			return text, true
		}
		switch {
		case string(key) != "content":
			ok = !foldsToAny(key, contentItemKeys) && s.skip()
		case seen:
			ok = false
		default:
			seen = true
			s.ws()
			if !s.null() {
				text, ok = s.contentBlock()
			}
		}
		if !ok {
			return "", false
		}
	}
}

// contentBlock decodes a content block ({"type":"text","text":…}) into its text as contentText would.
// False: not an object of that shape; s is then left anywhere.
func (s *jsonScan) contentBlock() (text string, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '{' || !s.beginObject() {
		return "", false
	}
	var seen uint8
	for first := true; ; first = false {
		key, plain, more, ok := s.member(first)
		if !ok || (more && !plain) {
			return "", false
		}
		if !more {
			return text, true
		}
		var bit uint8
		switch string(key) {
		case "type":
			bit, ok = 1, s.stringOrNull(nil)
		case "text":
			bit, ok = 2, s.stringOrNull(&text)
		default:
			ok = !foldsToAny(key, contentKeys) && s.skip()
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
