package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testagent"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// toolEnv is the built server over stdio, on the sbx test double (real sandbox-agent, scripted agent) or on
// a real Docker Engine, with usually one sandbox and one session in it.
type toolEnv struct {
	c                 *client.Client
	cmd               *exec.Cmd // the server process
	stderr            *syncbuf.Buffer
	env               []string // the server's (and the fake CLI's) environment
	bin, stateDir, ws string   // bin: the fake CLIs (sbx double only)
	port              int      // sandbox-agent's port in sbx sandboxes
	templates         string   // the sbx double's templates
	docker            *sandbox.Docker
	sandbox, session  string
}

const sbxTemplate = "sandbox-mcp/test:latest"

// sbxServer prepares the test double as the end-to-end tests do (internal/testkit's FakeEnv and SandboxArgs)
// and starts the built server over stdio with extra flags. prepare, if set, may change the templates
// before any sandbox is made from them.
func sbxServer(b *testing.B, extra []string, prepare func(templates string)) *toolEnv {
	b.Helper()
	testenv.SandboxAgent(b) // skip (or fail in CI) before building anything
	dir := b.TempDir()
	e := &toolEnv{bin: filepath.Join(dir, "bin"), stateDir: filepath.Join(dir, "state"), ws: filepath.Join(dir, "ws"),
		port: testenv.FreePort(b), stderr: &syncbuf.Buffer{}, templates: filepath.Join(dir, "templates")}
	for _, d := range []string{e.bin, e.ws, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := fakecli.Install(e.bin); err != nil {
		b.Fatal(err)
	}
	testenv.SandboxTemplate(b, e.templates, sbxTemplate, true)
	scriptedDir = filepath.Dir(testenv.ScriptedAgent(b))
	if prepare != nil {
		prepare(e.templates)
	}
	e.env = []string{"PATH=" + e.bin + ":" + os.Getenv("PATH"), "HOME=" + filepath.Join(dir, "home"),
		"FAKECLI_ROOT=" + filepath.Join(dir, "fakecli"), "FAKECLI_TEMPLATES=" + e.templates}
	args := append([]string{"--backend=sbx", "--sbx-bin=" + filepath.Join(e.bin, "sbx"), "--state-dir=" + e.stateDir,
		"--template=" + sbxTemplate, "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES",
		"--agent-port=" + strconv.Itoa(e.port), "--log-level=warn"}, extra...)
	e.start(b, args)
	return e
}

// dockerServer starts the built server on the Docker backend with the test image, sandbox-agent reached
// through transport ("exec" or "port") on a container network ("none" or "host").
func dockerServer(b *testing.B, transport, network string) *toolEnv {
	b.Helper()
	image := testenv.Docker(b)
	dir := b.TempDir()
	e := &toolEnv{stateDir: filepath.Join(dir, "state"), ws: filepath.Join(dir, "ws"), stderr: &syncbuf.Buffer{}}
	if err := os.MkdirAll(e.ws, 0o755); err != nil {
		b.Fatal(err)
	}
	e.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	args := []string{"--backend=docker", "--docker-image=" + image, "--docker-transport=" + transport,
		"--docker-network=" + network, "--docker-cpus=1", "--state-dir=" + e.stateDir, "--log-level=warn"}
	args = append(args, testenv.ProvisionArgs(b)...)
	if transport != "exec" {
		args = append(args, "--docker-relay="+testenv.Relay(b))
	}
	if network == "host" {
		args = append(args, "--docker-insecure-host-network")
	}
	e.start(b, args)
	// Our own view of the same containers, for the raw calls: it shares the server's token files.
	o := sandbox.DefaultDockerOptions()
	o.Image, o.CPUs, o.Network, o.Transport, o.StateDir = image, "1", network, transport, filepath.Join(e.stateDir, "docker")
	o.InsecureHostNetwork = network == "host"
	e.docker = sandbox.NewDocker(&sandbox.Exec{Timeout: 60 * time.Second}, o)
	return e
}

func (e *toolEnv) start(b *testing.B, args []string) {
	b.Helper()
	c, cmd, err := startClient(context.Background(), serverBinary(b), e.env, args, e.stderr)
	if err != nil {
		b.Fatal(err)
	}
	e.c, e.cmd = c, cmd
	b.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := initialize(ctx, c); err != nil {
		b.Fatalf("initialize: %v\n%s", err, e.stderr.Tail(4000))
	}
}

// createSandbox makes the sandbox (over the workspace) and destroys it when b ends.
func (e *toolEnv) createSandbox(b *testing.B) {
	b.Helper()
	var sb manager.SandboxResult
	e.call(b, "create_sandbox", map[string]any{"workspace": e.ws}, &sb)
	e.sandbox = sb.Name
	b.Cleanup(func() {
		var d manager.DestroyResult
		if err := e.try("destroy_sandbox", map[string]any{"name": e.sandbox}, &d); err != nil {
			b.Errorf("destroy_sandbox: %v", err)
		}
	})
}

// createSession opens a mock session, makes it e.session and returns its name.
func (e *toolEnv) createSession(b *testing.B) string {
	b.Helper()
	var sess manager.SessionResult
	e.call(b, "create_session", map[string]any{"sandbox": e.sandbox, "agent": "mock"}, &sess)
	e.session = sess.Name
	return sess.Name
}

// newToolEnv is the sbx double with one sandbox and one session.
func newToolEnv(b *testing.B) *toolEnv {
	b.Helper()
	e := sbxServer(b, nil, nil)
	e.createSandbox(b)
	e.createSession(b)
	return e
}

// try calls a tool and decodes its structured result into out.
func (e *toolEnv) try(name string, args map[string]any, out any) error {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := e.c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				msg = append(msg, tc.Text)
			}
		}
		return fmt.Errorf("%s: %s", name, strings.Join(msg, " "))
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func (e *toolEnv) call(b *testing.B, name string, args map[string]any, out any) {
	b.Helper()
	if err := e.try(name, args, out); err != nil {
		b.Fatalf("%v\nserver stderr:\n%s", err, e.stderr.Tail(4000))
	}
}

// turn sends message and follows get_events until the session is idle again.
func (e *toolEnv) turn(b *testing.B, message string) {
	b.Helper()
	var t manager.TurnResult
	e.call(b, "send_message", map[string]any{"sandbox": e.sandbox, "session": e.session, "message": message}, &t)
	e.waitIdle(b, t.Cursor)
}

// waitIdle follows get_events until the session is idle with nothing more.
func (e *toolEnv) waitIdle(b *testing.B, cursor int64) {
	b.Helper()
	if _, p, err := e.follow(e.session, cursor, 60*time.Second, nil); err != nil || p.Status != events.StatusIdle {
		b.Fatalf("session %s, %v\nserver stderr:\n%s", p.Status, err, e.stderr)
	}
}

// follow reads session's events from cursor with waiting get_events calls (up to 10 s each) until the
// session is idle or waits for a permission, with nothing more to read, calling page (if set) with every
// page and the moment it arrived. It returns the last cursor and page.
func (e *toolEnv) follow(session string, cursor int64, limit time.Duration, page func(p live.Page, at time.Time)) (int64, live.Page, error) {
	deadline := time.Now().Add(limit)
	for {
		var p live.Page
		err := e.try("get_events", map[string]any{"sandbox": e.sandbox, "session": session, "cursor": cursor, "wait_seconds": 10}, &p)
		at := time.Now()
		if err != nil {
			return cursor, p, err
		}
		if page != nil {
			page(p, at)
		}
		cursor = p.NextCursor
		switch {
		case p.More:
		case p.Status == events.StatusIdle || p.Status == events.StatusWaitingPermission:
			return cursor, p, nil
		case p.Status == events.StatusEnded || p.Status == events.StatusFailed:
			return cursor, p, fmt.Errorf("session %s %s: %s", session, p.Status, p.LastError)
		}
		if time.Now().After(deadline) {
			return cursor, p, fmt.Errorf("session %s still %s after %s", session, p.Status, limit)
		}
	}
}

// serverID is the sandbox-agent server id behind a session, from the server's state directory.
func (e *toolEnv) serverID(b *testing.B, session string) string {
	b.Helper()
	store, err := state.Open(e.stateDir)
	if err != nil {
		b.Fatal(err)
	}
	rec, err := store.GetSession(e.sandbox, session)
	if err != nil {
		b.Fatal(err)
	}
	return rec.ServerID
}

// rawTransport reaches the sandbox's sandbox-agent the way the server does, without the server: curl
// through the fake `sbx exec`, curl through `docker exec`, or HTTP to the published port.
func (e *toolEnv) rawTransport(b *testing.B) acp.Transport {
	b.Helper()
	name := e.sandbox
	if e.docker == nil {
		sbx := sandbox.NewSbx(&sandbox.Exec{Env: e.env, Timeout: 60 * time.Second}, sandbox.SbxOptions{Binary: filepath.Join(e.bin, "sbx")})
		return &acp.Curl{Port: e.port, Exec: func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
			return sbx.Exec(ctx, name, spec)
		}}
	}
	ep, ok, err := e.docker.AgentEndpoint(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	if ok && ep.Socket != "" {
		return &acp.HTTP{BaseURL: "http://sandbox-agent", Client: acp.UnixClient(ep.Socket)}
	}
	if ok {
		return &acp.HTTP{BaseURL: ep.URL, Token: ep.Token}
	}
	return &acp.Curl{Port: 2468, Exec: func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
		return e.docker.Exec(ctx, name, spec)
	}}
}

// rssKB reads a process's resident set (VmRSS) and its peak (VmHWM) from /proc.
func rssKB(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			if f[0] == "VmRSS:" {
				rss = v
			} else {
				hwm = v
			}
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return rss, hwm, nil
}

// cpuTime is a process's user+system CPU time so far, from /proc/<pid>/stat (clock ticks of 10 ms: the
// kernel's USER_HZ is 100 on every Linux we run on).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) start after the last ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// stampBinary builds bench/internal/stamp statically (it also runs inside the test image), once.
func stampBinary(b *testing.B) string {
	b.Helper()
	stampOnce.Do(func() {
		stampPath = filepath.Join(tempRoot, "stamp")
		cmd := exec.Command("go", "build", "-o", stampPath, "./bench/internal/stamp")
		cmd.Dir = testenv.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			stampErr = fmt.Errorf("build stamp: %v\n%s", err, out)
		}
	})
	if stampErr != nil {
		b.Fatal(stampErr)
	}
	return stampPath
}

// stampLauncher is sandbox-agent's mock-agent launcher with stamp in front of the original one, which it
// keeps beside itself as <launcher>.orig: the scripted agent runs as before, its chunks get stamped.
func stampLauncher(stamp, outDir string) string {
	return "#!/bin/sh\nexec '" + stamp + "' '" + outDir + "' /bin/sh \"$0.orig\" \"$@\"\n"
}

// installStampSbx puts stamp in front of the scripted agent in the sbx double's template (sandboxes copy
// it when created). Stamps go to outDir.
func installStampSbx(b *testing.B, templates, stamp, outDir string) {
	b.Helper()
	home := filepath.Join(templates, strings.NewReplacer("/", "_", ":", "_").Replace(sbxTemplate), "home")
	launcher := testagent.LauncherPath(filepath.Join(home, ".local", "share"))
	orig, err := os.ReadFile(launcher)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(launcher+".orig", orig, 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := launcher + ".new"
	if err := os.WriteFile(tmp, []byte(stampLauncher(stamp, outDir)), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, launcher); err != nil {
		b.Fatal(err)
	}
}

// installStampDocker does the same inside a running container of the test image: stamp is copied in,
// stamps go to outDir (the workspace, bind-mounted at the same path).
func installStampDocker(b *testing.B, container, stamp, outDir string) {
	b.Helper()
	const inside = "/tmp/sandbox-mcp-stamp"
	launcher := testagent.LauncherPath("/home/agent/.local/share")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "cp", stamp, container+":"+inside).CombinedOutput(); err != nil {
		b.Fatalf("docker cp: %v: %s", err, out)
	}
	cmd := exec.CommandContext(ctx, "docker", "exec", "-i", container, "sh", "-c",
		`cp "$1" "$1.orig" && cat > "$1.new" && chmod 755 "$1.new" && mv "$1.new" "$1"`, "sh", launcher)
	cmd.Stdin = strings.NewReader(stampLauncher(inside, outDir))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("install stamp launcher: %v: %s", err, out)
	}
}
