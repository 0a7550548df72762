package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Fault tests: each fault is one clear, one-line tool error (isError) and leaves a consistent state: later
// calls work or give the right error, and no process is left behind. Faults covered elsewhere: a missing
// backend CLI and a sandbox removed behind our back (TestBackendProblems), a dropped event stream
// (TestLongRunning), a SIGKILLed server (TestRestartMidTurn; TestFaultKillDuringBurst adds the state checks).

// faultCLIEnv is --cli-env with the double's fault switches passed through to it.
const faultCLIEnv = "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES,FAKECLI_HANG,FAKECLI_GARBAGE,FAKECLI_FAIL"

// TestFaultCLIHangs: a CLI call that never returns is killed at --exec-timeout, the tool call fails naming
// the deadline, and the hung process is gone.
func TestFaultCLIHangs(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	env["FAKECLI_HANG"] = "ls"
	args := append(testkit.SandboxArgs(t, "sbx", bin), faultCLIEnv, "--exec-timeout=2s")
	stateDir := strings.TrimPrefix(args[2], "--state-dir=")
	h := startServer(t, args, env)

	start := time.Now()
	got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
	took := time.Since(start)
	t.Logf("create_sandbox with a hung `sbx ls` failed after %v: %s", took.Round(time.Millisecond), got)
	if !strings.Contains(got, "deadline") || strings.Contains(got, "\n") {
		t.Errorf("got %q, want one line mentioning the deadline", got)
	}
	if took > 2*time.Second+10*time.Second {
		t.Errorf("create_sandbox took %v with --exec-timeout=2s", took)
	}
	waitNoProcs(t, env["FAKECLI_ROOT"], 5*time.Second)

	// list_sandboxes still answers (the deadline becomes its warning), and nothing was recorded.
	var list manager.SandboxList
	h.OK("list_sandboxes", map[string]any{}, &list)
	if len(list.Sandboxes) != 0 || len(list.Warnings) != 1 || !strings.Contains(list.Warnings[0], "deadline") {
		t.Errorf("list_sandboxes with a hung CLI = %+v, want no sandboxes and a warning about the deadline", list)
	}
	if recs, _ := os.ReadDir(filepath.Join(stateDir, "sandboxes")); len(recs) != 0 {
		t.Errorf("state records left by the failed create: %v", recs)
	}
	waitNoProcs(t, env["FAKECLI_ROOT"], 5*time.Second)
}

// TestFaultCLIGarbage: a CLI that prints binary garbage and exits non-zero gives a clean error (none of the
// garbage in it), no panic, and a consistent state.
func TestFaultCLIGarbage(t *testing.T) {
	tests := []struct {
		name, sub string
		want      []string
	}{
		{"ls prints garbage: the lookup fails", "ls", []string{"sbx ls", "exit status 3"}},
		{"exec prints garbage: the version check fails and the sandbox is rolled back", "exec",
			[]string{"check sandbox-agent version", "exit status 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, bin := testkit.FakeEnv(t)
			env["FAKECLI_GARBAGE"] = tt.sub
			args := append(testkit.SandboxArgs(t, "sbx", bin), faultCLIEnv)
			stateDir := strings.TrimPrefix(args[2], "--state-dir=")
			h := startServer(t, args, env)
			got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
			t.Logf("create_sandbox: %s", got)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q, want it to contain %q", got, w)
				}
			}
			if strings.ContainsAny(got, "\n\x00\x1b\x7f") || !utf8.ValidString(got) {
				t.Errorf("error carries the garbage or several lines: %q", got)
			}
			// The server still answers, and nothing was left: no sandbox in the double, no record in ours.
			var list manager.SandboxList
			h.OK("list_sandboxes", map[string]any{}, &list)
			if len(list.Sandboxes) != 0 {
				t.Errorf("list_sandboxes = %+v, want no sandboxes", list)
			}
			if entries, _ := os.ReadDir(filepath.Join(env["FAKECLI_ROOT"], "sbx")); countDirs(entries) != 0 {
				t.Errorf("sandbox left in the double: %v", entries)
			}
			if recs, _ := os.ReadDir(filepath.Join(stateDir, "sandboxes")); len(recs) != 0 {
				t.Errorf("state records left: %v", recs)
			}
			waitNoProcs(t, env["FAKECLI_ROOT"], 5*time.Second)
		})
	}
}

// TestFaultSandboxAgentDies: sandbox-agent is killed in the middle of a turn. The session fails with a
// reason that says what to do, and create_session starts sandbox-agent again.
func TestFaultSandboxAgentDies(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	args := testkit.SandboxArgs(t, "sbx", bin)
	h := startServer(t, args, env)
	s := newSessionNoCleanup(t, h)
	turn := s.send(t, "stream 100 100", 0)
	// Well into the turn (20 of 100 chunks, 2 s): the prompt's POST has long stopped waiting.
	var got []events.Event
	cursor := turn.Cursor
	for !strings.Contains(agentText(got), "s20 ") {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "wait_seconds": 10}, &page)
		if page.Status != events.StatusRunning {
			t.Fatalf("status %s before the kill, want running; events %v", page.Status, testkit.Summarize(got))
		}
		got, cursor = append(got, page.Events...), page.NextCursor
	}

	killProcs(t, "sandbox-agent server ", " -p "+flagValue(args, "--agent-port")+" ")
	killed := time.Now()
	page := waitFor(t, h, s, cursor, &got, events.StatusFailed, 30*time.Second)
	t.Logf("failed %v after the kill: %s", time.Since(killed).Round(time.Millisecond), page.LastError)
	// The agent died with its server and the stream stopped reconnecting: nothing of the session runs on.
	waitNoProcs(t, env["FAKECLI_ROOT"], 5*time.Second)
	for _, w := range []string{"sandbox-agent", "stopped", "a new message continues this session", "open a new session"} {
		if !strings.Contains(page.LastError, w) {
			t.Errorf("last_error %q, want it to mention %q", page.LastError, w)
		}
	}
	if strings.Contains(page.LastError, "\n") {
		t.Errorf("last_error has several lines: %q", page.LastError)
	}
	if last := got[len(got)-1]; last.Kind != events.KindTurnEnd || last.Turn != turn.TurnID || !strings.Contains(last.Error, "stopped") {
		t.Errorf("last event %+v, want the turn ended with the reason", last)
	}
	// send_message continues the interrupted session itself (resume.go), in a new agent process.
	if tr := h.send(s.sandbox, s.session, "say back here"); tr.Resumed == "" || tr.FinalText != "back here" {
		t.Errorf("send_message to the interrupted session = %+v, want it continued and answered", tr)
	}

	// create_session restarts sandbox-agent; a new turn completes.
	newSessionThenDestroy(t, s, env["FAKECLI_ROOT"], "back again", "turn after the restart")
}

// TestFaultAgentExits: the coding agent's process exits in the middle of a turn. The session fails with an
// agent_exit event and its code, refuses further messages, and a new session works.
func TestFaultAgentExits(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	s := newSessionNoCleanup(t, h)
	turn := s.send(t, "say bye; exit 3", 0)
	var got []events.Event
	page := waitFor(t, h, s, turn.Cursor, &got, events.StatusFailed, 30*time.Second)
	t.Logf("events: %v; last_error %q", testkit.Summarize(got), page.LastError)
	exit := -1
	for _, ev := range got {
		if ev.Kind == events.KindAgentExit && ev.ExitCode != nil {
			exit = *ev.ExitCode
		}
	}
	if exit != 3 {
		t.Errorf("events %v, want an agent_exit with exit_code 3", testkit.Summarize(got))
	}
	if !strings.Contains(page.LastError, "exited") || !strings.Contains(page.LastError, "3") {
		t.Errorf("last_error %q, want it to mention the exit and its code", page.LastError)
	}
	if msg := h.Fails("send_message", map[string]any{"sandbox": s.sandbox, "session": s.session, "message": "still there?"}); !strings.Contains(msg, "open a new one with create_session") || strings.Contains(msg, "\n") {
		t.Errorf("send_message to the exited session: %q", msg)
	}
	newSessionThenDestroy(t, s, env["FAKECLI_ROOT"], "fine", "turn in the new session")
}

// newSessionThenDestroy opens a new session in s's sandbox, where a turn that says text must end with it
// (what names that turn in a failure), then destroys the sandbox: no process of the double may outlive it.
func newSessionThenDestroy(t *testing.T, s session, root, text, what string) {
	t.Helper()
	var again manager.SessionResult
	s.h.OK("create_session", map[string]any{"sandbox": s.sandbox, "agent": "mock"}, &again)
	s2 := session{h: s.h, sandbox: s.sandbox, session: again.Name}
	if res := s2.send(t, "say "+text, 20); !res.Done || res.FinalText != text {
		t.Errorf("%s = %+v", what, res)
	}
	s.h.OK("destroy_sandbox", map[string]any{"name": s.sandbox}, &manager.DestroyResult{})
	waitNoProcs(t, root, 5*time.Second)
}

// TestFaultClientCancels: the MCP client gives up on a create_sandbox blocked in a hung CLI. mcp-go sends
// notifications/cancelled, the server cancels the call's context, and the runner kills the CLI.
func TestFaultClientCancels(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	env["FAKECLI_HANG"] = "create"
	root := env["FAKECLI_ROOT"]
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), faultCLIEnv, "--exec-timeout=10m"), env)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "create_sandbox"
		req.Params.Arguments = map[string]any{"workspace": t.TempDir()}
		_, err := h.Client.CallTool(ctx, req)
		errc <- err
	}()
	// Cancel about a second in, once the hung `sbx create` runs.
	deadline := time.Now().Add(20 * time.Second)
	for len(procsMatching(root, " create ")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hung sbx create never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(start.Add(time.Second)))
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled call did not return")
	}

	var list manager.SandboxList
	h.OK("list_sandboxes", map[string]any{}, &list)
	if len(list.Sandboxes) != 0 || len(list.Warnings) != 0 {
		t.Errorf("list_sandboxes after the cancel = %+v, want empty and no warnings", list)
	}
	waitNoProcs(t, root, 5*time.Second)
}

// TestFaultKillDuringBurst: the server is SIGKILLed while a burst of 500 events streams in. Every JSON file
// of its state directory still parses, every event log reopens with contiguous seqs, and a restarted server
// reads the whole burst, each event once.
//
// It runs on the legacy plugin, whose `exec -d` lets sandbox-agent (and the burst) outlive the server. On
// sbx sandbox-agent is held by the server's own exec and dies with it (sandbox/sbx_agent.go), so a turn
// that streams while the server is killed is lost there: TestSbxAsDocumented covers that case.
func TestFaultKillDuringBurst(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	args := testkit.SandboxArgs(t, "docker-sandbox", bin)
	stateDir := strings.TrimPrefix(args[2], "--state-dir=")
	server := testenv.ServerBinary(t)

	c1, kill := startProc(t, server, args, env)
	h1 := &harness{testkit.New(t, c1, env)}
	s := newSessionNoCleanup(t, h1)
	turn := s.send(t, "calls 500", 0)
	// Kill once the burst is arriving: a small page returns at its first events.
	var page live.Page
	for cursor := turn.Cursor; !slices.ContainsFunc(page.Events, func(ev events.Event) bool { return ev.Kind == events.KindToolCall }); cursor = page.NextCursor {
		h1.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "limit": 5, "wait_seconds": 10}, &page)
	}
	kill()

	var files, tmps int
	err := filepath.WalkDir(stateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".json"):
			files++
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !json.Valid(data) {
				t.Errorf("%s does not parse after the kill: %q", path, data)
			}
		case strings.HasPrefix(d.Name(), ".tmp-"):
			tmps++ // a write interrupted before its rename; readers never see it
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(stateDir, "sessions", "*", "*.log"))
	if files < 2 || len(logs) != 1 {
		t.Fatalf("state after the kill: %d JSON files, logs %v; want a sandbox and a session record and one log", files, logs)
	}
	lg, err := eventlog.Open(logs[0])
	if err != nil {
		t.Fatalf("reopen the event log: %v", err)
	}
	var n int64
	for {
		recs, err := lg.Read(n, 200)
		if err != nil {
			t.Fatalf("read the event log after %d: %v", n, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Seq != n+1 {
				t.Fatalf("seq %d follows %d", r.Seq, n)
			}
			n = r.Seq
		}
	}
	if n != lg.LastSeq() || n < 3 {
		t.Errorf("read %d records, LastSeq %d", n, lg.LastSeq())
	}
	lg.Close()
	t.Logf("after the kill: %d JSON files parse, %d interrupted temp files, %d log records with contiguous seqs (the burst is about 500)", files, tmps, n)

	c2, _ := startProc(t, server, args, env)
	s.h = &harness{testkit.New(t, c2, env)}
	evs, _ := s.drain(t, turn.Cursor, 500, 10)
	titles := toolCallTitles(evs)
	if got, want := strings.Join(titles, " ")+" ", series("t", 500); got != want {
		t.Errorf("after the restart: %d tool calls, want t1..t500 once each", len(titles))
	}
	s.h.OK("destroy_sandbox", map[string]any{"name": s.sandbox}, &manager.DestroyResult{})
}

// waitFor reads get_events (waiting up to 5 s per call) from cursor, appending to got, until the session has
// status want with nothing more to read, or fails the test after limit.
func waitFor(t *testing.T, h *harness, s session, cursor int64, got *[]events.Event, want string, limit time.Duration) live.Page {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": cursor, "limit": 500, "wait_seconds": 5}, &page)
		*got = append(*got, page.Events...)
		cursor = page.NextCursor
		if page.Status == want && !page.More {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s after %v, want %s; events: %v", page.Status, limit, want, testkit.Summarize(*got))
		}
	}
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// procsMatching lists this machine's processes that belong to one test's sandbox CLI double: those whose
// command line or environment mentions its FAKECLI_ROOT (the fake CLI has FAKECLI_ROOT set; what it runs in
// a sandbox has HOME under it), and whose command line contains every word. This process is left out.
func procsMatching(root string, words ...string) []string {
	var out []string
	self := strconv.Itoa(os.Getpid())
	eachProc(func(pid string, cmdline []byte) {
		if pid == self {
			return
		}
		environ, _ := os.ReadFile("/proc/" + pid + "/environ")
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if !strings.Contains(line, root) && !strings.Contains(string(environ), root) {
			return
		}
		for _, w := range words {
			if !strings.Contains(line, w) {
				return
			}
		}
		out = append(out, pid+": "+line)
	})
	return out
}

// waitNoProcs fails the test if processes of this test's double are still running after limit.
func waitNoProcs(t *testing.T, root string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		left := procsMatching(root)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left after %v: %q", limit, left)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
