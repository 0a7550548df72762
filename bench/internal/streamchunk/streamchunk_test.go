package streamchunk

import "testing"

func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
	}{
		{"a stream chunk", `{"update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"s42 "}}}`, 42},
		{"the first", `"agent_message_chunk" "text":"s1 "`, 1},
		{"other text", `{"sessionUpdate":"agent_message_chunk","content":{"text":"hello"}}`, 0},
		{"no number", `"agent_message_chunk" "text":"s "`, 0},
		{"cut short", `"agent_message_chunk" "text":"s12`, 0},
		{"not a space after", `"agent_message_chunk" "text":"s12x "`, 0},
		{"another update", `{"sessionUpdate":"agent_thought_chunk","content":{"text":"s3 "}}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Index([]byte(tc.in)); got != tc.want {
				t.Errorf("Index(%s) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}
