package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/bench/internal/streamchunk"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Stream shape for the latency benchmark: the scripted agent's `stream <n> <ms>`, n chunks ms apart.
const (
	streamChunks   = 50
	streamInterval = 100 // ms
)

// BenchmarkEmitToVisible measures, per transport, the delay from the agent writing a message chunk to a
// client following the session with get_events (wait_seconds) holding it.
//
// The emission time comes from the agent's side: bench/internal/stamp sits in front of the scripted agent
// as sandbox-agent's launcher for it and records when each chunk line leaves the agent's stdout (same host
// clock, also inside containers). The schedule (turn start + i × interval) is not used: the agent's timer
// drifts by more than the delays measured here (drift-ms: chunk n's lag behind its schedule).
//
// Figures, over the turn's chunks (one turn of `stream 50 100` per iteration):
//
//	ns/op            median emit → visible at our client (get_events returned it)
//	raw-ns/op        median emit → arrival at a raw client reading the same session's SSE from
//	                 sandbox-agent through the same transport (what any client of sandbox-agent waits)
//	p95-ms, raw-p95-ms   the 95th percentiles of both
//	ingest-p50-ms, ingest-p95-ms   the event's server-recorded time → visible at our client: our part
//	emit-ingest-p50-ms           emit → the server recorded it: transport and SSE ingestion
//
// Transports: the sbx test double (curl through `sbx exec`), Docker with --network none (curl through
// `docker exec`), Docker with --network host and the published-port transport (HTTP).
func BenchmarkEmitToVisible(b *testing.B) {
	b.Run("sbx-exec", func(b *testing.B) {
		stamp := stampBinary(b)
		outDir := b.TempDir()
		e := sbxServer(b, nil, func(templates string) { installStampSbx(b, templates, stamp, outDir) })
		e.createSandbox(b)
		e.createSession(b)
		emitToVisible(b, e, outDir)
	})
	for _, tc := range []struct{ name, transport, network string }{
		{"docker-exec", "exec", "none"},
		{"docker-port", "port", "host"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			stamp := stampBinary(b)
			e := dockerServer(b, tc.transport, tc.network)
			e.createSandbox(b)
			installStampDocker(b, e.sandbox, stamp, e.ws)
			e.createSession(b)
			emitToVisible(b, e, e.ws)
		})
	}
}

// emitToVisible runs one `stream` turn per iteration in e's session and reports the delays.
func emitToVisible(b *testing.B, e *toolEnv, stampDir string) {
	b.Helper()
	raw := startRawReader(b, e)
	var visible, rawArrive, ingestVisible, emitIngest, drift []float64
	chunks := 0
	for b.Loop() {
		raw.reset()
		seen := map[int]time.Time{}   // chunk → when get_events returned it
		ingest := map[int]time.Time{} // chunk → the server's record time (first chunk of an event only)
		var t manager.TurnResult
		e.call(b, "send_message", map[string]any{"sandbox": e.sandbox, "session": e.session,
			"message": fmt.Sprintf("stream %d %d", streamChunks, streamInterval)}, &t)
		_, last, err := e.follow(e.session, t.Cursor, 2*time.Minute, func(p live.Page, at time.Time) {
			for _, ev := range p.Events {
				if ev.Kind != events.KindAgentMessage {
					continue
				}
				for k, i := range chunkIndices(ev.Text) {
					if _, ok := seen[i]; !ok {
						seen[i] = at
					}
					if k == 0 {
						ingest[i] = ev.Time
					}
				}
			}
		})
		if err != nil || last.Status != events.StatusIdle {
			b.Fatalf("following the turn: %s, %v\n%s", last.Status, err, e.stderr)
		}
		emit := readStamps(b, stampDir)
		arrived := raw.snapshot()
		if len(emit) < streamChunks || len(seen) < streamChunks {
			b.Fatalf("stamped %d chunks, saw %d of %d", len(emit), len(seen), streamChunks)
		}
		for i := 1; i <= streamChunks; i++ {
			em := emit[i]
			visible = append(visible, ms(seen[i].Sub(em)))
			if a, ok := arrived[i]; ok {
				rawArrive = append(rawArrive, ms(a.Sub(em)))
			}
			if in, ok := ingest[i]; ok {
				ingestVisible = append(ingestVisible, ms(seen[i].Sub(in)))
				emitIngest = append(emitIngest, ms(in.Sub(em)))
			}
		}
		drift = append(drift, ms(emit[streamChunks].Sub(emit[1]))-float64((streamChunks-1)*streamInterval))
		chunks += streamChunks
	}
	if len(rawArrive) < chunks {
		b.Fatalf("the raw reader saw %d of %d chunks", len(rawArrive), chunks)
	}
	b.ReportMetric(pct(visible, 50)*1e6, "ns/op")
	b.ReportMetric(pct(rawArrive, 50)*1e6, "raw-ns/op")
	b.ReportMetric(pct(visible, 50)/pct(rawArrive, 50), "x-raw")
	b.ReportMetric(pct(visible, 95), "p95-ms")
	b.ReportMetric(pct(rawArrive, 95), "raw-p95-ms")
	b.ReportMetric(pct(ingestVisible, 50), "ingest-p50-ms")
	b.ReportMetric(pct(ingestVisible, 95), "ingest-p95-ms")
	b.ReportMetric(pct(emitIngest, 50), "emit-ingest-p50-ms")
	b.ReportMetric(pct(drift, 50), "drift-ms")
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// pct is the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// chunkIndices parses the stream command's merged chunk text ("s3 s4 s5 ") into 3, 4, 5.
func chunkIndices(text string) []int {
	var out []int
	for _, f := range strings.Fields(text) {
		if n, err := strconv.Atoi(strings.TrimPrefix(f, "s")); err == nil && strings.HasPrefix(f, "s") {
			out = append(out, n)
		}
	}
	return out
}

// readStamps returns each chunk's emission time from stamp's files in dir; a chunk index stamped more
// than once (an earlier turn) counts with its latest time.
func readStamps(b *testing.B, dir string) map[int]time.Time {
	b.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "stamps-*"))
	out := map[int]time.Time{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var i int
			var ns int64
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &i, &ns); err == nil {
				if t := time.Unix(0, ns); t.After(out[i]) {
					out[i] = t
				}
			}
		}
	}
	return out
}

// rawReader follows the session's event stream straight from sandbox-agent, as a second SSE client on
// the server's own server id, and records when each stream chunk arrives.
type rawReader struct {
	mu     sync.Mutex
	arrive map[int]time.Time
}

func startRawReader(b *testing.B, e *toolEnv) *rawReader {
	b.Helper()
	r := &rawReader{arrive: map[int]time.Time{}}
	c := &acp.Client{ServerID: e.serverID(b, e.session), T: e.rawTransport(b)}
	ctx, cancel := context.WithCancel(context.Background())
	connected, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		var last int64 // reconnects resume after it: a replay must not count as an arrival
		for ctx.Err() == nil {
			_ = c.Stream(ctx, last, 10*time.Minute, func(id int64, data []byte) error {
				at := time.Now()
				last = max(last, id)
				if i := streamchunk.Index(data); i > 0 {
					r.mu.Lock()
					if _, ok := r.arrive[i]; !ok {
						r.arrive[i] = at
					}
					r.mu.Unlock()
				}
				return nil
			}, nil, func() { once.Do(func() { close(connected) }) })
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		b.Fatal("raw event stream did not connect")
	}
	return r
}

func (r *rawReader) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrive = map[int]time.Time{}
}

func (r *rawReader) snapshot() map[int]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.arrive)
}
