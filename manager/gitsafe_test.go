package manager

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// TestGitSafe: the git invocations get_diff makes do not run anything a writable .git or working tree
// configures — fsmonitor, hooks, textconv, external diff, pager — with the host's git on a booby-trapped
// repository (each trap touches a marker file).
func TestGitSafe(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git")
	}
	ws := t.TempDir()
	marker := filepath.Join(t.TempDir(), "pwned")
	run := func(args []string, env []string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v: %s", args, err, out)
		}
		return string(out)
	}
	plain := func(args ...string) string {
		return run(append([]string{"git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", ws}, args...), []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"})
	}
	plain("init", "-q")
	if err := os.WriteFile(filepath.Join(ws, "a.txt"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain("add", ".")
	plain("commit", "-q", "-m", "base")
	trap := "touch " + marker
	for _, kv := range [][2]string{{"core.fsmonitor", trap}, {"diff.external", trap}, {"diff.evil.textconv", trap},
		{"core.pager", trap}, {"pager.diff", trap}} {
		plain("config", kv[0], kv[1])
	}
	hook := filepath.Join(ws, ".git", "hooks", "post-index-change")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\n"+trap+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".gitattributes"), []byte("* diff=evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "a.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	diff := run(gitSafeArgs(ws, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "HEAD", "--"), gitSafeEnv())
	run(gitSafeArgs(ws, "ls-files", "--others", "--exclude-standard"), gitSafeEnv())
	run(gitSafeArgs(ws, "rev-parse", "--verify", "-q", "HEAD^{commit}"), gitSafeEnv())
	fp := run([]string{"sh", "-c", gitControlScript, "sh", ws}, gitSafeEnv())
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a trap in .git/config, hooks or .gitattributes ran")
	}
	if !strings.Contains(diff, "+two") {
		t.Errorf("diff:\n%s\nwant the change in plain text", diff)
	}
	if !strings.HasPrefix(fp, "folder\n") || !strings.Contains(fp, ".git/hooks/post-index-change") {
		t.Errorf("fingerprint input:\n%s", fp)
	}
	// The check itself can fail: plain git with the same arguments springs the fsmonitor trap.
	plain("diff", "--no-ext-diff", "--no-textconv", "HEAD", "--")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the unprotected git did not run the trap (%v): the test proves nothing here", err)
	}
}

// TestRecheck: a workspace accepted before is refused once a component of its path is a symlink.
func TestRecheck(t *testing.T) {
	w := newWorkspaceTree(t)
	p := w.policy()
	if err := p.Recheck(w.project); err != nil {
		t.Fatalf("unchanged workspace: %v", err)
	}
	src := filepath.Join(w.home, "src")
	if err := os.Rename(src, src+"-moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(w.other), src); err != nil { // src/project → elsewhere/project
		t.Fatal(err)
	}
	if err := p.Recheck(w.project); err == nil || !strings.Contains(err.Error(), "became a symlink") {
		t.Errorf("Recheck after swapping a component for a symlink = %v, want refused", err)
	}
}
