package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

// fastSeeds are envelopes the agent sends, and variations on them that the fast path must either decode
// exactly as encoding/json does or leave alone.
var fastSeeds = []string{
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
}

// FuzzNormalizeFast: whenever normalizeFast handles an envelope, its event is normalizeSlow's.
func FuzzNormalizeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, env []byte) {
		ev, ok, handled := normalizeFast(env)
		if !handled {
			return
		}
		want, wantOK := normalizeSlow(eventlog.Record{Dir: eventlog.DirIn, Env: env})
		if ok != wantOK || !reflect.DeepEqual(ev, want) {
			t.Fatalf("fast path differs for %s:\nfast %v %+v\nslow %v %+v", env, ok, ev, wantOK, want)
		}
		if ok && !json.Valid(env) {
			t.Fatalf("fast path made an event of invalid JSON %s", env)
		}
	})
}

// TestNormalizeFastHandles: what pages are made of takes the fast path (and agrees with the slow one).
func TestNormalizeFastHandles(t *testing.T) {
	for _, env := range []string{
		chunk("Hello"),
		chunk("line one\nline \"two\"\t\\ \u00e9\u4e16"),
		thoughtChunk("thinking"),
		update(toolCall),
		update(`{"sessionUpdate":"tool_call_update","toolCallId":"tc-1","status":"completed","content":[{"type":"content","content":{"type":"text","text":"ok"}}]}`),
		update(`{"sessionUpdate":"current_mode_update","currentModeId":"plan"}`),
		update(commandUpdate),
		turnEnd("turn-1", "end_turn"),
		initResult,
		newResult,
	} {
		ev, ok, handled := normalizeFast([]byte(env))
		if !handled {
			t.Errorf("not handled: %s", env)
			continue
		}
		want, wantOK := normalizeSlow(eventlog.Record{Dir: eventlog.DirIn, Env: json.RawMessage(env)})
		if ok != wantOK || !reflect.DeepEqual(ev, want) {
			t.Errorf("%s:\nfast %v %+v\nslow %v %+v", env, ok, ev, wantOK, want)
		}
	}
	// And whatever it does not handle still normalises (through encoding/json).
	recs := records(in(permRequest(`7`)), in(update(`{"sessionUpdate":"plan","entries":[{"content":"a"}]}`)))
	if evs := Normalize(recs, false); len(evs) != 2 || evs[0].Kind != KindPermissionRequest || len(evs[1].Plan) != 1 {
		t.Errorf("slow-path records: %+v", evs)
	}
}

// BenchmarkNormalizeChunk and BenchmarkNormalizeToolUpdate: one record, the fast path (normalizeOne)
// against the encoding/json path it replaces (normalizeSlow).
func BenchmarkNormalizeChunk(b *testing.B) {
	benchmarkNormalize(b, chunk("Reading the package layout before editing the file."))
}

func BenchmarkNormalizeToolUpdate(b *testing.B) {
	benchmarkNormalize(b, update(`{"sessionUpdate":"tool_call_update","toolCallId":"call-7","title":"Run go test ./...","kind":"execute","status":"completed","content":[{"type":"content","content":{"type":"text","text":"ok  \\tgithub.com/example/pkg\\t0.012s\\n"}}]}`))
}

func benchmarkNormalize(b *testing.B, env string) {
	r := eventlog.Record{Dir: eventlog.DirIn, Env: json.RawMessage(env)}
	if _, _, handled := normalizeFast(r.Env); !handled {
		b.Fatalf("not on the fast path: %s", env)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := normalizeOne(r); !ok {
				b.Fatal("no event")
			}
		}
	})
	b.Run("slow", func(b *testing.B) {
		for b.Loop() {
			if _, ok := normalizeSlow(r); !ok {
				b.Fatal("no event")
			}
		}
	})
}
