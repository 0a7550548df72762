package events

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/internal/jsonscan"
)

// The decoders of what every record of a page carries: the envelope, a session/update's params and its
// content. Each gives exactly what json.Unmarshal gives for the same bytes into the same type, and false
// exactly where json.Unmarshal returns an error, for every input (the fuzz tests in decode_test.go hold
// them to it); they are the only decoders of these types, and encoding/json their reference in the tests.
// They exist because encoding/json validates and then decodes each level, and normalisation goes three
// levels deep: about 10 µs a record against 1 µs, which a host feels on a call that reads a long log
// (docs/performance.md). Members that are rare or lists of their own (an RPC error, a plan's entries,
// usage figures, commands, …) are decoded by encoding/json from their span, as the nested decode would.

// object reads an object as encoding/json decodes one into a struct whose JSON field names are names:
// member calls set(i) for a key that names[i] matches (exactly, else ignoring case as encoding/json does:
// Unicode simple folding), which must consume the value; other values are skipped. A repeated key is
// decoded again into the same field, and null leaves the struct as it is, as with encoding/json. False:
// invalid JSON, a value that is not an object or null, or a type error that set reported.
func object(s *jsonscan.Scanner, names []string, set func(i int) bool) bool {
	if s.Null() {
		return true
	}
	if !s.BeginObject() {
		return false
	}
	for first := true; ; first = false {
		key, plain, more, ok := s.Member(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if i := field(jsonscan.Key(key, plain), names); i >= 0 {
			ok = set(i)
		} else {
			ok = s.Skip()
		}
		if !ok {
			return false
		}
	}
}

// field returns the index of the field encoding/json decodes a member with this (unquoted) key into.
func field(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(string(key), n) {
			return i
		}
	}
	return -1
}

// raw reads a value into a json.RawMessage field (null included, as encoding/json does).
func raw(s *jsonscan.Scanner, dst *json.RawMessage) bool {
	v, ok := s.Span()
	*dst = v
	return ok
}

// delegate reads a value into a field of any other type, with encoding/json (which decodes a span
// into a field as it would decode the span in place).
func delegate(s *jsonscan.Scanner, dst any) bool {
	v, ok := s.Span()
	return ok && json.Unmarshal(v, dst) == nil
}

var envelopeFields = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// The values that most records carry, which the decoders set without allocating a string for each.
var (
	jsonrpcVersions = []string{"2.0"}
	methods         = []string{acp.MethodUpdate, acp.MethodPermission, acp.MethodPrompt, acp.MethodCancel, acp.MethodAgentExit, acp.MethodNew, acp.MethodLoad}
	updateKinds     = []string{"agent_message_chunk", "agent_thought_chunk", "tool_call_update", "tool_call", "plan",
		"usage_update", "current_mode_update", "available_commands_update", "config_option_update", "session_info_update",
		"user_message_chunk"}
	toolKinds    = []string{"read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other"}
	toolStatuses = []string{"pending", "in_progress", "completed", "failed"}
	contentTypes = []string{"text", "content", "diff", "terminal", "image", "resource_link", "resource"}
)

// decodeEnvelope is json.Unmarshal(b, env). Raw members share b.
func decodeEnvelope(b []byte, env *acp.Envelope) bool {
	s := jsonscan.Scanner{B: b}
	return object(&s, envelopeFields, func(i int) bool {
		switch i {
		case 0:
			return s.StringOrNullOf(&env.JSONRPC, jsonrpcVersions)
		case 1:
			return raw(&s, &env.ID)
		case 2:
			return s.StringOrNullOf(&env.Method, methods)
		case 3:
			return raw(&s, &env.Params)
		case 4:
			return raw(&s, &env.Result)
		}
		// Rare: a JSON-RPC error. Through a copy of the pointer, which only this branch puts on the heap.
		e := env.Error
		ok := delegate(&s, &e)
		env.Error = e
		return ok
	}) && s.End()
}

var (
	updateParamsFields = []string{"update"}
	updateFields       = []string{"sessionUpdate", "content", "toolCallId", "title", "kind", "status", "entries",
		"currentModeId", "locations", "availableCommands", "configOptions"}
)

// decodeUpdateParams is json.Unmarshal(b, p). Raw members share b.
func decodeUpdateParams(b []byte, p *updateParams) bool {
	s := jsonscan.Scanner{B: b}
	u := &p.Update
	return object(&s, updateParamsFields, func(int) bool {
		return object(&s, updateFields, func(i int) bool {
			switch i {
			case 0:
				return s.StringOrNullOf(&u.SessionUpdate, updateKinds)
			case 1:
				return raw(&s, &u.Content)
			case 2:
				return s.StringOrNull(&u.ToolCallID)
			case 3:
				return s.StringOrNull(&u.Title)
			case 4:
				return s.StringOrNullOf(&u.Kind, toolKinds)
			case 5:
				return s.StringOrNullOf(&u.Status, toolStatuses)
			case 6:
				// A plan's entries, a few per turn. Through a copy, which only this branch puts on the heap.
				e := u.Entries
				ok := delegate(&s, &e)
				u.Entries = e
				return ok
			case 7:
				return s.StringOrNull(&u.CurrentModeID)
			case 8:
				return raw(&s, &u.Locations)
			case 9:
				return raw(&s, &u.AvailableCommands)
			}
			return raw(&s, &u.ConfigOptions)
		})
	}) && s.End()
}

var contentBlockFields = []string{"type", "text"}

// decodeContentBlock is json.Unmarshal(b, c).
func decodeContentBlock(b []byte, c *contentBlock) bool {
	s := jsonscan.Scanner{B: b}
	return contentBlockValue(&s, c) && s.End()
}

func contentBlockValue(s *jsonscan.Scanner, c *contentBlock) bool {
	return object(s, contentBlockFields, func(i int) bool {
		if i == 0 {
			return s.StringOrNullOf(&c.Type, contentTypes)
		}
		return s.StringOrNull(&c.Text)
	})
}

var contentItemFields = []string{"content"}

// decodeContentItems is json.Unmarshal(b, items) into a nil slice.
func decodeContentItems(b []byte, items *[]contentItem) bool {
	s := jsonscan.Scanner{B: b}
	return array(&s, items, math.MaxInt, func(it *contentItem) bool {
		return object(&s, contentItemFields, func(int) bool { return contentBlockValue(&s, &it.Content) })
	}) && s.End()
}

// decodeItems is json.Unmarshal(b, list) into a nil slice, keeping at most limit elements (all are read).
func decodeItems(b []byte, list *[]json.RawMessage, limit int) bool {
	s := jsonscan.Scanner{B: b}
	return array(&s, list, limit, func(v *json.RawMessage) bool { return raw(&s, v) }) && s.End()
}

// array reads an array as encoding/json decodes one into a nil slice: elem reads each element into a zero
// T, and the first limit are kept; null leaves the slice nil. False: invalid JSON, a value that is neither
// an array nor null, or a type error that elem reported.
func array[T any](s *jsonscan.Scanner, list *[]T, limit int, elem func(*T) bool) bool {
	if s.Null() {
		return true
	}
	if !s.BeginArray() {
		return false
	}
	out := []T{}
	for first := true; ; first = false {
		more, ok := s.Element(first)
		if !ok {
			return false
		}
		if !more {
			*list = out
			return true
		}
		if len(out) < limit {
			var zero T
			out = append(out, zero)
			ok = elem(&out[len(out)-1])
		} else {
			var past T // read as encoding/json reads it (it may hold a type error), then dropped
			ok = elem(&past)
		}
		if !ok {
			return false
		}
	}
}

var toolContentItemFields = []string{"type", "path", "oldText", "newText", "terminalId"}

// decodeToolContentItem is json.Unmarshal(b, c): every tool-call update with output carries one.
func decodeToolContentItem(b []byte, c *toolContentItem) bool {
	s := jsonscan.Scanner{B: b}
	return object(&s, toolContentItemFields, func(i int) bool {
		switch i {
		case 0:
			return s.StringOrNullOf(&c.Type, contentTypes)
		case 1:
			return s.StringOrNull(&c.Path)
		case 2:
			if s.Null() {
				c.OldText = nil // a pointer field: null sets it to nil
				return true
			}
			if c.OldText == nil {
				c.OldText = new(string)
			}
			return s.StringOrNull(c.OldText)
		case 3:
			return s.StringOrNull(&c.NewText)
		}
		return s.StringOrNull(&c.TerminalID)
	}) && s.End()
}
