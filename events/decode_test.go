package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

// decodeSeeds are envelopes the agent sends, and variations on them that decode.go must decode exactly as
// encoding/json does: keys in other cases or escaped, repeated keys, nulls, values of the wrong type,
// invalid JSON, deep nesting.
var decodeSeeds = []string{
	chunk("Hello"),
	chunk("line one\nline \"two\"\t\\ / \u00e9\u4e16 \U0001F600"),
	`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"a\u00e9\ud83d\ude00\u0041\/"}}}}`,
	`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"lone \udc00"}}}}`,
	thoughtChunk("thinking"),
	update(toolCall),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"tc-1","status":"completed","content":[{"type":"content","content":{"type":"text","text":"ok"}}]}`),
	update(`{"sessionUpdate":"plan","entries":[{"content":"a","priority":"high","status":"pending"}]}`),
	update(`{"sessionUpdate":"plan"}`),
	update(`{"sessionUpdate":"current_mode_update","currentModeId":"plan"}`),
	update(usageUpdate),
	update(`{"sessionUpdate":"usage_update","used":10,"size":100,"cost":{"amount":0.5,"currency":"USD"}}`),
	update(commandUpdate),
	update(`null`),
	update(`{"sessionUpdate":null,"content":null}`),
	update(`{"SessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"}}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","TEXT":"x"}}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x","text":"y"}}`),
	update(`{"sessionUpdate":"agent_message_chunk","sessionUpdate":"agent_thought_chunk"}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":1,"text":"x"}}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"text":5}}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":"plain"}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"} , "title" : "t" }`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x","annotations":{"a":[1,-2.5e3,true,false,null,{"k":"\u00e9"}]}}}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":7}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[null,{"type":"diff","path":"/a","oldText":null,"newText":"x"},{"type":"content","content":{"type":"text","text":"one"}},{"content":null},{"content":{"text":""}},{"content":{"type":"text","text":"two"}}]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"content":{"text":"a"},"content":{"text":"b"}}]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"Content":{"text":"a"}}]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":["x",{"content":{"text":"a"}}]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"content":{"text":1}}]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[ ]}`),
	update(`{"sessionUpdate":"tool_call_update","toolCallId":"c","content":[{"content":[]}]}`),
	update(`{"\u0073essionUpdate":"agent_message_chunk"}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"terminal","terminalId":"t1"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"\u0064iff","path":"/a","newText":"x"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"Type":"diff","path":"/a","newText":"x"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"content","type":"diff","path":"/a","newText":"x"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"content","content":{"type":"text","text":"x"},"path":"/a"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":null,"content":{"text":"x"}}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","locations":[]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","locations":[ ]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","locations":null}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","locations":[{"path":"/a","line":3}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","Locations":[{"path":"/a"}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","locations":{}}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"},"availableCommands":[]}`),
	update(`{"sessionUpdate":"config_option_update","configOptions":[{"id":"mode","category":"mode","currentValue":"plan"}]}`),
	update(`{"sessionUpdate":"session_info_update","title":"t"}`),
	update(`{"sessionUpdate":"session_info_update","updatedAt":"x"}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"x"},"kind":"\u212a"}`),
	`{"jsonrpc":"2.0","method":"session/update","params":{"update":{}},"params":{"update":{}}}`,
	`{"jsonrpc":"2.0","Method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk"}}}`,
	`{"jsonrpc":2,"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk"}}}`,
	`{"params":{"update":{"sessionUpdate":"agent_message_chunk","content":{"text":"params first"}}},"method":"session/update"}`,
	`{"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk","content":{"text":"a"}}},"method":"session/update"}`,
	`{"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk"}},"params":{"update":{"sessionUpdate":"agent_thought_chunk"}}}`,
	`{"method":"session/update","params":{"update":{"sessionUpdate":"plan","entries":[]}}}`,
	`{"method":"session/prompt","params":{"update":{"sessionUpdate":"agent_message_chunk"}}}`,
	`{"jsonrpc":"2.0","method":"session/update","params":[]}`,
	`{"jsonrpc":"2.0","method":"session/update","params":null}`,
	`{"jsonrpc":"2.0","method":"session/update"}`,
	` { "jsonrpc" : "2.0" , "method" : "session/update" , "params" : { "update" : { "sessionUpdate" : "agent_message_chunk" , "content" : { "text" : "spaced" } } } } `,
	turnEnd("turn-1", "end_turn"),
	turnEnd("turn-2", ""),
	`{"jsonrpc":"2.0","id":"turn-3","result":null}`,
	`{"jsonrpc":"2.0","id":"turn-3","result":{"stopReason":"end_turn","usage":{"inputTokens":5,"outputTokens":6,"totalTokens":11}}}`,
	`{"jsonrpc":"2.0","id":"turn-3","result":{"stopReason":"end_turn","usage":{"inputTokens":-1e400}}}`,
	`{"jsonrpc":"2.0","id":"turn-3","result":{"stopReason":7}}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":null,"result":{"stopReason":"cancelled"}}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":{"code":-32603,"message":"boom"}}`,
	`{"jsonrpc":"2.0","id":5,"error":{"code":-32603,"message":"boom"}}`,
	`{"jsonrpc":"2.0","id":null,"result":{}}`,
	initResult,
	newResult,
	permRequest(`"perm-1"`),
	exitOK,
	exitFailed,
	`{"jsonrpc":"2.0","method":"_x/custom","params":{"a":1}}`,
	`{"id":0.5e-3,"result":{}}`,
	`[]`,
	`null`,
	`{}`,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":-}`,
	`{"a":tru}`,
	`{"a":"\x"}`,
	`{"a":"\u12"}`,
	`{"a":1,}`,
	`{"a":1}x`,
	`{"a":[1,]}`,
	"{\"a\":\"\x01\"}",
	"{\"method\":\"session/update\",\"params\":{\"update\":{\"sessionUpdate\":\"agent_message_chunk\",\"content\":{\"text\":\"bad \xff utf8\"}}}}",
	`{"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk","content":{"text":"é"}}}}`,
	`{"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk","content":{"text":"x"}}},"extra":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	update(`{"sessionUpdate":"plan","entries":[{"content":"a","priority":"high","status":"pending"}],"entries":[{"priority":"low"}]}`),
	update(`{"sessionUpdate":"plan","entries":[{"content":5}]}`),
	update(`{"sessionUpdate":"plan","entries":null}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"a"},"content":null}`),
	update(`{"sessionUpdate":"agent_message_chunk","update":{"sessionUpdate":"x"}}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"diff","path":"/a","newText":"x"},{"type":"terminal","terminalId":"t"},{"type":"content","content":{"type":"text","text":"out"}}]}`),
	update(`{"sessionUpdate":"tool_call","toolCallId":"c","content":[{"type":"diff","oldText":"a","oldText":null},{"type":"diff","oldText":null,"OLDTEXT":"b"},{"oldText":"a","oldText":"b"},{"oldText":5},{"terminalId":["t"]}]}`),
	update(`{"ſessionUpdate":"agent_message_chunk","\u006bind":"k","KIND":"K"}`),
	update(`{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"lone \ud83d and pair \ud83d\ude00"}}`),
	`{"jsonrpc":"2.0","method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk"}},"params":null}`,
	`{"jsonrpc":"2.0","method":"session/update","method":null}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":{"code":1,"message":"a"},"error":null}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":{"code":1,"message":"a"},"error":{"message":"b"}}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":{"code":"x"}}`,
	`{"jsonrpc":"2.0","id":"turn-3","error":[]}`,
	`{"jsonrpc":"2.0","id":"turn-3","ERROR":{"code":1},"Id":"turn-4","RESULT":{}}`,
	"{\"method\":\"session/update\",\"\xffparams\":{}}",
	`"a string"`,
	`5`,
	` null `,
	`{"method":"session/update","params":{"update":{"sessionUpdate":"agent_message_chunk"}}}` + strings.Repeat(" ", 3),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

// sameAsUnmarshal fails t unless decode gives for b what json.Unmarshal gives into a zero T: the same
// value, and false exactly where json.Unmarshal returns an error.
func sameAsUnmarshal[T any](t *testing.T, name string, b []byte, decode func([]byte, *T) bool) {
	t.Helper()
	var got, want T
	ok := decode(b, &got)
	err := json.Unmarshal(b, &want)
	if ok != (err == nil) || (ok && !reflect.DeepEqual(got, want)) {
		t.Fatalf("%s(%q):\ngot  %v %+v\nwant %v %+v", name, b, ok, got, err, want)
	}
}

// checkDecoders holds every decoder of decode.go to encoding/json on an envelope and on the members the
// normalisation decodes further: params, update content, tool-call content lists.
func checkDecoders(t *testing.T, env []byte) {
	t.Helper()
	sameAsUnmarshal(t, "decodeEnvelope", env, decodeEnvelope)
	var e acp.Envelope
	if !decodeEnvelope(env, &e) {
		return
	}
	sameAsUnmarshal(t, "decodeUpdateParams", e.Params, decodeUpdateParams)
	var p updateParams
	if decodeUpdateParams(e.Params, &p) {
		checkContent(t, p.Update.Content)
		checkContent(t, p.Update.Locations)
	}
}

func checkContent(t *testing.T, raw []byte) {
	t.Helper()
	if len(raw) == 0 {
		return
	}
	sameAsUnmarshal(t, "decodeContentBlock", raw, decodeContentBlock)
	sameAsUnmarshal(t, "decodeContentItems", raw, decodeContentItems)
	sameAsUnmarshal(t, "decodeItems", raw, func(b []byte, list *[]json.RawMessage) bool { return decodeItems(b, list, 1<<30) })
	var list []json.RawMessage
	if decodeItems(raw, &list, 1) && len(list) > 1 {
		t.Fatalf("decodeItems(%q) kept %d items, limit 1", raw, len(list))
	}
	if decodeItems(raw, &list, maxItems) {
		for _, it := range list {
			sameAsUnmarshal(t, "decodeToolContentItem", it, decodeToolContentItem)
		}
	}
}

// TestDecodersAreUnmarshal: decode.go on the seeds. The parts of an envelope are checked on their own
// too, so that each decoder meets every shape, not only those the envelope's decoder lets through.
func TestDecodersAreUnmarshal(t *testing.T) {
	for _, env := range decodeSeeds {
		checkDecoders(t, []byte(env))
	}
}

// FuzzDecoders: decode.go is encoding/json, on any input.
func FuzzDecoders(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoders(t, b)
		// b as a member of its own: params, update content.
		sameAsUnmarshal(t, "decodeUpdateParams", b, decodeUpdateParams)
		checkContent(t, b)
		sameAsUnmarshal(t, "decodeToolContentItem", b, decodeToolContentItem)
	})
}

// BenchmarkNormalizeChunk and BenchmarkNormalizeToolUpdate: one record of each of the two shapes long
// logs are made of.
func BenchmarkNormalizeChunk(b *testing.B) {
	benchmarkNormalize(b, chunk("Reading the package layout before editing the file."))
}

func BenchmarkNormalizeToolUpdate(b *testing.B) {
	benchmarkNormalize(b, benchToolUpdate)
}

const benchToolUpdate = `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"tool_call_update","toolCallId":"call-7","title":"Run go test ./...","kind":"execute","status":"completed","content":[{"type":"content","content":{"type":"text","text":"ok  \\tgithub.com/example/pkg\\t0.012s\\n"}}]}}}`

func benchmarkNormalize(b *testing.B, env string) {
	r := eventlog.Record{Dir: eventlog.DirIn, Env: json.RawMessage(env)}
	for b.Loop() {
		if _, ok := normalizeOne(r); !ok {
			b.Fatal("no event")
		}
	}
}

// BenchmarkDecodeEnvelope and BenchmarkDecodeUpdateParams: the decoders against their reference.
func BenchmarkDecodeEnvelope(b *testing.B) {
	env := []byte(benchToolUpdate)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var e acp.Envelope
			if !decodeEnvelope(env, &e) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		for b.Loop() {
			var e acp.Envelope
			if json.Unmarshal(env, &e) != nil {
				b.Fatal("refused")
			}
		}
	})
}

func BenchmarkDecodeUpdateParams(b *testing.B) {
	var e acp.Envelope
	if !decodeEnvelope([]byte(benchToolUpdate), &e) {
		b.Fatal("refused")
	}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var p updateParams
			if !decodeUpdateParams(e.Params, &p) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		for b.Loop() {
			var p updateParams
			if json.Unmarshal(e.Params, &p) != nil {
				b.Fatal("refused")
			}
		}
	})
}
