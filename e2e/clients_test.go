package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// The tests in this file run real MCP clients other than mcp-go against the built server: the official
// TypeScript SDK (clients/*.test.mjs, under node's test runner) and the MCP Inspector's CLI mode
// (clients/inspector-smoke.sh). Both are pinned in clients/package.json and installed with
// `npm ci --prefix clients` (scripts/test does that). The server runs on the sbx test double with the real
// sandbox-agent and the scripted agent, as in the in-process end-to-end tests.

// clientsTimeout bounds one client run (a whole node --test, or the Inspector script).
const clientsTimeout = 2 * time.Minute

// TestTypeScriptClient runs every clients/*.test.mjs (the stdio test, and the Streamable HTTP one when it
// is there) with node's test runner, one file per subtest: each gets its own server state, workspace
// and agent port, and a failure names its file.
func TestTypeScriptClient(t *testing.T) {
	dir := clientsDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no clients/*.test.mjs (%v)", err)
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			runClient(t, clientsEnv(t), dir, "node", "--test", f)
		})
	}
}

// TestInspectorCLI runs the MCP Inspector CLI smoke script: tools/list and tools/call list_sandboxes.
func TestInspectorCLI(t *testing.T) {
	dir := clientsDir(t)
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.Missing(t, "bash", "install bash")
	}
	runClient(t, clientsEnv(t), dir, "bash", filepath.Join(dir, "inspector-smoke.sh"))
}

// clientsDir returns the clients folder once node and its installed packages are there.
func clientsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "clients")
	for _, tool := range []string{"node", "npx"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "Node.js ("+tool+")", "install Node.js 20 or later, with npm")
		}
	}
	for _, pkg := range []string{"sdk", "inspector-cli"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", pkg, "package.json")); err != nil {
			testenv.Missing(t, "the TypeScript MCP clients", "run npm ci --prefix clients")
		}
	}
	return dir
}

// clientsEnv is the clients' whole environment: the sbx test double's (PATH with the fake sbx, HOME,
// FAKECLI_ROOT, FAKECLI_TEMPLATES), and where the server and its workspace are:
//
//	SANDBOX_MCP_BIN        the server binary (testenv.ServerBinary), stamped with testenv.ServerVersion
//	SANDBOX_MCP_ARGS       its flags as a JSON array
//	SANDBOX_MCP_WORKSPACE  a git repository with one commit, so get_diff and review_sandbox_work work
func clientsEnv(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git (apt-get install git)")
	}
	server := testenv.ServerBinary(t)
	env, fake := testkit.FakeEnv(t)
	args, err := json.Marshal(testkit.SandboxArgs(t, "sbx", fake))
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "README.md"), []byte("# A project\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range [][]string{{"init", "-q"}, {"add", "README.md"}, {"commit", "-q", "-m", "baseline"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main", "-C", ws}, a...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", a, err, out)
		}
	}
	env["SANDBOX_MCP_BIN"] = server
	env["SANDBOX_MCP_ARGS"] = string(args)
	env["SANDBOX_MCP_WORKSPACE"] = ws
	env["NO_COLOR"] = "1"
	if ci := os.Getenv("CI"); ci != "" {
		env["CI"] = ci
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// runClient runs name with args in dir and env, streaming its output into the test log line by line, and
// fails the test unless it exits 0 within clientsTimeout.
func runClient(t *testing.T, env []string, dir, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out := &lineLog{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a timeout ends the servers and agents the client started too: this
	// kills only that group, which we created.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	out.flush()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: no result after %v: %v", name, strings.Join(args, " "), clientsTimeout, err)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s exited %d after %v (output above)", name, strings.Join(args, " "), ee.ExitCode(), time.Since(start).Round(time.Millisecond))
		}
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s passed in %v", name, time.Since(start).Round(time.Millisecond))
}

// lineLog writes complete lines to the test log as they come.
type lineLog struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: wait for the rest
			return len(p), nil
		}
		l.t.Log(strings.TrimRight(line, "\r\n"))
	}
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.t.Log(l.buf.String())
		l.buf.Reset()
	}
}
