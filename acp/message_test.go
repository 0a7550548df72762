package acp

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMessageBytes pins the exact envelope of every kind of message we send or log: members in the
// conventional order with "jsonrpc":"2.0", ids with their JSON type, optional members left out.
func TestMessageBytes(t *testing.T) {
	prompt := PromptParams{SessionID: "s", Prompt: []ContentBlock{TextBlock("fix <b> & go")}}
	tests := []struct {
		name string
		msg  json.Marshaler
		want string
	}{
		{"request with a string id", Request{ID: StringID("turn-1"), Method: MethodPrompt, Params: prompt},
			`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"sessionId":"s","prompt":[{"type":"text","text":"fix \u003cb\u003e \u0026 go"}]}}`},
		{"request with a numeric id", Request{ID: NumberID(7), Method: MethodSetMode, Params: SetModeParams{SessionID: "s", ModeID: "plan"}},
			`{"jsonrpc":"2.0","id":7,"method":"session/set_mode","params":{"sessionId":"s","modeId":"plan"}}`},
		{"request with the string id \"7\"", Request{ID: StringID("7"), Method: MethodAuthenticate, Params: AuthenticateParams{MethodID: "key"}},
			`{"jsonrpc":"2.0","id":"7","method":"authenticate","params":{"methodId":"key"}}`},
		{"request without params", Request{ID: NumberID(0), Method: MethodInitialize},
			`{"jsonrpc":"2.0","id":0,"method":"initialize"}`},
		{"initialize", Request{ID: NumberID(0), Method: MethodInitialize, Params: InitializeParams{ProtocolVersion: 1, ClientInfo: Implementation{Name: "sandbox-mcp", Version: "1.2"}}},
			`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{"fs":{"readTextFile":false,"writeTextFile":false},"terminal":false},"clientInfo":{"name":"sandbox-mcp","version":"1.2"}}}`},
		{"session/new keeps an empty server list", Request{ID: NumberID(1), Method: MethodNew, Params: SessionParams{Cwd: "/w", MCPServers: []any{}}},
			`{"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":"/w","mcpServers":[]}}`},
		{"session/load as logged, without servers", Request{ID: NumberID(1), Method: MethodLoad, Params: SessionParams{SessionID: "s", Cwd: "/w", Meta: map[string]any{"sandbox-mcp/continued": "session/load"}}},
			`{"jsonrpc":"2.0","id":1,"method":"session/load","params":{"sessionId":"s","cwd":"/w","_meta":{"sandbox-mcp/continued":"session/load"}}}`},
		{"set_config_option", Request{ID: NumberID(3), Method: MethodSetConfigOption, Params: SetConfigOptionParams{SessionID: "s", ConfigID: "model", Value: "haiku"}},
			`{"jsonrpc":"2.0","id":3,"method":"session/set_config_option","params":{"sessionId":"s","configId":"model","value":"haiku"}}`},
		{"set_model", Request{ID: NumberID(3), Method: MethodSetModel, Params: SetModelParams{SessionID: "s", ModelID: "haiku"}},
			`{"jsonrpc":"2.0","id":3,"method":"session/set_model","params":{"sessionId":"s","modelId":"haiku"}}`},
		{"cancel", Notification{Method: MethodCancel, Params: CancelParams{SessionID: "s"}},
			`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s"}}`},
		{"cancel with _meta", Notification{Method: MethodCancel, Params: CancelParams{SessionID: "s", Meta: map[string]any{"sandbox-mcp/budget": map[string]any{"limit": "cost"}}}},
			`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"s","_meta":{"sandbox-mcp/budget":{"limit":"cost"}}}}`},
		{"notification without params", Notification{Method: MethodCancel},
			`{"jsonrpc":"2.0","method":"session/cancel"}`},
		{"text chunk", Notification{Method: MethodUpdate, Params: UpdateParams{SessionID: "s", Update: ContentChunk{SessionUpdate: "agent_message_chunk", Content: TextBlock("hi")}}},
			`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"hi"}}}}`},
		{"answer to the numeric id 7", Response{ID: json.RawMessage(`7`), Result: SelectOption("allow")},
			`{"jsonrpc":"2.0","id":7,"result":{"outcome":{"outcome":"selected","optionId":"allow"}}}`},
		{"answer to the string id \"7\"", Response{ID: json.RawMessage(`"7"`), Result: SelectOption("allow")},
			`{"jsonrpc":"2.0","id":"7","result":{"outcome":{"outcome":"selected","optionId":"allow"}}}`},
		{"a raw id is compacted, its type kept", Response{ID: json.RawMessage(" 1e3 "), Result: CancelPermission()},
			`{"jsonrpc":"2.0","id":1e3,"result":{"outcome":{"outcome":"cancelled"}}}`},
		{"an empty option id is still sent", Response{ID: NumberID(1), Result: SelectOption("")},
			`{"jsonrpc":"2.0","id":1,"result":{"outcome":{"outcome":"selected","optionId":""}}}`},
		{"error record", Response{ID: StringID("sandbox-mcp-gap"), Error: &RPCError{Code: -32001, Message: "lost"}},
			`{"jsonrpc":"2.0","id":"sandbox-mcp-gap","error":{"code":-32001,"message":"lost"}}`},
		{"error wins over a result", Response{ID: StringID("turn-1"), Result: StopResult{StopReason: "end_turn"}, Error: &RPCError{Code: -32000, Message: "not delivered"}},
			`{"jsonrpc":"2.0","id":"turn-1","error":{"code":-32000,"message":"not delivered"}}`},
		{"turn ended locally", Response{ID: StringID("turn-1"), Result: StopResult{StopReason: "cancelled"}, Meta: map[string]any{"sandbox-mcp/local": "why"}},
			`{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"cancelled"},"_meta":{"sandbox-mcp/local":"why"}}`},
		{"a nil result is null", Response{ID: NumberID(2)},
			`{"jsonrpc":"2.0","id":2,"result":null}`},
		{"an error without an id has id null", Response{Error: &RPCError{Code: -32700, Message: "parse error"}},
			`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.msg)
			if err != nil || string(got) != tt.want {
				t.Fatalf("json.Marshal:\n got %s (%v)\nwant %s", got, err, tt.want)
			}
			direct, err := tt.msg.MarshalJSON() // what Client.Post sends
			if err != nil || string(direct) != tt.want {
				t.Errorf("MarshalJSON:\n got %s (%v)\nwant %s", direct, err, tt.want)
			}
		})
	}
}

// TestMessagesDecodeAsTheirKind: each message decodes as an Envelope of its own kind, with its id intact.
func TestMessagesDecodeAsTheirKind(t *testing.T) {
	tests := []struct {
		name   string
		msg    json.Marshaler
		kind   string
		wantID string // the raw id
	}{
		{"request", Request{ID: NumberID(7), Method: MethodPrompt}, "request", `7`},
		{"request with a string id", Request{ID: StringID("7"), Method: MethodPrompt}, "request", `"7"`},
		{"notification", Notification{Method: MethodCancel}, "notification", ``},
		{"response", Response{ID: json.RawMessage(`7`), Result: StopResult{StopReason: "end_turn"}}, "response", `7`},
		{"error response", Response{ID: StringID("x"), Error: &RPCError{Code: 1, Message: "m"}}, "response", `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.msg)
			var env Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for kind, is := range map[string]bool{"request": env.IsRequest(), "notification": env.IsNotification(), "response": env.IsResponse()} {
				if is {
					kinds = append(kinds, kind)
				}
			}
			kind := strings.Join(kinds, "+")
			if kind != tt.kind || env.JSONRPC != "2.0" || string(env.ID) != tt.wantID {
				t.Errorf("%s decodes as %q, jsonrpc %q, id %s; want %q with id %s", b, kind, env.JSONRPC, env.ID, tt.kind, tt.wantID)
			}
		})
	}
}

// TestEncode: an encoded request is the envelope json.Marshal writes, named by its method.
func TestEncode(t *testing.T) {
	req := Request{ID: StringID("turn-3"), Method: MethodPrompt, Params: PromptParams{SessionID: "s", Prompt: []ContentBlock{TextBlock("a\u2028b")}}}
	enc, err := req.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(req)
	if enc.Method != MethodPrompt || string(enc.Body) != string(want) {
		t.Errorf("Encode: got %s %s, want %s %s", enc.Method, enc.Body, MethodPrompt, want)
	}
	_, err = Request{ID: NumberID(1), Method: MethodNew, Params: func() {}}.Encode()
	if err == nil || !strings.HasPrefix(err.Error(), "encode session/new: ") {
		t.Errorf("Encode of a func: got %v, want an error naming session/new", err)
	}
}

func TestIDs(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{string(NumberID(0)), `0`}, {string(NumberID(-12)), `-12`}, {string(StringID("7")), `"7"`},
		{string(StringID(`a"b`)), `"a\"b"`}, {IDString(NumberID(7)), "7"}, {IDString(StringID("7")), "7"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
