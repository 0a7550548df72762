package fakecli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// `exec`: runs COMMAND as a local process that looks as much as possible like
// a process inside the sandbox's agent container (spec §7 exec, §11):
//
//   - a clean environment: PATH over the sandbox root, HOME=<root>/home,
//     USER=agent, HOSTNAME=<name>, the sandbox's persistent env (sbx create -e)
//     and the exec -e/--env-file entries; nothing else leaks from the caller;
//   - stdin only with -i (otherwise the child reads /dev/null: "piped input
//     arrives as 0 bytes");
//   - the inner exit status is propagated, stdout/stderr stay separate;
//   - each process leads its own process group and is registered, so stop/rm
//     kill everything, as a VM shutdown would.
//
// Paths are host paths: workspaces are "mounted" at the same absolute path
// (spec §5), so -w and the default cwd need no translation.

func (e *env) exec(args []string) int {
	specs := []flagSpec{
		{long: "detach", short: "d", kind: boolFlag},
		{long: "detach-keys", kind: stringFlag},
		{long: "env", short: "e", kind: listFlag},
		{long: "env-file", kind: listFlag},
		{long: "interactive", short: "i", kind: boolFlag},
		{long: "privileged", kind: boolFlag},
		{long: "tty", short: "t", kind: boolFlag},
		{long: "user", short: "u", kind: stringFlag}, // accepted, ignored: we cannot switch users
		{long: "workdir", short: "w", kind: stringFlag},
	}
	cmdPath := e.cmd + " exec"
	// Not interspersed: flags after SANDBOX belong to COMMAND, as in docker exec.
	p, err := parseFlags(specs, args, false)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s [OPTIONS] SANDBOX COMMAND [ARG...]\n\nExecute a command inside a sandbox\n", cmdPath)
		return 0
	}
	if len(p.args) < 2 {
		return e.usage(fmt.Errorf("%q requires at least 2 arguments", cmdPath), cmdPath)
	}
	// sbx lists -d/--detach but refuses it: `sbx exec --help` (v0.45.1) says "Flags match the behavior of
	// docker exec, except detached exec (-d/--detach) is not supported"; docker/docs usage.md: "`sbx exec`
	// runs commands in the foreground". (v0.39 hung instead, docker/sbx-releases#505.) The plugin had it.
	if e.prog == "sbx" && p.bools["detach"] {
		return e.fail("detached exec (-d/--detach) is not supported")
	}
	name, argv := p.args[0], p.args[1:]
	extra, err := e.resolveEnv(p.lists["env-file"], p.lists["env"])
	if err != nil {
		return e.fail("%v", err)
	}

	unlockFn, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	unlock := sync.OnceFunc(unlockFn) // released as soon as the process is registered
	defer unlock()
	m, err := e.load(name)
	if err != nil {
		return e.notFound(name, err)
	}
	if m.Zombie {
		return e.fail("failed to start VM: create SDK client: socket path is empty")
	}
	switch {
	case e.prog == "sbx":
		// "If the sandbox is stopped, it is started first" (sbx exec --help); its VM process (vm.go) then
		// counts this exec as a session until it ends.
		if err := e.ensureVM(m); err != nil {
			return e.fail("failed to start VM: %v", err)
		}
		endSession, err := e.addSession(name)
		if err != nil {
			return e.fail("%v", err)
		}
		defer endSession()
	case m.Status != "running": // spec §6: a stopped VM is auto-started by exec
		m.Status = "running"
		if err := e.save(m); err != nil {
			return e.fail("failed to start VM: %v", err)
		}
	}

	root := e.rootfs(name)
	home := filepath.Join(root, "home")
	os.MkdirAll(filepath.Join(home, "workspace"), 0o755)
	environ := []string{
		"PATH=" + strings.Join([]string{filepath.Join(root, "bin"), filepath.Join(root, "usr/local/bin"), "/usr/local/bin", "/usr/bin", "/bin"}, ":"),
		"HOME=" + home, "USER=agent", "HOSTNAME=" + name,
	}
	if m.Addr != "" { // the VM's address (vm.go): what 0.0.0.0 inside this sandbox means in the double
		environ = append(environ, vmAddrEnv+"="+m.Addr)
	}
	if m.Proxy != "" { // sbx's network proxy (proxy.go), as sbx sets it inside every sandbox
		environ = append(environ, e.proxyEnv(m.Proxy)...)
	}
	if p.bools["tty"] {
		environ = append(environ, "TERM=xterm") // docker exec -t sets TERM
	}
	for _, kv := range append(append([]string{}, m.Env...), extra...) {
		k, v, _ := strings.Cut(kv, "=")
		environ = setEnv(environ, k, v)
	}

	// Default cwd: the primary workspace. sbx documents this; for the plugin it
	// is undocumented (spec §14.4) and we choose the same. Mountless sbx
	// sandboxes use ~/workspace, mirroring /home/agent/workspace.
	dir := filepath.Join(home, "workspace")
	if len(m.Workspaces) > 0 {
		dir = m.Workspaces[0]
	}
	if w := p.str("workdir", ""); w != "" {
		dir = w
		if !filepath.IsAbs(w) { // dockerd rejects these before starting anything
			return e.fail("Error response from daemon: the working directory '%s' is invalid, it needs to be an absolute path", w)
		}
		if st, err := os.Stat(w); err != nil || !st.IsDir() {
			fmt.Fprintf(e.stderr, "OCI runtime exec failed: exec failed: unable to start container process: "+
				"chdir to cwd (%q) set in config.json failed: no such file or directory: unknown\n", w)
			return 126
		}
	}
	path, code, err := lookPath(argv[0], envValue(environ, "PATH"), dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "OCI runtime exec failed: exec failed: unable to start container process: %v: unknown\n", err)
		return code
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: environ, Dir: dir, WaitDelay: time.Second}
	if _, ok := e.loadClone(name); ok && e.prog == "sbx" && len(m.Workspaces) > 0 {
		// sbx --clone: the process sees the sandbox's clone at the workspace's path (clone.go).
		if cmd, err = nsWrap(cmd, e.clonePath(name), m.Workspaces[0]); err != nil {
			return e.fail("%v", err)
		}
	}
	if p.bools["detach"] {
		return e.startDetached(cmd, name, unlock)
	}
	return e.runAttached(cmd, name, p.bools["interactive"], unlock)
}

// startDetached starts cmd in a new session with its output in
// <dir>/logs/<pid>.log and returns at once, printing nothing (like exec -d).
func (e *env) startDetached(cmd *exec.Cmd, name string, unlock func()) int {
	logs := filepath.Join(e.dir(name), "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return e.fail("%v", err)
	}
	log, err := os.CreateTemp(logs, ".starting-*.log")
	if err != nil {
		return e.fail("%v", err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		os.Remove(log.Name())
		return e.fail("%v", err)
	}
	pid := cmd.Process.Pid
	err = e.register(name, pid)
	unlock()
	os.Rename(log.Name(), filepath.Join(logs, strconv.Itoa(pid)+".log"))
	cmd.Process.Release()
	if err != nil {
		return e.fail("%v", err)
	}
	return 0
}

// runAttached runs cmd in its own process group, forwards SIGTERM/SIGINT/
// SIGHUP/SIGQUIT to that group, and returns the inner exit status (128+N
// for a signal, as a shell would report it).
func (e *env) runAttached(cmd *exec.Cmd, name string, interactive bool, unlock func()) int {
	if interactive {
		cmd.Stdin = e.stdin
	}
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	if cmd.SysProcAttr == nil { // nsWrap sets its own (clone_linux.go)
		cmd.SysProcAttr = attachedProcAttr()
	}
	sigs := make(chan os.Signal, 8)
	// Subscribe before Start so a signal in between is queued, not fatal.
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	defer func() { signal.Stop(sigs); close(sigs) }()
	if err := cmd.Start(); err != nil {
		unlock()
		fmt.Fprintf(e.stderr, "OCI runtime exec failed: exec failed: unable to start container process: %v: unknown\n", err)
		return 126
	}
	pid := cmd.Process.Pid
	regErr := e.register(name, pid)
	unlock()
	defer e.unregister(name, pid)
	go func() {
		for s := range sigs {
			syscall.Kill(-pid, s.(syscall.Signal))
		}
	}()
	if regErr != nil {
		fmt.Fprintf(e.stderr, "fake %s: warning: cannot register process: %v\n", e.prog, regErr)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return e.fail("%v", err)
	}
	return 0
}

// lookPath resolves file against the sandbox PATH (not the caller's, which
// exec.LookPath would use) and returns docker exec's exit codes: 127 for
// not found, 126 for not executable.
func lookPath(file, pathEnv, dir string) (string, int, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", 127, fmt.Errorf("exec: %q: stat %s: no such file or directory", file, file)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", 126, fmt.Errorf("exec: %q: permission denied", file)
		}
		return p, 0, nil
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, 0, nil
		}
	}
	return "", 127, fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func envValue(list []string, k string) string {
	for _, kv := range list {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}
