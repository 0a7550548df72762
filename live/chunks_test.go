package live

import (
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

const testKey = "sk-ant-chunk-0123456789"

func updateEnv(kind, textJSON string) []byte {
	return []byte(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s1","update":{"sessionUpdate":"` + kind + `","content":{"type":"text",` + textJSON + `},"messageId":7}}}`)
}

// TestChunkRedactor: a key streamed two bytes a chunk, with thoughts and usage updates interleaved and
// chunks that spell "text" in another case, is stored so that neither an envelope nor all of them joined
// (as normalisation joins them) holds it; what was held back is written before the turn's end.
func TestChunkRedactor(t *testing.T) {
	c := chunkRedactor{red: redact.New([]string{testKey})}
	var stored [][]byte
	add := func(env []byte) {
		flush, out := c.in(env)
		stored = append(append(stored, flush...), out)
	}
	msg := "key=" + testKey + " ok"
	for i := 0; i < len(msg); i += 2 {
		piece := msg[i:min(i+2, len(msg))]
		add(updateEnv("agent_message_chunk", `"text":"`+piece+`"`))
		if i == 10 {
			add(updateEnv("agent_thought_chunk", `"text":"sk-ant"`)) // a thought that begins the key, then stops
			add([]byte(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s1","update":{"sessionUpdate":"usage_update","used":1}}}`))
			add(updateEnv("agent_message_chunk", `"TEXT":"x","text":"`+piece[:0]+`"`)) // a case variant must not survive
			add(updateEnv("agent_message_chunk", `"text":"sk-ant-chunk","text":""`))   // nor an exact duplicate
		}
	}
	add([]byte(`{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn"}}`))
	var recs []eventlog.Record
	for i, env := range stored {
		if strings.Contains(string(env), testKey[:8]) || strings.Contains(string(env), `"TEXT"`) {
			t.Errorf("stored envelope %d holds a piece of the key or a second text: %s", i, env)
		}
		recs = append(recs, eventlog.Record{Seq: int64(i + 1), Dir: eventlog.DirIn, Env: env})
	}
	var joined string
	for _, ev := range events.Normalize(recs, false) {
		joined += ev.Text
	}
	if want := "key=[REDACTED]" + " ok" + "sk-ant"; !strings.Contains(joined, "key=[REDACTED] ok") || strings.Contains(joined, testKey) {
		t.Errorf("joined text = %q, want it to hold %q", joined, want)
	}
	last := string(stored[len(stored)-1])
	if !strings.Contains(last, "turn-1") || !strings.Contains(string(stored[len(stored)-2]), "agent_thought_chunk") {
		t.Errorf("the held-back thought was not written just before the turn end: %s", stored[len(stored)-2])
	}
	if !strings.Contains(string(stored[1]), `"messageId":7`) {
		t.Errorf("a rewritten chunk lost its other fields: %s", stored[1])
	}
	if env := updateEnv("agent_message_chunk", `"text":"plain"`); string(stored[0]) != string(updateEnv("agent_message_chunk", `"text":"ke"`)) {
		t.Errorf("a chunk with nothing to redact was rewritten: %s (want it as sent, like %s)", stored[0], env)
	}
}
