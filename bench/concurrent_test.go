package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// concurrentSessions and concurrentScript: 50 sessions streaming 200 chunks 50 ms apart (10 s each, 1000
// events/s in all).
const (
	concurrentSessions = 50
	concurrentScript   = "stream 200 50"
)

// BenchmarkConcurrentSessions: the server's memory and CPU while 50 sessions stream at once. One sandbox of
// the sbx double holds them all (sandbox-agent runs one scripted-agent process per session; 50 sandboxes
// would be 50 sandbox-agents, too much for 2 cores), and each session has a client following it with
// waiting get_events calls, as a host would. --workers=64 lets all 50 waiting calls be served at once.
//
// Figures: ns/op is the streaming phase's wall time (10 s of agent time); rss-mb the server's peak resident
// set (VmHWM, from /proc/<pid>/status, over the whole run); rss0-mb its resident set with the sandbox and
// no session; idle50-mb with the 50 sessions open before they stream; session-kb = (rss − rss0) / 50;
// cpu-pct the server's CPU time (utime+stime) over the streaming phase's wall time, in % of one core;
// cpu-us-per-event that CPU time per streamed chunk.
func BenchmarkConcurrentSessions(b *testing.B) {
	e := sbxServer(b, []string{"--workers=64"}, nil)
	e.createSandbox(b)
	pid := e.cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // let the sandbox's set-up garbage go
	rss0, _, err := rssKB(pid)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, concurrentSessions)
	for i := range names {
		names[i] = e.createSession(b)
	}
	idle, _, _ := rssKB(pid)

	var wall, cpu time.Duration
	var streamed atomic.Int64
	for b.Loop() {
		cpu0, err := cpuTime(pid)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, len(names))
		for _, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var t manager.TurnResult
				if err := e.try("send_message", map[string]any{"sandbox": e.sandbox, "session": name, "message": concurrentScript}, &t); err != nil {
					errs <- err
					return
				}
				_, last, err := e.follow(name, t.Cursor, 2*time.Minute, func(p live.Page, _ time.Time) {
					for _, ev := range p.Events {
						if ev.Kind == events.KindAgentMessage {
							streamed.Add(int64(len(chunkIndices(ev.Text))))
						}
					}
				})
				if err == nil && last.Status != events.StatusIdle {
					err = fmt.Errorf("session %s is %s", name, last.Status)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("%v\n%s", err, e.stderr)
		}
		cpu1, err := cpuTime(pid)
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu = wall+time.Since(t0), cpu+cpu1-cpu0
	}
	_, hwm, err := rssKB(pid)
	if err != nil {
		b.Fatal(err)
	}
	want := int64(b.N) * concurrentSessions * 200
	if n := streamed.Load(); n != want {
		b.Fatalf("the clients saw %d chunks of %d", n, want)
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(hwm)/1024, "rss-mb")
	b.ReportMetric(float64(rss0)/1024, "rss0-mb")
	b.ReportMetric(float64(idle)/1024, "idle50-mb")
	b.ReportMetric(float64(hwm-rss0)/concurrentSessions, "session-kb")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-pct")
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-us-per-event")
}
