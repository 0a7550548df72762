package live

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// benchLive is a session whose log holds n records made by env(i), i = 1…n, with no stream running.
func benchLive(b *testing.B, n int, env func(i int) string) *Session {
	b.Helper()
	lg, err := eventlog.Open(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lg.Close() })
	batch := make([]eventlog.Record, 0, 1000)
	for i := 1; i <= n; i++ {
		batch = append(batch, eventlog.Record{Dir: eventlog.DirIn, SSEID: int64(i), Env: json.RawMessage(env(i))})
		if len(batch) == cap(batch) || i == n {
			if _, err := lg.Append(batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	cfg := testConfig(nil)
	return &Session{cfg: cfg, logger: cfg.Logger, rec: state.Session{Sandbox: "bench", Name: "mock-1", State: events.NewState()}, log: lg, changed: make(chan struct{})}
}

func chunkEnv(int) string {
	return `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading the package layout before editing the file."}}}}`
}

func toolEnv(i int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"tool_call_update","toolCallId":"call-%d","title":"Run go test ./...","kind":"execute","status":"completed","content":[{"type":"content","content":{"type":"text","text":"ok  \tgithub.com/example/pkg\t0.012s\n"}}]}}}`, i)
}

// mixedEnv is a turn as agents write it: a tool call, its update, then a reply streamed as 8 chunks.
func mixedEnv(i int) string {
	switch i % 10 {
	case 0:
		return fmt.Sprintf(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"tool_call","toolCallId":"call-%d","title":"Run go test ./...","kind":"execute","status":"pending"}}}`, i)
	case 1:
		return toolEnv(i - 1)
	}
	return chunkEnv(i)
}

// benchmarkReadPage times Page (a get_events page of the default size, without the MCP layer) at
// cursor in a log of n records.
func benchmarkReadPage(b *testing.B, n int, env func(int) string, cursor int64) {
	l := benchLive(b, n, env)
	req := PageRequest{Cursor: cursor, Limit: DefaultLimit}
	for b.Loop() {
		page, err := l.Page(req)
		if err != nil || len(page.Events) == 0 {
			b.Fatalf("Page: %d events, %v", len(page.Events), err)
		}
	}
}

// BenchmarkReadPageChunks: the last 100 records of 100 k message chunks (one merged event).
func BenchmarkReadPageChunks(b *testing.B) { benchmarkReadPage(b, 100_000, chunkEnv, 100_000-100) }

// BenchmarkReadPageTools: 100 distinct tool-call events from 10 k (each record is an event, so the page
// ends long before its 400-record batch does).
func BenchmarkReadPageTools(b *testing.B) { benchmarkReadPage(b, 10_000, toolEnv, 5_000) }

// BenchmarkReadPage100k: a default page at cursor 0 and at the end of a log of 100 k records. At cursor 0
// a log of chunks is the worst case: they merge into one event, so the page reads until its 16 MiB scan
// budget is spent (about 80 k records).
func BenchmarkReadPage100k(b *testing.B) {
	for _, log := range []struct {
		name string
		env  func(int) string
	}{{"chunks", chunkEnv}, {"tools", toolEnv}, {"mixed", mixedEnv}} {
		for _, at := range []struct {
			name   string
			cursor int64
		}{{"start", 0}, {"end", 100_000 - 100}} {
			b.Run(log.name+"/"+at.name, func(b *testing.B) { benchmarkReadPage(b, 100_000, log.env, at.cursor) })
		}
	}
}

// BenchmarkTurnText100k: send_message's final text of a turn that wrote a whole log of 100 k mixed
// records (turnText reads all of it). manager's BenchmarkSummary100k times the other whole-log read.
func BenchmarkTurnText100k(b *testing.B) {
	l := benchLive(b, 100_000, mixedEnv)
	for b.Loop() {
		if s, _ := l.turnText(0); !strings.Contains(s, "Reading the package layout") {
			b.Fatalf("turnText: %q", s)
		}
	}
}

// BenchmarkReadBatch: the raw log read behind each page, 400 records.
func BenchmarkReadBatch(b *testing.B) {
	l := benchLive(b, 10_000, toolEnv)
	for b.Loop() {
		if recs, err := l.log.Read(5_000, 4*DefaultLimit); err != nil || len(recs) != 4*DefaultLimit {
			b.Fatalf("Read: %d, %v", len(recs), err)
		}
	}
}
