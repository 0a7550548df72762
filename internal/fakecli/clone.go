package fakecli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// `sbx create --clone` (sbx >= 0.31, docs/upstream/sbx-cli.json "create"). What is documented, from the
// v0.45.1 help: "Run the agent on a private in-container clone of the host Git repository (mounted
// read-only) instead of bind-mounting the workspace; the agent's commits are accessible via the
// `sandbox-<name>` git remote on the host". Everything else is inferred, and the double's choices are:
//
//   - Where the clone lives inside the VM: not documented. The double puts it at the workspace's own path,
//     which is where the agent and `exec` (whose default cwd is "the primary workspace") find it. It is a
//     copy kept in the sandbox's state dir (<dir>/git/<name>), and every process of the sandbox runs in a
//     private mount namespace in which that copy is bind-mounted over the workspace path: the agent writes
//     at the workspace's path, the user's folder is never touched (clone_linux.go). This needs
//     CAP_SYS_ADMIN: without it, create --clone fails (the double's own limit, not sbx's).
//   - What the clone starts from: the repository's HEAD (committed work only), checked out on HEAD's
//     branch; it has no `origin` (the host repository is not reachable at any path inside).
//   - How the remote serves commits: "a git remote on the host"; the docs' wording suggests a git daemon.
//     The double adds `sandbox-<name>` with the URL git://127.0.0.1:PORT/<name> and serves the clone with
//     `git daemon --inetd --export-all` behind a listener of its own (sbx __gitd), for as long as the
//     sandbox exists, running or stopped (not documented either way). `rm` removes the remote.
//   - A workspace that is not a git repository: refused ("--clone requires a git repository"; the
//     wording is the double's).

// sbxClone is the first sbx with --clone (docs/upstream/docker-sandboxes.md §13 table: "--clone (0.31+)").
const sbxClone = "0.31.0"

// Hidden subcommands, dispatched before Main (they need no FAKECLI_ROOT and must not print anything).
const (
	nsSubcommand   = "__ns"   // runs one command of a --clone sandbox in its mount namespace
	gitdSubcommand = "__gitd" // serves a --clone sandbox's clone over git://
)

// cloneRec is <dir>/clone.json: what rm undoes.
type cloneRec struct {
	Workspace string `json:"workspace"` // the user's repository
	Remote    string `json:"remote"`    // the remote's name in it
	URL       string `json:"url"`
	Server    string `json:"server"` // "<pid> <starttime>" of the sbx __gitd process
}

func (e *env) cloneGitDir(name string) string { return filepath.Join(e.dir(name), "git") }
func (e *env) clonePath(name string) string   { return filepath.Join(e.cloneGitDir(name), name) }
func (e *env) cloneRecPath(name string) string {
	return filepath.Join(e.dir(name), "clone.json")
}

// loadClone returns the sandbox's clone record, if it was created with --clone.
func (e *env) loadClone(name string) (cloneRec, bool) {
	var c cloneRec
	b, err := os.ReadFile(e.cloneRecPath(name))
	if err != nil || json.Unmarshal(b, &c) != nil {
		return cloneRec{}, false
	}
	return c, true
}

// fakeGit runs git for the double (not the code under test): no system or global configuration, no hooks.
func fakeGit(dir string, args ...string) (string, error) {
	a := append([]string{"-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*", "-C", dir}, args...)
	cmd := exec.Command("git", a...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// makeClone clones the workspace's repository into the sandbox's dir. Called with the lock held, before
// the sandbox is listed.
func (e *env) makeClone(m *meta) error {
	if len(m.Workspaces) == 0 {
		return errors.New("--clone requires a workspace path (a git repository)")
	}
	if err := nsAvailable(); err != nil {
		return err
	}
	ws := m.Workspaces[0]
	if top, err := fakeGit(ws, "rev-parse", "--show-toplevel"); err != nil || top != ws {
		return fmt.Errorf("--clone requires a git repository: %s is not the top of one", ws)
	}
	dst := e.clonePath(m.Name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// --no-hardlinks: "private": nothing shared with the user's object files.
	if _, err := fakeGit(filepath.Dir(dst), "clone", "-q", "--no-hardlinks", "--", ws, dst); err != nil {
		return fmt.Errorf("clone %s: %w", ws, err)
	}
	_, err := fakeGit(dst, "remote", "remove", "origin")
	return err
}

// serveClone starts the sandbox's git server and adds the sandbox-<name> remote to the user's repository.
// Called with the lock held, once the sandbox exists.
func (e *env) serveClone(m *meta) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return err
	}
	defer lf.Close()
	pid, err := startDaemon([]string{gitdSubcommand, e.dir(m.Name), e.cloneGitDir(m.Name)}, []string{"PATH=" + os.Getenv("PATH")}, lf)
	if err != nil {
		return fmt.Errorf("start the clone's git server: %w", err)
	}
	rec := cloneRec{Workspace: m.Workspaces[0], Remote: "sandbox-" + m.Name, Server: strconv.Itoa(pid) + " " + procStart(pid),
		URL: fmt.Sprintf("git://127.0.0.1:%d/%s", ln.Addr().(*net.TCPAddr).Port, m.Name)}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(e.cloneRecPath(m.Name), b, 0o644); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return err
	}
	// A remote of that name left by an earlier sandbox of the same name is replaced.
	_, _ = fakeGit(rec.Workspace, "remote", "remove", rec.Remote)
	if _, err := fakeGit(rec.Workspace, "remote", "add", rec.Remote, rec.URL); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("add remote %s: %w", rec.Remote, err)
	}
	return nil
}

// dropClone is rm's part for a --clone sandbox: its git server stops and its remote goes.
func (e *env) dropClone(name string) {
	c, ok := e.loadClone(name)
	if !ok {
		return
	}
	killGroup(c.Server) // the server leads its own session, hence its group
	if url, err := fakeGit(c.Workspace, "config", "--get", "remote."+c.Remote+".url"); err == nil && url == c.URL {
		_, _ = fakeGit(c.Workspace, "remote", "remove", c.Remote)
	}
}

// gitdMain is `sbx __gitd SANDBOX_DIR BASE_PATH` with the listener as fd 3: each connection is served by
// `git daemon --inetd` over the clone(s) under BASE_PATH. It exits when the sandbox's dir loses its
// meta.json (removed), so no server outlives its sandbox even when rm could not kill it.
func gitdMain(args []string) int {
	if len(args) != 2 {
		return 2
	}
	dir, base := args[0], args[1]
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveGit(c, base)
		}
	}()
	for {
		time.Sleep(200 * time.Millisecond)
		if _, err := os.Stat(filepath.Join(dir, "meta.json")); err != nil {
			ln.Close()
			return 0
		}
	}
}

// serveGit runs one git daemon --inetd session on c.
func serveGit(c net.Conn, base string) {
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		return
	}
	defer f.Close()
	cmd := exec.Command("git", "-c", "core.hooksPath=/dev/null", "daemon", "--inetd", "--export-all", "--base-path="+base,
		"--log-destination=none", "--informative-errors", "--init-timeout=10", "--timeout=120")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	cmd.Stdin, cmd.Stdout = f, f
	cmd.SysProcAttr = attachedProcAttr() // dies with the server
	_ = cmd.Run()
}
