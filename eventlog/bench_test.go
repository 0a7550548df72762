package eventlog

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// benchEnv is a typical streamed chunk: a session/update of ~200 bytes.
var benchEnv = json.RawMessage(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading the package layout before editing the file."}}}}`)

// benchmarkRead100At reads the last page of 100 from a log of n records.
// The figure must not depend on n: a page costs the page, not the log.
func benchmarkRead100At(b *testing.B, n int) {
	l, err := Open(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := make([]Record, 1000)
	for i := range batch {
		batch[i] = Record{Dir: DirIn, SSEID: int64(i + 1), Env: benchEnv}
	}
	for l.LastSeq() < int64(n) {
		if _, err := l.Append(batch[:min(len(batch), n-int(l.LastSeq()))]...); err != nil {
			b.Fatal(err)
		}
	}
	after := int64(n - 100)
	for b.Loop() { // b.Loop builds the log once and times only this
		recs, err := l.Read(after, 100)
		if err != nil || len(recs) != 100 {
			b.Fatalf("Read: %d records, %v", len(recs), err)
		}
	}
}

func BenchmarkRead100At1k(b *testing.B)   { benchmarkRead100At(b, 1_000) }
func BenchmarkRead100At10k(b *testing.B)  { benchmarkRead100At(b, 10_000) }
func BenchmarkRead100At100k(b *testing.B) { benchmarkRead100At(b, 100_000) }

// BenchmarkAppend appends one record per call without Sync, as the SSE
// reader does between batches.
func BenchmarkAppend(b *testing.B) { benchmarkAppend(b, false) }

// BenchmarkAppendSync shows what a Sync per record would cost, which is why
// Append does not fsync.
func BenchmarkAppendSync(b *testing.B) { benchmarkAppend(b, true) }

func benchmarkAppend(b *testing.B, sync bool) {
	l, err := Open(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	rec := Record{Dir: DirIn, Env: benchEnv}
	for b.Loop() {
		rec.SSEID++
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
		if !sync {
			continue
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
