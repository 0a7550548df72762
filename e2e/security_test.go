package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/cli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/tools"
)

// TestSecuritySecrets: an API key in the server's environment reaches the agent, by name, and nothing
// the server writes or returns holds it: no tool result or error, resource, prompt, log line, state
// file, nor any child process's argv.
func TestSecuritySecrets(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	canary := "sk-ant-canary-" + randomHex(t)
	env["ANTHROPIC_API_KEY"] = canary
	// A variable that is neither allowlisted, nor --cli-env, nor a secret name: no child may see it.
	unrelated := "unrelated-" + randomHex(t)
	env["SOME_OTHER_TOKEN"] = unrelated
	const redacted = "ANTHROPIC_API_KEY=[REDACTED:ANTHROPIC_API_KEY]"
	// The key must be inside the sandbox for the agent to leak it: sbx holds no secret here, so the
	// operator allows passing it by value (sandbox/sbx_creds.go).
	args := append(testkit.SandboxArgs(t, "sbx", bin), "--sbx-pass-keys")
	stateDir := strings.TrimPrefix(args[2], "--state-dir=")
	h, stdout, stderr := startCapturing(t, args, env)

	ws := t.TempDir()
	gitInit(t, ws)
	root := filepath.Dir(env["FAKECLI_ROOT"]) // this test's own temp dir: bin, templates, sandbox roots
	scan := startProcScan(t, root, canary, unrelated)

	// An error that quotes the key (here from the argument) carries the redacted form.
	if got := h.Fails("create_sandbox", map[string]any{"workspace": "/nonexistent/" + canary}); !strings.Contains(got, "[REDACTED:ANTHROPIC_API_KEY]") {
		t.Errorf("error result = %q, want the key redacted", got)
	}
	var sb manager.SandboxResult
	// Direct mode: the test writes "the agent's" change into the workspace itself (clone mode is
	// isolation_sbx_test.go's).
	h.OK("create_sandbox", map[string]any{"workspace": ws, "isolation": "direct"}, &sb)
	scan.addName(sb.Name)
	var sess manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "echo-env ANTHROPIC_API_KEY; say done"}, &turn)
	var got []events.Event
	waitStatus(t, h, sb.Name, sess.Name, turn.Cursor, &got, events.StatusIdle)
	var echoed string
	for _, ev := range got {
		if ev.Kind == events.KindAgentMessage && strings.Contains(ev.Text, "ANTHROPIC_API_KEY=") {
			echoed = ev.Text
		}
	}
	// The agent saw a value (not "unset"), and what it printed came back redacted.
	if !strings.Contains(echoed, redacted) {
		t.Errorf("the agent printed %q, want %q: the key did not reach the agent, or was not redacted", echoed, redacted)
	}

	// The agent writes the key into the workspace: the diff, as a tool result and in the review prompt.
	if err := os.WriteFile(filepath.Join(ws, "README.md"), []byte("key: "+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var diff manager.DiffResult
	h.OK("get_diff", map[string]any{"sandbox": sb.Name}, &diff)
	if !strings.Contains(diff.Diff, "+key: [REDACTED:ANTHROPIC_API_KEY]") {
		t.Errorf("get_diff = %q, want the added line with the key redacted", diff.Diff)
	}
	var list manager.SandboxList
	h.OK("list_sandboxes", map[string]any{}, &list)
	var sessions manager.SessionList
	h.OK("list_sessions", map[string]any{"sandbox": sb.Name}, &sessions)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, uri := range []string{tools.SandboxesURI, tools.TranscriptURI(sb.Name, sess.Name)} {
		res, err := h.Client.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		if uri != tools.SandboxesURI && !strings.Contains(resourceText(res), redacted) {
			t.Errorf("transcript resource lacks %q", redacted)
		}
	}
	prompt, err := h.Client.GetPrompt(ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "review_sandbox_work",
		Arguments: map[string]string{"sandbox": sb.Name, "session": sess.Name}}})
	if err != nil {
		t.Fatalf("review prompt: %v", err)
	}
	if len(prompt.Messages) == 0 || !strings.Contains(prompt.Messages[0].Content.(mcp.TextContent).Text, "[REDACTED:ANTHROPIC_API_KEY]") {
		t.Errorf("review prompt lacks the redacted diff line")
	}

	procs := scan.stop()
	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)

	// (c) No argv held the key, while the agent's environment did.
	if runtime.GOOS == "linux" {
		if procs.checked < 3 || procs.keyInEnv == 0 || procs.byName == 0 {
			t.Errorf("scanned %d processes (%d with the key in their environment, %d passing it by name), want the sbx execs, sandbox-agent and the agent",
				procs.checked, procs.keyInEnv, procs.byName)
		}
		for _, l := range procs.leaks {
			t.Errorf("the key is in a child's argv: %s", l)
		}
		for _, l := range procs.envLeaks {
			t.Errorf("a variable outside the allowlist reached a child's environment: %s", l)
		}
		t.Logf("secrets: %d child processes checked (%s), 0 with the key in argv, %d passing it by name (-e ANTHROPIC_API_KEY), %d with it in their environment",
			procs.checked, strings.Join(procs.kinds(), ", "), procs.byName, procs.keyInEnv)
	}
	// (b) Nothing the server returned or logged holds it.
	for what, b := range map[string][]byte{"the MCP stream (every result, resource and prompt)": stdout.Bytes(), "the log": stderr.Bytes()} {
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("the key is in %s", what)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty: nothing was checked", what)
		}
	}
	if !bytes.Contains(stderr.Bytes(), []byte("DBG exec")) {
		t.Errorf("the log has no debug lines (argv of every CLI call): %.200s", stderr.Bytes())
	}
	files, withRedacted := 0, 0
	err = filepath.WalkDir(stateDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("the key is in the state file %s", path)
		}
		if bytes.Contains(b, []byte("[REDACTED:ANTHROPIC_API_KEY]")) {
			withRedacted++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if withRedacted == 0 {
		t.Errorf("no state file holds the redacted echo: the event log was not checked")
	}
	t.Logf("state dir: %d files checked, %d with the redacted form; MCP stream %d bytes, log %d bytes",
		files, withRedacted, len(stdout.Bytes()), len(stderr.Bytes()))
}

// TestSecurityMCPRoots: when the client shares roots, create_sandbox refuses a workspace outside them.
func TestSecurityMCPRoots(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	shared := t.TempDir()
	inside := filepath.Join(shared, "project")
	if err := os.Mkdir(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	roots := rootsHandler{roots: []mcp.Root{{URI: "file://" + shared, Name: "shared"}, {URI: "https://example.com/x"}}}
	h, _, _ := startCapturing(t, testkit.SandboxArgs(t, "sbx", bin), env, client.WithRootsHandler(roots))
	got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
	if !strings.Contains(got, "outside the roots the MCP client shared") {
		t.Errorf("workspace outside the roots: %q", got)
	}
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": inside}, &sb)
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &sb)
}

// TestSecurityMCPRootsFailClosed: a client that declares the roots capability but shares no usable local
// folder (an empty list, only non-file URIs, a remote host, a relative path) allows no folder at all,
// with an error that says why; it does not fall back to "no restriction".
func TestSecurityMCPRootsFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roots []mcp.Root
	}{
		{"no roots", nil},
		{"only an https root", []mcp.Root{{URI: "https://example.com/x"}}},
		{"a remote-host file root", []mcp.Root{{URI: "file://otherhost/tmp"}}},
		{"a relative file root", []mcp.Root{{URI: "file:relative/dir"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, bin := testkit.FakeEnv(t)
			h, _, _ := startCapturing(t, testkit.SandboxArgs(t, "sbx", bin), env, client.WithRootsHandler(rootsHandler{roots: tc.roots}))
			got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
			if !strings.Contains(got, "declared roots but shared no local folder") || !strings.Contains(got, "no folder is allowed") {
				t.Errorf("create_sandbox with unusable roots = %q, want refused, naming the reason", got)
			}
		})
	}
}

type rootsHandler struct{ roots []mcp.Root }

func (r rootsHandler) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return &mcp.ListRootsResult{Roots: r.roots}, nil
}

// startCapturing is startServer with the server's whole stdout (every JSON-RPC message it sends) and
// stderr (its log) captured, and client options.
func startCapturing(t *testing.T, args []string, env map[string]string, opts ...client.ClientOption) (h *harness, stdout, stderr *syncbuf.Buffer) {
	t.Helper()
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	return &harness{testkit.StartWith(t, cli.Run, args, env, testkit.Options{Stdout: stdout, Stderr: stderr, Client: opts})}, stdout, stderr
}

// procScan watches /proc while a conversation runs, for the processes of this test's sandbox (their
// argv or environment names its temp dir or its sandbox), and checks each argv for the key.
type procScan struct {
	procWatch
	root, canary string
	unrelated    string

	names    []string
	progs    map[string]string // pid + argv -> argv[0]'s base name
	checked  int
	keyInEnv int
	byName   int // argv passing the key by name: `-e ANTHROPIC_API_KEY`
	leaks    []string
	envLeaks []string // processes whose environment holds the unrelated variable
}

func startProcScan(t *testing.T, root, canary, unrelated string) *procScan {
	t.Helper()
	s := &procScan{root: root, canary: canary, unrelated: unrelated, progs: map[string]string{}}
	if runtime.GOOS == "linux" {
		s.watch(2*time.Millisecond, s.look)
	}
	return s
}

func (s *procScan) addName(n string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, n)
}

// look checks a process of this test's sandbox once; any other is looked at again on the next pass (a
// sandbox name added since may make it one of ours).
func (s *procScan) look(pid string, cmdline []byte) bool {
	environ, _ := os.ReadFile("/proc/" + pid + "/environ")
	ours := bytes.Contains(cmdline, []byte(s.root)) || bytes.Contains(environ, []byte(s.root))
	for _, n := range s.names {
		ours = ours || bytes.Contains(cmdline, []byte(n))
	}
	if !ours {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	s.progs[pid+"\x00"+string(cmdline)] = filepath.Base(argv[0])
	s.checked++
	if bytes.Contains(environ, []byte("ANTHROPIC_API_KEY="+s.canary)) {
		s.keyInEnv++
	}
	if bytes.Contains(cmdline, []byte("\x00-e\x00ANTHROPIC_API_KEY\x00")) {
		s.byName++
	}
	if bytes.Contains(environ, []byte(s.unrelated)) {
		s.envLeaks = append(s.envLeaks, strings.Join(argv, " "))
	}
	if bytes.Contains(cmdline, []byte(s.canary)) {
		s.leaks = append(s.leaks, strings.Join(argv, " "))
	}
	return true
}

// stop ends the scan and returns its findings.
func (s *procScan) stop() *procScan {
	s.procWatch.stop()
	return s
}

// kinds counts the processes checked by program name: "sbx ×12, curl ×9, …".
func (s *procScan) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	var order []string
	for _, k := range s.progs {
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+" ×"+strconv.Itoa(n[k]))
	}
	return out
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// gitInit makes dir a git repository with one committed file, so get_diff has something to compare.
func gitInit(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "README.md"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
}

func resourceText(res *mcp.ReadResourceResult) string {
	var parts []string
	for _, c := range res.Contents {
		if tc, ok := c.(mcp.TextResourceContents); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
