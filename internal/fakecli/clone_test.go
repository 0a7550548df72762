package fakecli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSbxClone: with --clone, the agent works on a private clone at the workspace's path (the user's folder
// is untouched), its commits come back through the sandbox-<name> remote, and rm takes the remote and its
// server away. Releases before 0.31 have no --clone.
func TestSbxClone(t *testing.T) {
	testenv.NeedRoot(t, "the double's sbx --clone makes a private mount namespace")
	f := newFixture(t)
	gitIn(t, f.work, "init", "-q", "-b", "main")
	must(t, os.WriteFile(filepath.Join(f.work, "a.txt"), []byte("user\n"), 0o644))
	gitIn(t, f.work, "add", ".")
	gitIn(t, f.work, "commit", "-q", "-m", "base")
	head := gitIn(t, f.work, "rev-parse", "HEAD")

	if r := f.runEnv(t.Context(), "", []string{"FAKECLI_SBX_VERSION=0.30.0"}, "sbx", "create", "--clone", "--name", "old", "claude", f.work); r.code == 0 || !strings.Contains(r.stderr, "unknown flag: --clone") {
		t.Errorf("sbx 0.30 create --clone = %+v, want unknown flag", r)
	}
	if r := f.run("sbx", "create", "--clone", "--name", "plain", "claude", t.TempDir()); r.code == 0 || !strings.Contains(r.stderr, "requires a git repository") {
		t.Errorf("create --clone on a plain folder = %+v", r)
	}

	f.ok("sbx", "create", "--clone", "--name", "sb", "-t", "sandbox-mcp/test:latest", "claude", f.work)
	url := gitIn(t, f.work, "config", "--get", "remote.sandbox-sb.url")
	if !strings.HasPrefix(url, "git://127.0.0.1:") || !strings.HasSuffix(url, "/sb") {
		t.Fatalf("remote sandbox-sb = %q, want a git:// URL on loopback", url)
	}
	// Default cwd = the workspace path, which inside is the clone.
	out := f.ok("sbx", "exec", "sb", "sh", "-c", `pwd; cat a.txt; echo agent > a.txt; echo new > b.txt
git -c user.name=a -c user.email=a@a commit -q -am work && git add b.txt && git -c user.name=a -c user.email=a@a commit -q -m more
git rev-parse --abbrev-ref HEAD; git remote`)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || lines[0] != f.work || lines[1] != "user" || lines[2] != "main" {
		t.Fatalf("inside the clone: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.work, "a.txt")); string(b) != "user\n" {
		t.Fatalf("the user's a.txt became %q", b)
	}
	if _, err := os.Stat(filepath.Join(f.work, "b.txt")); err == nil {
		t.Fatal("the agent's b.txt appeared in the user's folder")
	}
	if st := gitIn(t, f.work, "status", "--porcelain"); st != "" || gitIn(t, f.work, "rev-parse", "HEAD") != head {
		t.Fatalf("the user's repository changed: status %q", st)
	}
	gitIn(t, f.work, "fetch", "-q", "sandbox-sb", "main:refs/remotes/sandbox-sb/main")
	if got := gitIn(t, f.work, "log", "--format=%s", "refs/remotes/sandbox-sb/main"); got != "more\nwork\nbase" {
		t.Fatalf("commits through sandbox-sb: %q", got)
	}
	// The remote serves the clone while the sandbox is stopped too.
	f.ok("sbx", "stop", "sb")
	gitIn(t, f.work, "ls-remote", "sandbox-sb")

	c, _ := (&env{root: filepath.Join(f.root, "sbx")}).loadClone("sb")
	f.ok("sbx", "rm", "-f", "sb")
	if out, err := exec.Command("git", "-C", f.work, "config", "--get", "remote.sandbox-sb.url").Output(); err == nil {
		t.Errorf("rm left the remote: %s", out)
	}
	waitGone(t, c.Server)
}

func waitGone(t *testing.T, rec string) {
	t.Helper()
	pid := strings.Fields(rec)[0]
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			return
		}
	}
	t.Fatalf("the clone's git server (pid %s) outlived rm", pid)
}
