// Package bench holds sandbox-mcp's performance figures: each benchmark times one of our operations and,
// in the same run, the raw call it wraps, and reports both and their ratio, so the overhead we add is
// visible next to the cost we cannot avoid. Nothing here asserts a time: targets live in the table that
// bench/run prints (bench/internal/report holds them) and writes to bench/RESULTS.md.
//
//	bench_test.go       start-up, get_events over logs of 1k-100k events, exec vs port transport, each
//	                    tool's overhead over its raw sandbox-agent calls
//	latency_test.go     agent emits a chunk → get_events returns it, per transport (bench/internal/stamp
//	                    stamps the emission at the agent's stdout)
//	concurrent_test.go  server memory and CPU with 50 sessions streaming at once
//	docker_test.go      Docker sandboxes: create → healthy, destroy
//	server_test.go      the harness: the built server over stdio on the sbx double or Docker
//
// Metrics (the same names in every benchmark, read by bench/run):
//
//	ns/op      our operation, mean (latency: the median)
//	raw-ns/op  the raw call it wraps, measured interleaved with ours
//	x-raw      ns/op ÷ raw-ns/op
//	…          more figures per benchmark, named in its comment
//
// Everything is real where it can run here: the built sandbox-mcp binary over stdio, the real
// sandbox-agent 0.4.2 with the scripted agent, the sbx test double (internal/fakecli), a real Docker
// Engine with the test image. All traffic stays on loopback. A missing component skips a benchmark, or
// fails it with CI=true (testenv.Missing).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// tempRoot holds what outlives one benchmark (the built server); TestMain removes it, and the scripted
// agent's build directory (testenv builds it into a fresh temp dir and leaves it) when we used it.
var (
	tempRoot    string
	scriptedDir string
)

func TestMain(m *testing.M) {
	fakecli.Dispatch() // this test binary doubles as the sbx and docker CLIs of the test double
	dir, err := os.MkdirTemp("", "sandbox-mcp-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tempRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	if scriptedDir != "" && strings.HasPrefix(filepath.Base(scriptedDir), "scripted-agent-") {
		os.RemoveAll(scriptedDir)
	}
	os.Exit(code)
}

// report sets ns/op to ours and adds the raw figure and the ratio.
func report(b *testing.B, ours, raw time.Duration, n int) {
	b.Helper()
	if n == 0 {
		b.Fatal("no iteration ran")
	}
	o, r := float64(ours.Nanoseconds())/float64(n), float64(raw.Nanoseconds())/float64(n)
	b.ReportMetric(o, "ns/op")
	b.ReportMetric(r, "raw-ns/op")
	if r > 0 {
		b.ReportMetric(o/r, "x-raw")
	}
}

var (
	stampOnce sync.Once
	stampPath string
	stampErr  error
)

// serverBinary is the server as a host runs it (testenv.ServerBinary: built once per process).
func serverBinary(b *testing.B) string { return testenv.ServerBinary(b) }

// startClient starts the server binary with exactly env (nothing leaks from ours) and returns an
// unconnected MCP client over its stdio, and the server's process.
func startClient(ctx context.Context, bin string, env, args []string, stderr io.Writer) (*client.Client, *exec.Cmd, error) {
	var cmd *exec.Cmd
	tr := transport.NewStdioWithOptions(bin, env, args,
		transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd = exec.CommandContext(ctx, command, args...)
			cmd.Env = env
			cmd.Stderr = stderr
			return cmd, nil
		}))
	if err := tr.Start(ctx); err != nil {
		return nil, nil, err
	}
	return client.NewClient(tr), cmd, nil
}

func initialize(ctx context.Context, c *client.Client) error {
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18" // what hosts send today: the handshake era
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	_, err := c.Initialize(ctx, init)
	return err
}

// BenchmarkStartup: process start → initialize answered (ns/op), then tools/list (list-ms) and the exit
// once stdin closes (exit-ms), with the built binary. Raw: the same binary's `--version` (process start,
// runtime init, exit): what any process of this size costs to start.
func BenchmarkStartup(b *testing.B) {
	bin := serverBinary(b)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	var initD, listD, exitD, rawD time.Duration
	n := 0
	for b.Loop() {
		stateDir := b.TempDir()
		stderr := &syncbuf.Buffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		c, _, err := startClient(context.Background(), bin, env, []string{"--state-dir", stateDir}, stderr)
		if err != nil {
			b.Fatal(err)
		}
		if err := initialize(ctx, c); err != nil {
			b.Fatalf("initialize: %v\n%s", err, stderr.Tail(4000))
		}
		t1 := time.Now()
		if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
			b.Fatalf("tools/list: %v\n%s", err, stderr.Tail(4000))
		}
		t2 := time.Now()
		if err := c.Close(); err != nil { // closes stdin and waits for the exit
			b.Fatalf("exit: %v\n%s", err, stderr.Tail(4000))
		}
		t3 := time.Now()
		cancel()
		initD, listD, exitD = initD+t1.Sub(t0), listD+t2.Sub(t1), exitD+t3.Sub(t2)

		r0 := time.Now()
		cmd := exec.Command(bin, "--version")
		cmd.Env = env
		if out, err := cmd.Output(); err != nil || !strings.HasPrefix(string(out), "sandbox-mcp ") {
			b.Fatalf("--version: %q, %v", out, err)
		}
		rawD += time.Since(r0)
		n++
	}
	report(b, initD, rawD, n)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(ms(listD), "list-ms/op")
	b.ReportMetric(ms(exitD), "exit-ms/op")
}

// chunkEnv is a typical streamed record: an agent_message_chunk of ~200 bytes.
var chunkEnv = json.RawMessage(`{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s-0123456789abcdef","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Reading the package layout before editing the file."}}}}`)

// writeLog writes n agent_message records to a new log at path.
func writeLog(b *testing.B, path string, n int) {
	b.Helper()
	lg, err := eventlog.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]eventlog.Record, 1000)
	for lg.LastSeq() < int64(n) {
		k := min(len(batch), n-int(lg.LastSeq()))
		for i := range batch[:k] {
			batch[i] = eventlog.Record{Dir: eventlog.DirIn, SSEID: lg.LastSeq() + int64(i) + 1, Env: chunkEnv}
		}
		if _, err := lg.Append(batch[:k]...); err != nil {
			b.Fatal(err)
		}
	}
	if err := lg.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchmarkGetEvents times manager.GetEvents of the last page (limit 100) of a session log of n records,
// against the eventlog.Read it performs. Neither must grow with n.
//
// The manager is the real one over a real state directory. Its backend is the real sbx backend pointed
// at a binary that does not exist: loading a session only builds a transport and never calls it, and the
// session is recorded as ended, so no event stream starts.
func benchmarkGetEvents(b *testing.B, n int) {
	dir := b.TempDir()
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	if err := store.PutSandbox(state.Sandbox{Name: "bench", Backend: "sbx", Workspace: dir, AgentPort: 2468, Created: now}); err != nil {
		b.Fatal(err)
	}
	st := events.NewState()
	st.End()
	if err := store.PutSession(state.Session{Sandbox: "bench", Name: "mock-1", Agent: "mock", ServerID: "smcp-bench",
		SessionID: "s-0123456789abcdef", Cwd: dir, Created: now, State: st}); err != nil {
		b.Fatal(err)
	}
	writeLog(b, store.LogPath("bench", "mock-1"), n)
	// The raw reader gets its own copy: a log may be open in one place only.
	rawPath := filepath.Join(dir, "raw.log")
	writeLog(b, rawPath, n)
	raw, err := eventlog.Open(rawPath)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()

	sbx := sandbox.NewSbx(&sandbox.Exec{}, sandbox.SbxOptions{Binary: filepath.Join(dir, "no-such-sbx")})
	m := manager.New(manager.Config{Backends: map[string]sandbox.Backend{"sbx": sbx}, DefaultBackend: "sbx", Store: store})
	defer m.Close()
	ctx := context.Background()
	req := manager.EventsRequest{Sandbox: "bench", Session: "mock-1", Cursor: int64(n - 100), Limit: 100}
	if _, err := m.GetEvents(ctx, req); err != nil { // loads the session: a one-time cost
		b.Fatal(err)
	}
	var ours, rawD time.Duration
	count := 0
	for b.Loop() {
		t0 := time.Now()
		page, err := m.GetEvents(ctx, req)
		t1 := time.Now()
		if err != nil || page.NextCursor != int64(n) || page.More {
			b.Fatalf("GetEvents: next %d more %v, %v", page.NextCursor, page.More, err)
		}
		recs, err := raw.Read(int64(n-100), 4*100) // what GetEvents asks of the log for limit 100
		t2 := time.Now()
		if err != nil || len(recs) != 100 {
			b.Fatalf("Read: %d records, %v", len(recs), err)
		}
		ours, rawD = ours+t1.Sub(t0), rawD+t2.Sub(t1)
		count++
	}
	report(b, ours, rawD, count)
}

func BenchmarkGetEvents1k(b *testing.B)   { benchmarkGetEvents(b, 1_000) }
func BenchmarkGetEvents10k(b *testing.B)  { benchmarkGetEvents(b, 10_000) }
func BenchmarkGetEvents100k(b *testing.B) { benchmarkGetEvents(b, 100_000) }

// dockerSandbox creates a container of the docker backend with opts and removes it when b ends.
func dockerSandbox(b *testing.B, image string, opts sandbox.DockerOptions) (*sandbox.Docker, string) {
	b.Helper()
	o := sandbox.DefaultDockerOptions()
	o.Image, o.CPUs, o.StateDir = image, "1", b.TempDir()
	o.Network, o.Transport = opts.Network, opts.Transport
	o.InsecureHostNetwork = opts.Network == "host"
	if opts.Transport != "exec" {
		o.Relay = testenv.Relay(b) // a static build: the bench binary cannot serve as the relay
	}
	d := sandbox.NewDocker(&sandbox.Exec{Timeout: 60 * time.Second}, o)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "bench-" + opts.Transport + "-" + hex.EncodeToString(suffix)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := d.Remove(ctx, name); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
			b.Errorf("remove %s: %v", name, err)
			_ = exec.CommandContext(ctx, "docker", "rm", "-f", "--", name).Run()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := d.Create(ctx, sandbox.Spec{Name: name, Workspace: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	return d, name
}

// waitHealthy polls sandbox-agent's health check through t for up to 20 s.
func waitHealthy(b *testing.B, t acp.Transport) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := acp.Health(context.Background(), t, 2*time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("sandbox-agent did not become healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const agentPort = 2468

// BenchmarkExecTransport: acp.Health through acp.Curl (a `docker exec … curl` per request, the exec
// transport of --docker-network none) against the same `docker exec NAME curl` run directly.
func BenchmarkExecTransport(b *testing.B) {
	image := testenv.Docker(b)
	d, name := dockerSandbox(b, image, sandbox.DockerOptions{Network: "none", Transport: "exec"})
	ctx := context.Background()
	if _, err := d.Exec(ctx, name, sandbox.ExecSpec{Detach: true, Args: []string{"sandbox-agent", "server", "--no-token",
		"--no-telemetry", "-H", "127.0.0.1", "-p", strconv.Itoa(agentPort)}}); err != nil {
		b.Fatal(err)
	}
	t := &acp.Curl{Port: agentPort, Exec: func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
		return d.Exec(ctx, name, spec)
	}}
	waitHealthy(b, t)
	url := "http://127.0.0.1:" + strconv.Itoa(agentPort) + "/v1/health"
	healthVsRaw(b, t, func(context.Context) error {
		if out, err := exec.Command("docker", "exec", name, "curl", "-sS", "--max-time", "10", url).CombinedOutput(); err != nil {
			return fmt.Errorf("docker exec curl: %v: %s", err, out)
		}
		return nil
	})
}

// healthVsRaw times acp.Health through t (ours) against raw, the same request made directly, once per
// iteration, and reports both.
func healthVsRaw(b *testing.B, t acp.Transport, raw func(ctx context.Context) error) {
	b.Helper()
	ctx := context.Background()
	var ours, rawD time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if err := acp.Health(ctx, t, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := raw(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ours, rawD = ours+t1.Sub(t0), rawD+t2.Sub(t1)
		n++
	}
	report(b, ours, rawD, n)
}

// rawGet is a plain GET of url through c, with token as the bearer token when there is one: the body read,
// the status 200.
func rawGet(ctx context.Context, c *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("raw GET: HTTP %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkSocketTransport: acp.Health through acp.HTTP over the relay's unix socket (socket transport:
// the relay is the container's main process, sandbox-agent token-less on the container's own loopback,
// --network none) against a plain GET over the same socket.
func BenchmarkSocketTransport(b *testing.B) {
	image := testenv.Docker(b)
	d, name := dockerSandbox(b, image, sandbox.DockerOptions{Network: "none", Transport: "socket"})
	ctx := context.Background()
	ep, ok, err := d.AgentEndpoint(ctx, name)
	if err != nil || !ok || ep.Socket == "" {
		b.Fatalf("AgentEndpoint: %+v %v %v", ep, ok, err)
	}
	t := &acp.HTTP{BaseURL: "http://sandbox-agent", Client: acp.UnixClient(ep.Socket)}
	waitHealthy(b, t)
	rawClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", ep.Socket)
	}}}
	healthVsRaw(b, t, func(ctx context.Context) error {
		return rawGet(ctx, rawClient, "http://sandbox-agent/v1/health", "")
	})
}

// BenchmarkPortTransport: acp.Health through acp.HTTP (port transport: the relay is the container's main
// process on a loopback port of the host network, with a bearer token, in front of sandbox-agent) against a
// plain http.Get.
func BenchmarkPortTransport(b *testing.B) {
	image := testenv.Docker(b)
	d, name := dockerSandbox(b, image, sandbox.DockerOptions{Network: "host", Transport: "port"})
	ctx := context.Background()
	ep, ok, err := d.AgentEndpoint(ctx, name)
	if err != nil || !ok {
		b.Fatalf("AgentEndpoint: %+v %v %v", ep.URL, ok, err)
	}
	if !strings.HasPrefix(ep.URL, "http://127.0.0.1:") {
		b.Fatalf("endpoint %s is not on loopback", ep.URL)
	}
	t := &acp.HTTP{BaseURL: ep.URL, Token: ep.Token}
	waitHealthy(b, t)
	// The same client and connection pool acp.HTTP uses.
	healthVsRaw(b, t, func(ctx context.Context) error { return rawGet(ctx, http.DefaultClient, ep.URL+"/v1/health", ep.Token) })
}

// BenchmarkToolOverhead drives the built server over stdio with the sbx test double, the real
// sandbox-agent and the scripted agent, each tool against the raw calls it makes:
//
//   - get_events: the whole tool call (MCP framing, binding, the manager, normalising, JSON) against
//     the eventlog.Read it performs, on a copy of the session's log; ping-ms is an MCP ping's round trip
//     over the same stdio, the floor of any tool call;
//   - send_message: the tool call, which returns once the agent reacts (its first record is on the
//     event stream), against the raw session/prompt POST (curl through `sbx exec`) to a second agent
//     process of the same sandbox-agent, which returns when the turn ends. Each turn is the same script;
//   - respond_permission: answering a pending permission request (the scripted agent's `perm`), against
//     the raw POST of the same answer to the second agent process when it asks the same;
//   - create_session: a new session (agent process spawned, initialize, session/new) against the raw
//     initialize and session/new POSTs for a new server id. check-ms is what create_session does
//     besides (sandbox-agent's version and health checks, two more execs), timed alone.
//
// The raw calls go through acp.Curl and the same fake `sbx exec` the server uses.
func BenchmarkToolOverhead(b *testing.B) {
	e := newToolEnv(b)
	const script = "say Hello from the sandbox; tool build; say done"
	for range 3 {
		e.turn(b, script)
	}

	b.Run("get_events", func(b *testing.B) {
		// The server holds the log open; read a copy of it (the session is idle, so it is complete).
		src := filepath.Join(e.stateDir, "sessions", e.sandbox, e.session+".log")
		dst := filepath.Join(b.TempDir(), "copy.log")
		for _, ext := range []string{"", ".idx"} {
			data, err := os.ReadFile(src + ext)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(dst+ext, data, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		lg, err := eventlog.Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		defer lg.Close()
		args := map[string]any{"sandbox": e.sandbox, "session": e.session, "cursor": 0}
		ctx := context.Background()
		var ours, raw, ping time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			var page live.Page
			e.call(b, "get_events", args, &page)
			t1 := time.Now()
			if len(page.Events) == 0 || page.More {
				b.Fatalf("get_events: %d events, more %v", len(page.Events), page.More)
			}
			recs, err := lg.Read(0, 4*live.DefaultLimit)
			t2 := time.Now()
			if err != nil || len(recs) == 0 {
				b.Fatalf("Read: %d records, %v", len(recs), err)
			}
			// The floor of any tool call: an MCP ping's round trip over the same stdio.
			//lint:ignore SA1019 the handshake asks for 2025-06-18 (above), which still has ping: it is sent.
			if err := e.c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			ours, raw, ping = ours+t1.Sub(t0), raw+t2.Sub(t1), ping+time.Since(t2)
			n++
		}
		report(b, ours, raw, n)
		b.ReportMetric(float64(ping.Microseconds())/1000/float64(n), "ping-ms/op")
	})

	b.Run("send_message", func(b *testing.B) {
		// The raw side: our own ACP client over curl in the sandbox through the fake `sbx exec`, to an agent
		// process of its own (a server id the server does not use), so the server's session is untouched.
		rawC, sessionID := rawSession(b, e, "bench-raw")
		ctx := context.Background()
		prompt := acp.PromptParams{SessionID: sessionID, Prompt: []acp.ContentBlock{acp.TextBlock(script)}}
		var ours, raw time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			var t manager.TurnResult
			e.call(b, "send_message", map[string]any{"sandbox": e.sandbox, "session": e.session, "message": script}, &t)
			ours += time.Since(t0)
			e.waitIdle(b, t.Cursor) // not timed: the next message needs an idle session

			t1 := time.Now()
			res, err := rawC.Request(ctx, acp.Request{ID: acp.StringID("raw-" + strconv.Itoa(n)), Method: acp.MethodPrompt, Params: prompt}, "", 30*time.Second)
			raw += time.Since(t1)
			if err != nil || !strings.Contains(string(res), "end_turn") {
				b.Fatalf("raw session/prompt: %s, %v", res, err)
			}
			n++
		}
		report(b, ours, raw, n)
	})

	b.Run("respond_permission", func(b *testing.B) {
		const script = "perm Edit hello.txt"
		rawC, sessionID := rawSession(b, e, "bench-raw-perm")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The raw side learns of its agent's permission requests from its own event stream.
		perms, connected := make(chan json.RawMessage, 4), make(chan struct{})
		go func() {
			_ = rawC.Stream(ctx, 0, 10*time.Minute, func(_ int64, data []byte) error {
				var env acp.Envelope
				if json.Unmarshal(data, &env) == nil && env.Method == acp.MethodPermission {
					perms <- env.ID
				}
				return nil
			}, nil, func() { close(connected) })
		}()
		select {
		case <-connected:
		case <-time.After(30 * time.Second):
			b.Fatal("raw event stream did not connect")
		}
		prompt := acp.PromptParams{SessionID: sessionID, Prompt: []acp.ContentBlock{acp.TextBlock(script)}}
		var ours, raw time.Duration
		n := 0
		for b.Loop() {
			var t manager.TurnResult
			e.call(b, "send_message", map[string]any{"sandbox": e.sandbox, "session": e.session, "message": script}, &t)
			cursor, p, err := e.follow(e.session, t.Cursor, 30*time.Second, nil)
			if err != nil || p.Status != events.StatusWaitingPermission || len(p.Pending) != 1 {
				b.Fatalf("waiting for the permission request: %s %+v, %v", p.Status, p.Pending, err)
			}
			t0 := time.Now()
			var pr manager.PermissionResult
			e.call(b, "respond_permission", map[string]any{"sandbox": e.sandbox, "session": e.session,
				"request_id": p.Pending[0].Permission.RequestID, "option": "allow"}, &pr)
			ours += time.Since(t0)
			e.waitIdle(b, cursor)

			done := make(chan error, 1)
			go func() {
				res, err := rawC.Request(ctx, acp.Request{ID: acp.StringID("raw-perm-" + strconv.Itoa(n)), Method: acp.MethodPrompt, Params: prompt}, "", 60*time.Second)
				if err == nil && !strings.Contains(string(res), "end_turn") {
					err = fmt.Errorf("turn ended with %s", res)
				}
				done <- err
			}()
			var id json.RawMessage
			select {
			case id = <-perms:
			case err := <-done:
				b.Fatalf("raw turn ended before asking: %v", err)
			case <-time.After(30 * time.Second):
				b.Fatal("raw agent did not ask for permission")
			}
			answer := acp.Response{ID: id, Result: acp.SelectOption("allow")}
			t1 := time.Now()
			if err := rawC.Post(ctx, answer, 15*time.Second); err != nil {
				b.Fatalf("raw answer: %v", err)
			}
			raw += time.Since(t1)
			if err := <-done; err != nil {
				b.Fatalf("raw turn: %v", err)
			}
			n++
		}
		report(b, ours, raw, n)
	})

	// Last: every iteration leaves two agent processes running (sessions have no close).
	b.Run("create_session", func(b *testing.B) {
		t := e.rawTransport(b)
		sbx := sandbox.NewSbx(&sandbox.Exec{Env: e.env, Timeout: 60 * time.Second}, sandbox.SbxOptions{Binary: filepath.Join(e.bin, "sbx")})
		ctx := context.Background()
		var ours, raw, check time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			var sess manager.SessionResult
			e.call(b, "create_session", map[string]any{"sandbox": e.sandbox, "agent": "mock"}, &sess)
			t1 := time.Now()
			rawC := &acp.Client{ServerID: "bench-raw-new-" + strconv.Itoa(n), T: t}
			if _, err := rawC.Request(ctx, acp.Request{ID: acp.NumberID(0), Method: acp.MethodInitialize, Params: initializeParams}, "mock", 30*time.Second); err != nil {
				b.Fatalf("raw initialize: %v", err)
			}
			if res, err := rawC.Request(ctx, acp.Request{ID: acp.NumberID(1), Method: acp.MethodNew, Params: acp.SessionParams{Cwd: e.ws, MCPServers: []any{}}}, "", 30*time.Second); err != nil || !strings.Contains(string(res), "sessionId") {
				b.Fatalf("raw session/new: %s, %v", res, err)
			}
			t2 := time.Now()
			// What create_session does besides: `sandbox-agent --version` and GET /v1/health, each an exec.
			if _, err := sbx.Exec(ctx, e.sandbox, sandbox.ExecSpec{Args: []string{"sandbox-agent", "--version"}}); err != nil {
				b.Fatalf("version: %v", err)
			}
			if err := acp.Health(ctx, t, 10*time.Second); err != nil {
				b.Fatalf("health: %v", err)
			}
			ours, raw, check = ours+t1.Sub(t0), raw+t2.Sub(t1), check+time.Since(t2)
			n++
		}
		report(b, ours, raw, n)
		b.ReportMetric(float64(check.Microseconds())/1000/float64(n), "check-ms/op")
	})
}

// initializeParams are create_session's initialize parameters.
var initializeParams = acp.InitializeParams{ProtocolVersion: 1, ClientInfo: acp.Implementation{Name: "sandbox-mcp-bench", Version: "1"}}

// rawSession opens a session of our own (server id serverID) in e's sandbox, without the server, and
// returns its client and ACP session id. Its agent process stays until the sandbox goes.
func rawSession(b *testing.B, e *toolEnv, serverID string) (*acp.Client, string) {
	b.Helper()
	rawC := &acp.Client{ServerID: serverID, T: e.rawTransport(b)}
	ctx := context.Background()
	if _, err := rawC.Request(ctx, acp.Request{ID: acp.NumberID(0), Method: acp.MethodInitialize, Params: initializeParams}, "mock", 30*time.Second); err != nil {
		b.Fatal(err)
	}
	res, err := rawC.Request(ctx, acp.Request{ID: acp.NumberID(1), Method: acp.MethodNew, Params: acp.SessionParams{Cwd: e.ws, MCPServers: []any{}}}, "", 30*time.Second)
	var sn struct {
		SessionID string `json:"sessionId"`
	}
	if err != nil || json.Unmarshal(res, &sn) != nil || sn.SessionID == "" {
		b.Fatalf("session/new: %s, %v", res, err)
	}
	return rawC, sn.SessionID
}
