package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestLongRunning covers the long-running flow on the sandbox CLI double and, where an engine runs, on
// Docker: waiting reads with progress, waiting sends, 1600 events in pages, cancel, a dropped stream.
func TestLongRunning(t *testing.T) {
	t.Run("sbx", func(t *testing.T) {
		env, bin := testkit.FakeEnv(t)
		longScenarios(t, func(t *testing.T, extra ...string) *harness {
			return startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), extra...), env)
		}, func(t *testing.T, sandbox, _ string) {
			// sbx ≥ 0.37: the stream is HTTP through the published port. The double's VM cuts every
			// forwarded connection on SIGUSR1, as a dropped network path would.
			cutForwarded(t, env, sandbox)
		})
	})
	t.Run("sbx 0.36", func(t *testing.T) {
		// Before `sbx ports` the stream is a curl through exec.
		env, bin := testkit.FakeEnv(t)
		env["FAKECLI_SBX_VERSION"] = "0.36.0"
		longScenarios(t, func(t *testing.T, extra ...string) *harness {
			return startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), extra...), env)
		}, func(t *testing.T, _, serverID string) {
			// The stream is a local curl under the double: kill it as a network drop would.
			killProcs(t, "curl", "-N", serverID)
		})
	})
	t.Run("docker", func(t *testing.T) {
		image := testenv.Docker(t)
		env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
		longScenarios(t, func(t *testing.T, extra ...string) *harness {
			return startServer(t, append(dockerArgs(t, image, "exec", "none"), extra...), env)
		}, func(t *testing.T, _, serverID string) {
			// The stream's curl runs inside the container, which is a process of this machine too: the
			// host's /proc sees it, and a kill from here is a connection dropping.
			killProcs(t, "curl", "-N", serverID)
		})
	})
}

// cutForwarded sends SIGUSR1 to the double's VM process of sandbox, which closes every connection
// through its published ports (internal/fakecli/vm.go).
func cutForwarded(t *testing.T, env map[string]string, sandbox string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env["FAKECLI_ROOT"], "sbx", sandbox, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ VM string }
	if err := jsonUnmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(m.VM, &pid); err != nil || pid <= 1 {
		t.Fatalf("no VM process in %s: %q", sandbox, m.VM)
	}
	cutFile := filepath.Join(env["FAKECLI_ROOT"], "sbx", sandbox, "cut")
	os.Remove(cutFile)
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(cutFile)
		var n int
		if _, serr := fmt.Sscan(string(b), &n); err == nil && serr == nil {
			if n == 0 {
				t.Fatal("the VM cut no connection: the stream does not go through the published port")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the VM did not report the cut")
		}
	}
}

// session is a sandbox with one mock session, ready for messages.
type session struct {
	h                *harness
	sandbox, session string
}

func newSession(t *testing.T, h *harness) session {
	t.Helper()
	s := newSessionNoCleanup(t, h)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": s.sandbox}) })
	return s
}

func (s session) send(t *testing.T, msg string, wait int) manager.TurnResult {
	t.Helper()
	var turn manager.TurnResult
	s.h.OK("send_message", map[string]any{"sandbox": s.sandbox, "session": s.session, "message": msg, "wait_seconds": wait}, &turn)
	return turn
}

// drain reads get_events (waiting up to wait seconds per call) from cursor until the session is idle,
// returning every event and the number of pages.
func (s session) drain(t *testing.T, cursor int64, limit, wait int) ([]events.Event, int) {
	t.Helper()
	var all []events.Event
	deadline := time.Now().Add(60 * time.Second)
	for pages := 1; ; pages++ {
		var page live.Page
		s.h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "limit": limit, "wait_seconds": wait}, &page)
		all = append(all, page.Events...)
		cursor = page.NextCursor
		if page.Status == events.StatusIdle && !page.More {
			return all, pages
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle after 60 s (status %s); %d events", page.Status, len(all))
		}
	}
}

// agentText concatenates the agent's messages.
func agentText(evs []events.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Kind == events.KindAgentMessage {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

// toolCallTitles lists the titles of the tool calls among evs, in order.
func toolCallTitles(evs []events.Event) []string {
	var titles []string
	for _, ev := range evs {
		if ev.Kind == events.KindToolCall {
			titles = append(titles, ev.ToolCall.Title)
		}
	}
	return titles
}

// series is "prefix1 prefix2 … prefixN ", what strings.Join(titles, " ")+" " is for titles in that order.
func series(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s%d ", prefix, i)
	}
	return b.String()
}

func longScenarios(t *testing.T, start func(t *testing.T, extra ...string) *harness, dropStream func(t *testing.T, sandbox, serverID string)) {
	h := start(t)

	t.Run("waiting get_events reports progress", func(t *testing.T) {
		s := newSession(t, h)
		var mu sync.Mutex
		var progress []string
		h.Client.OnNotification(func(n mcp.JSONRPCNotification) {
			if n.Method == "notifications/progress" {
				mu.Lock()
				progress = append(progress, fmt.Sprint(n.Params.AdditionalFields["message"]))
				mu.Unlock()
			}
		})
		turn := s.send(t, "say working; sleep 4000; say done", 0)
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_events"
		req.Params.Meta = &mcp.Meta{ProgressToken: "tok-1"}
		cursor := turn.Cursor
		var got []events.Event
		for i := 0; i < 20; i++ {
			req.Params.Arguments = map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 20}
			res, err := h.Client.CallTool(context.Background(), req)
			if err != nil || res.IsError {
				t.Fatalf("get_events: %v %s", err, testkit.Text(res))
			}
			var page live.Page
			decode(t, res, &page)
			got, cursor = append(got, page.Events...), page.NextCursor
			if page.Status == events.StatusIdle {
				break
			}
			if len(page.Events) == 0 {
				t.Fatalf("a waiting get_events returned no events while the turn was %s", page.Status)
			}
		}
		if text := agentText(got); text != "workingdone" {
			t.Errorf("agent text = %q", text)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(progress) == 0 || !strings.Contains(progress[0], "running turn-1") {
			t.Errorf("progress notifications = %q, want at least one saying the turn is running", progress)
		}
	})

	t.Run("send_message waits for the final text", func(t *testing.T) {
		s := newSession(t, h)
		turn := s.send(t, "think about it; say All tests pass.", 20)
		if !turn.Done || turn.FinalText != "All tests pass." || turn.StopReason != "end_turn" || turn.Status != events.StatusIdle {
			t.Errorf("send_message with wait = %+v", turn)
		}
		turn = s.send(t, "sleep 3000; say late", 1)
		if turn.Done || turn.Status != events.StatusRunning {
			t.Errorf("a turn longer than the wait = %+v, want running", turn)
		}
		evs, _ := s.drain(t, turn.Cursor, 100, 10)
		if agentText(evs) != "late" {
			t.Errorf("events after the wait: %v", testkit.Summarize(evs))
		}
	})

	t.Run("1600 events read back in order across pages", func(t *testing.T) {
		s := newSession(t, h)
		turn := s.send(t, "calls 1600", 0)
		evs, pages := s.drain(t, turn.Cursor, 100, 10)
		titles := toolCallTitles(evs)
		if got, want := strings.Join(titles, " ")+" ", series("t", 1600); got != want {
			t.Errorf("tool calls out of order or missing: got %d, want 1600", len(titles))
		}
		if pages < 16 {
			t.Errorf("read in %d pages, want at least 16 of 100", pages)
		}
	})

	t.Run("cancel ends the turn as cancelled", func(t *testing.T) {
		s := newSession(t, h)
		turn := s.send(t, "say starting; sleep 30000; say never", 0)
		var c manager.CancelResult
		h.OK("cancel_turn", map[string]any{"sandbox": s.sandbox, "session": s.session}, &c)
		if c.TurnID != turn.TurnID {
			t.Errorf("cancelled %s, want %s", c.TurnID, turn.TurnID)
		}
		evs, _ := s.drain(t, turn.Cursor, 100, 10)
		if last := evs[len(evs)-1]; last.Kind != events.KindTurnEnd || last.StopReason != "cancelled" {
			t.Errorf("events: %v, want a cancelled turn_end last", testkit.Summarize(evs))
		}
		if strings.Contains(agentText(evs), "never") {
			t.Error("the agent went on after cancel")
		}
		if got := h.Fails("cancel_turn", map[string]any{"sandbox": s.sandbox, "session": s.session}); !strings.Contains(got, "no running turn") {
			t.Errorf("second cancel: %q", got)
		}
	})

	if dropStream != nil {
		t.Run("a dropped stream resumes with nothing lost or doubled", func(t *testing.T) {
			s := newSession(t, h)
			turn := s.send(t, "stream 20 150", 0)
			var page live.Page
			h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": turn.Cursor, "wait_seconds": 10}, &page)
			var list manager.SessionList
			h.OK("list_sessions", map[string]any{"sandbox": s.sandbox}, &list)
			dropStream(t, s.sandbox, h.ServerID(s.sandbox, s.session))
			evs, _ := s.drain(t, turn.Cursor, 100, 10)
			if got := agentText(evs); got != series("s", 20) {
				t.Errorf("text after a dropped stream = %q, want s1..s20 once each", got)
			}
		})
	}

	t.Run("auto-permission allows edits inside the workspace only", func(t *testing.T) {
		h := start(t, "--auto-permission=edits")
		s := newSession(t, h)
		turn := s.send(t, "perm-edit notes.txt; perm run the tests", 0)
		var page live.Page
		var got []events.Event
		for cursor := turn.Cursor; page.Status != events.StatusWaitingPermission; cursor = page.NextCursor {
			// A fresh page each time: decoding into the old one would reuse (and rewrite) the tool
			// calls that got already points to.
			page = live.Page{}
			h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
			got = append(got, page.Events...)
		}
		if len(page.Pending) != 1 || page.Pending[0].ToolCall.Title != "run the tests" {
			t.Fatalf("pending = %+v, want only the command", page.Pending)
		}
		var perm manager.PermissionResult
		h.OK("respond_permission", map[string]any{"sandbox": s.sandbox, "session": s.session, "request_id": page.Pending[0].Permission.RequestID, "option": "reject"}, &perm)
		rest, _ := s.drain(t, page.NextCursor, 100, 10)
		sum := strings.Join(testkit.Summarize(append(got, rest...)), "\n")
		for _, want := range []string{"permission_request Edit notes.txt\npermission_response allow\ntool_call_update completed", "permission_response reject\ntool_call_update failed"} {
			if !strings.Contains(sum, want) {
				t.Errorf("events:\n%s\nwant them to contain:\n%s", sum, want)
			}
		}
	})
}

func decode(t *testing.T, res *mcp.CallToolResult, out any) {
	t.Helper()
	b, _ := jsonMarshal(res.StructuredContent)
	if err := jsonUnmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// killProcs SIGKILLs this machine's processes whose command line holds all the words: only processes
// this test started match (the words include a server id with a random part).
func killProcs(t *testing.T, words ...string) {
	t.Helper()
	killed := 0
	for _, pid := range matchProcs(words...) {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no process matched %q", words)
	}
}

// matchProcs lists the processes whose command line holds all the words.
func matchProcs(words ...string) []int {
	var pids []int
	eachProc(func(p string, cmdline []byte) {
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		for _, w := range words {
			if !strings.Contains(line, w) {
				return
			}
		}
		if pid, err := strconv.Atoi(p); err == nil {
			pids = append(pids, pid)
		}
	})
	return pids
}

// TestRestartMidTurn kills the server with SIGKILL in the middle of a turn, starts a new one on the same
// state directory, and reads on from the old cursor: every event once, the session still listed. On the
// CLI double (exec transport) and, where an engine runs, on Docker with the port transport.
func TestRestartMidTurn(t *testing.T) {
	// The legacy plugin has exec -d: sandbox-agent outlives the server and the turn goes on. (sbx has no
	// detached exec and its held sandbox-agent dies with the server: sbx_e2e_test.go.)
	t.Run("docker-sandbox", func(t *testing.T) {
		env, bin := testkit.FakeEnv(t)
		restartMidTurn(t, testkit.SandboxArgs(t, "docker-sandbox", bin), env, true)
	})
	t.Run("docker", func(t *testing.T) {
		image := testenv.Docker(t)
		env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
		// Port transport: the server's stream is its own HTTP connection, gone with it. (With docker exec,
		// a curl inside the container outlives its client until its next write fails: docker does not
		// kill exec'd processes when the client goes.)
		restartMidTurn(t, dockerArgs(t, image, "port", "host"), env, false)
	})
}

func restartMidTurn(t *testing.T, args []string, env map[string]string, checkOrphans bool) {
	server := testenv.ServerBinary(t)
	c1, kill := startProc(t, server, args, env)
	h1 := &harness{testkit.New(t, c1, env)}
	s := newSessionNoCleanup(t, h1)
	turn := s.send(t, "stream 30 100", 0)
	var page live.Page
	h1.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": turn.Cursor, "wait_seconds": 10}, &page)
	kill()
	if len(page.Events) == 0 {
		t.Fatal("no events before the kill")
	}
	if checkOrphans {
		// The server's event stream (sbx exec … curl -N) must die with it: no orphans.
		time.Sleep(300 * time.Millisecond)
		srec, err := os.ReadFile(filepath.Join(strings.TrimPrefix(args[2], "--state-dir="), "sessions", s.sandbox, s.session+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			ServerID string `json:"server_id"`
		}
		if err := jsonUnmarshal(srec, &rec); err != nil || rec.ServerID == "" {
			t.Fatalf("session record: %v", err)
		}
		if n := countProcs("curl", "-N", rec.ServerID); n != 0 {
			t.Errorf("%d stream process(es) outlived the killed server", n)
		}
	}

	c2, _ := startProc(t, server, args, env)
	h2 := &harness{testkit.New(t, c2, env)}
	s.h = h2
	evs, _ := s.drain(t, page.NextCursor, 100, 10)
	if got := agentText(append(page.Events, evs...)); got != series("s", 30) {
		t.Errorf("text across the restart = %q, want s1..s30 once each", got)
	}
	var list manager.SandboxList
	h2.OK("list_sandboxes", map[string]any{}, &list)
	found := false
	for _, sb := range list.Sandboxes {
		if sb.Name == s.sandbox {
			found = sb.Ours && len(sb.Sessions) == 1 && sb.Sessions[0].Status == events.StatusIdle
		}
	}
	if !found {
		t.Errorf("list_sandboxes after restart = %+v, want %s with its idle session", list, s.sandbox)
	}
	h2.OK("destroy_sandbox", map[string]any{"name": s.sandbox}, &manager.DestroyResult{})
}

// newSessionNoCleanup is newSession for the tests that replace the server (h may be gone at the end): they
// destroy the sandbox themselves.
func newSessionNoCleanup(t *testing.T, h *harness) session {
	t.Helper()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
	var s manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &s)
	return session{h: h, sandbox: sb.Name, session: s.Name}
}

// startProc runs the built server as a child process with exactly env, and returns an initialized client
// and a function that SIGKILLs the process.
func startProc(t *testing.T, bin string, args []string, env map[string]string) (*client.Client, func()) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testkit.LogWriter(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	c := client.NewClient(transport.NewIO(stdout, stdin, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "restart-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c, kill
}

func countProcs(words ...string) int { return len(matchProcs(words...)) }
