package manager

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// BenchmarkSummary100k: the summary of a session continued by summary (summaryOf), which reads its whole
// log: 100 k records of a turn as agents write it (a tool call, its update, then 8 streamed chunks).
func BenchmarkSummary100k(b *testing.B) {
	store, err := state.Open(filepath.Join(b.TempDir(), "state"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(store.LogPath("bench", "mock-1")), 0o700); err != nil {
		b.Fatal(err)
	}
	lg, err := eventlog.Open(store.LogPath("bench", "mock-1"))
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]eventlog.Record, 0, 1000)
	for i := 1; i <= 100_000; i++ {
		env := `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading the package layout before editing the file."}}}}`
		if i%10 == 0 {
			env = fmt.Sprintf(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"tool_call","toolCallId":"call-%d","title":"Run go test ./...","kind":"execute","status":"pending"}}}`, i)
		}
		batch = append(batch, eventlog.Record{Dir: eventlog.DirIn, SSEID: int64(i), Env: json.RawMessage(env)})
		if len(batch) == cap(batch) {
			if _, err := lg.Append(batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	lg.Close()
	m := New(Config{Store: store})
	for b.Loop() {
		if s, err := m.summaryOf(state.Session{Sandbox: "bench", Name: "mock-1"}); err != nil || !strings.Contains(s, "Run go test") {
			b.Fatalf("summaryOf: %q, %v", s, err)
		}
	}
}
