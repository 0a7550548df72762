package live

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// liveWithLog is a session whose log holds the given envelopes, with no stream running.
func liveWithLog(t *testing.T, envs [][]byte) *Session {
	t.Helper()
	lg, err := eventlog.Open(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	for i, env := range envs {
		if _, err := lg.Append(eventlog.Record{Dir: eventlog.DirIn, SSEID: int64(i + 1), Env: env}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(nil)
	return &Session{cfg: cfg, logger: cfg.Logger, rec: state.Session{Sandbox: "sb", Name: "mock-1", State: events.NewState()}, log: lg, changed: make(chan struct{})}
}

func bigChunks(n, size int) [][]byte {
	envs := make([][]byte, n)
	for i := range envs {
		envs[i] = chunkItem(int64(i+1), strings.Repeat("t", size)).data
	}
	return envs
}

// TestReadPageByteBudget: a page of a log of big records reads it in batches bounded by bytes and stops
// after pageScanBytes, so its memory does not follow limit×4 records of whatever size. Before, one page
// over 48 thought chunks of 512 KiB read and joined all 24 MiB at once; with raw=true it returned them
// all in one result.
func TestReadPageByteBudget(t *testing.T) {
	const n, size = 48, 512 << 10
	l := liveWithLog(t, bigChunks(n, size))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	page, err := l.Page(PageRequest{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("page over %d MiB of chunks: next_cursor %d, more %v, %d MiB allocated", n*size>>20, page.NextCursor, page.More, alloc>>20)
	if len(page.Events) != 1 || !page.More || page.NextCursor >= n {
		t.Errorf("page = %d events, next_cursor %d, more %v; want one thought cut by the page budget, more to read", len(page.Events), page.NextCursor, page.More)
	}
	if limit := uint64(4 * pageScanBytes); alloc > limit {
		t.Errorf("one page allocated %d MiB, want at most %d MiB", alloc>>20, limit>>20)
	}

	// Records that make no event (here updates of a kind we do not know) cost no page budget: the scan budget ends the page.
	quiet := make([][]byte, n)
	for i := range quiet {
		quiet[i] = []byte(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"some_future_update","x":"` + strings.Repeat("u", size) + `"}}}`)
	}
	l = liveWithLog(t, quiet)
	page, err = l.Page(PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 || !page.More || page.NextCursor < pageScanBytes/size || page.NextCursor > pageScanBytes/size+2 {
		t.Errorf("page over records without events = %d events, next_cursor %d, more %v; want none, stopped after about %d MiB (cursor %d)",
			len(page.Events), page.NextCursor, page.More, pageScanBytes>>20, pageScanBytes/size)
	}

	// raw=true: every envelope of a merged run goes out with the event, so the run is cut at the budget.
	l = liveWithLog(t, bigChunks(20, 16<<10))
	page, err = l.Page(PageRequest{Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(page)
	if len(b) > DefaultMaxBytes+20<<10 || !page.More || !page.Truncated {
		t.Errorf("raw page: %d bytes (budget %d), more %v, truncated %v; want it within the budget plus one envelope, with more to read", len(b), DefaultMaxBytes, page.More, page.Truncated)
	}
}
