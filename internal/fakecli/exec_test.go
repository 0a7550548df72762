package fakecli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests of exec and of the process lifecycle (stop/rm kill what exec started).

// newSandbox creates "sb" from the test template for prog.
func newSandbox(t *testing.T, prog string) *fixture {
	f := newFixture(t)
	f.ok(prog, sb(prog, "create", "--name", "sb", "-t", "sandbox-mcp/test:latest", "claude", f.work)...)
	return f
}

func TestExecEnvIsolation(t *testing.T) {
	for _, prog := range []string{"sbx", "docker"} {
		f := newSandbox(t, prog)
		root := filepath.Join(f.root, prog, "sb", "root")
		extra := []string{"XDG_RUNTIME_DIR=/run/user/1", "CALLER_SECRET=s3cret", "PASS=from-cli"}
		r := f.runEnv(context.Background(), "", extra, prog, sb(prog, "exec", "-e", "FOO=bar=baz", "-e", "PASS", "-e", "UNSET_HERE", "sb", "env")...)
		got := strings.Split(strings.TrimSpace(r.stdout), "\n")
		sort.Strings(got)
		want := []string{"FOO=bar=baz", "HOME=" + root + "/home", "HOSTNAME=sb", "PASS=from-cli",
			"PATH=" + root + "/bin:" + root + "/usr/local/bin:/usr/local/bin:/usr/bin:/bin", "USER=agent"}
		if prog == "sbx" { // the VM's own address (vm.go), the first one handed out, and sbx's proxy (proxy.go)
			proxy := "http://" + proxyAddr(t, f)
			want = append(want, "FAKECLI_VM_ADDR=127.0.0.2", "HTTPS_PROXY="+proxy, "HTTP_PROXY="+proxy,
				"NO_PROXY=localhost,127.0.0.1,::1", "SSL_CERT_FILE="+filepath.Join(f.root, "sbx", proxyCAFile),
				"http_proxy="+proxy, "https_proxy="+proxy, "no_proxy=localhost,127.0.0.1,::1")
			sort.Strings(want)
		}
		if r.code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s exec env: exit %d\n got %q\nwant %q", prog, r.code, got, want)
		}
	}
}

func TestExec(t *testing.T) {
	f := newSandbox(t, "sbx")
	other := t.TempDir()
	for _, tc := range []struct {
		name                 string
		stdin                string
		args                 []string
		code                 int
		wantOut, wantErrPart string
	}{
		{"template PATH first", "", []string{"sb", "hi", "x"}, 0, "hello from template x\n", ""},
		{"default cwd is primary workspace", "", []string{"sb", "pwd"}, 0, f.work + "\n", ""},
		{"-w", "", []string{"-w", other, "sb", "pwd"}, 0, other + "\n", ""},
		{"-w missing", "", []string{"-w", "/nonexistent/dir", "sb", "pwd"}, 126, "", `chdir to cwd ("/nonexistent/dir")`},
		{"-w relative", "", []string{"-w", "proj", "sb", "pwd"}, 1, "", "needs to be an absolute path"},
		{"exit code and separate streams", "", []string{"sb", "sh", "-c", "echo out; echo err >&2; exit 7"}, 7, "out\n", "err\n"},
		{"flags after COMMAND pass through", "", []string{"sb", "sh", "-c", `echo "$@"`, "x", "-e", "--foo", "--"}, 0, "-e --foo --\n", ""},
		{"no stdin without -i", "piped", []string{"sb", "cat"}, 0, "", ""},
		{"stdin with -i", "piped", []string{"-i", "sb", "cat"}, 0, "piped", ""},
		{"missing command", "", []string{"sb", "no-such-cmd"}, 127, "", `exec: "no-such-cmd": executable file not found in $PATH`},
		{"caller PATH not used", "", []string{"sb", "sbx"}, 127, "", "executable file not found"},
		{"unknown sandbox", "", []string{"nope", "true"}, 1, "", "ERROR: no sandbox named 'nope'\nTo create one:\n"},
		{"too few args", "", []string{"sb"}, 2, "", "requires at least 2 arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.runEnv(context.Background(), tc.stdin, nil, "sbx", append([]string{"exec"}, tc.args...)...)
			if r.code != tc.code || r.stdout != tc.wantOut || !strings.Contains(r.stderr, tc.wantErrPart) {
				t.Errorf("exit %d stdout %q stderr %q; want %d, %q, stderr with %q", r.code, r.stdout, r.stderr, tc.code, tc.wantOut, tc.wantErrPart)
			}
		})
	}
}

// alive reports whether pid exists and is not a zombie (an orphan may wait
// for a reaper that never comes in a container).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

func waitDead(t *testing.T, pids ...int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n := 0
		for _, p := range pids {
			if alive(p) {
				n++
			}
		}
		if n == 0 {
			return
		}
	}
	t.Fatalf("processes %v still alive", pids)
}

// detached starts `sh -c 'sleep 60 & echo $! > FILE; wait'` with exec -d
// and returns the shell's and the background sleep's pids.
func detached(t *testing.T, f *fixture, prog string) (int, int) {
	t.Helper()
	pidFile := filepath.Join(f.work, "child.pid")
	os.Remove(pidFile)
	if out := f.ok(prog, sb(prog, "exec", "-d", "sb", "sh", "-c", "sleep 60 & echo $! > "+pidFile+"; echo started; wait")...); out != "" {
		t.Errorf("exec -d printed %q, want nothing", out)
	}
	var child int
	for deadline := time.Now().Add(3 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	ents, _ := os.ReadDir(filepath.Join(f.root, prog, "sb", "procs"))
	if child == 0 || len(ents) != 1 {
		t.Fatalf("detached start: child %d, %d registered procs", child, len(ents))
	}
	leader, _ := strconv.Atoi(ents[0].Name())
	if b, _ := os.ReadFile(filepath.Join(f.root, prog, "sb", "logs", ents[0].Name()+".log")); string(b) != "started\n" {
		t.Errorf("detached log = %q, want %q", b, "started\n")
	}
	return leader, child
}

func TestExecDetachedThenRm(t *testing.T) {
	f := newSandbox(t, "docker") // the plugin's rm never asks
	leader, child := detached(t, f, "docker")
	if got, want := f.ok("docker", "sandbox", "rm", "sb"), "sb\n"; got != want {
		t.Errorf("rm = %q, want %q", got, want)
	}
	waitDead(t, leader, child)
	if _, err := os.Stat(filepath.Join(f.root, "docker", "sb")); !os.IsNotExist(err) {
		t.Errorf("sandbox dir after rm: %v, want gone", err)
	}
}

func TestStopThenExecAutoStarts(t *testing.T) {
	f := newSandbox(t, "sbx")
	cmd, child := held(t, f)
	if got, want := f.ok("sbx", "stop", "sb"), "sb\n"; got != want {
		t.Errorf("stop = %q, want %q", got, want)
	}
	cmd.Wait() // the session ends with the VM
	waitDead(t, child)
	status := func() string {
		var v []struct{ Status string }
		must(t, json.Unmarshal([]byte(f.ok("sbx", "ls", "--json")), &v))
		return v[0].Status
	}
	if got, want := status(), "stopped"; got != want {
		t.Errorf("status after stop = %q, want %q", got, want)
	}
	f.ok("sbx", "exec", "sb", "true")
	if got, want := status(), "running"; got != want {
		t.Errorf("status after exec = %q, want %q", got, want)
	}
	if r := f.run("sbx", "stop", "sb", "ghost"); r.code != 1 || r.stdout != "sb\n" || !strings.Contains(r.stderr, "ERROR: no sandbox named 'ghost'") {
		t.Errorf("stop sb ghost = %+v, want sb stopped and ghost reported", r)
	}
}

// held starts a foreground `sbx exec sb sh -c 'sleep 60 & …; wait'` that stays open (a session), and
// returns it with the pid of the background sleep.
func held(t *testing.T, f *fixture) (*exec.Cmd, int) {
	t.Helper()
	pidFile := filepath.Join(f.work, "child.pid")
	os.Remove(pidFile)
	cmd := exec.Command("sbx", "exec", "sb", "sh", "-c", "sleep 60 & echo $! > "+pidFile+"; echo started; wait")
	cmd.Env = f.env
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if child == 0 {
		t.Fatal("held exec did not start")
	}
	return cmd, child
}

func TestSbxRmConfirmation(t *testing.T) {
	f := newSandbox(t, "sbx")
	ctx := context.Background()
	old := []string{"FAKECLI_SBX_VERSION=0.47.0"} // before v0.48 a piped answer confirmed
	if r := f.runEnv(ctx, "n\n", old, "sbx", "rm", "sb"); r.code != 1 || !strings.Contains(r.stderr, "(y/N)") {
		t.Errorf("rm answered n = %+v, want exit 1 after a (y/N) prompt", r)
	}
	if got, want := f.ok("sbx", "ls", "-q"), "sb\n"; got != want {
		t.Errorf("after refused rm: ls -q = %q, want %q", got, want)
	}
	// v0.48: "piping y into rm does not confirm (use -f)".
	if r := f.runEnv(ctx, "y\n", nil, "sbx", "rm", "sb"); r.code != 1 || !strings.Contains(r.stderr, "-f") {
		t.Errorf("rm with piped y on 0.53 = %+v, want a refusal naming -f", r)
	}
	if r := f.runEnv(ctx, "yes\n", old, "sbx", "rm", "sb"); r.code != 0 || r.stdout != "sb\n" {
		t.Errorf("rm answered yes = %+v, want exit 0 printing sb", r)
	}
	f.ok("sbx", "create", "--name", "sb2", "shell", f.work)
	if got, want := f.ok("sbx", "rm", "-f", "--all"), "sb2\n"; got != want {
		t.Errorf("rm -f --all = %q, want %q", got, want)
	}
	if r := f.run("sbx", "rm", "-f", "ghost"); r.code != 1 || !strings.Contains(r.stderr, "ERROR: no sandbox named 'ghost'") {
		t.Errorf("rm ghost = %+v, want not found", r)
	}
}

func TestExecZombie(t *testing.T) {
	f := newSandbox(t, "docker")
	e := &env{root: filepath.Join(f.root, "docker")}
	m, err := e.load("sb")
	must(t, err)
	m.Zombie = true
	must(t, e.save(m))
	r := f.run("docker", "sandbox", "exec", "sb", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "failed to start VM: create SDK client: socket path is empty") {
		t.Errorf("exec on zombie = %+v", r)
	}
	if !strings.Contains(f.ok("docker", "sandbox", "ls"), "running") {
		t.Errorf("a zombie must still be listed as running")
	}
}

// TestExecSignals: SIGTERM to the fake reaches the inner process group, and
// SIGKILL of the fake takes the inner process down (Pdeathsig).
func TestExecSignals(t *testing.T) {
	f := newSandbox(t, "sbx")
	start := func(script string) (*exec.Cmd, *bufio.Reader) {
		cmd := exec.Command("sbx", "exec", "sb", "sh", "-c", script)
		cmd.Env = f.env
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		rd := bufio.NewReader(out)
		if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("inner process: %q %v", line, err)
		}
		return cmd, rd
	}
	cmd, rd := start(`trap 'echo got TERM; exit 5' TERM; echo ready; while :; do sleep 0.05; done`)
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, _ := rd.ReadString('\n')
	err := cmd.Wait()
	if got, want := cmd.ProcessState.ExitCode(), 5; got != want || rest != "got TERM\n" {
		t.Errorf("forwarded SIGTERM: exit %d (%v) output %q; want %d and %q", got, err, rest, want, "got TERM\n")
	}

	cmd, _ = start(`echo ready; exec sleep 60`)
	var inner int // registration happens just after the start: poll (the VM process is registered too)
	for deadline := time.Now().Add(3 * time.Second); inner == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		inner = innerProcs(t, f, "sb")
	}
	if inner == 0 {
		t.Fatal("the exec'd process was not registered")
	}
	must(t, cmd.Process.Kill())
	cmd.Wait()
	waitDead(t, inner)
}

func TestParallelExec(t *testing.T) {
	f := newSandbox(t, "sbx")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.run("sbx", "exec", "sb", "sh", "-c", "echo "+strconv.Itoa(i))
			if r.code != 0 || r.stdout != strconv.Itoa(i)+"\n" {
				errs <- r.stderr
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("parallel exec failed: %s", e)
	}
}

// innerProcs returns the registered process of the sandbox that is not its VM process (0 if none).
func innerProcs(t *testing.T, f *fixture, name string) int {
	e := &env{root: filepath.Join(f.root, "sbx")}
	m, err := e.load(name)
	must(t, err)
	ents, _ := os.ReadDir(filepath.Join(f.root, "sbx", name, "procs"))
	for _, de := range ents {
		if !strings.HasPrefix(m.VM, de.Name()+" ") {
			pid, _ := strconv.Atoi(de.Name())
			return pid
		}
	}
	return 0
}
