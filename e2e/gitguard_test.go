package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestGitGuardDocker (issue 10, item 20) on a real engine: the scripted agent tries to plant a hook and
// rewrite .git/config (either would run its code when the user later runs git on the host) and fails,
// because .git is mounted read-only over the workspace. It then hides its change the ways left to it
// (`* -diff` in .gitattributes, a .gitignore that ignores itself) and the host user commits meanwhile:
// get_diff still shows the change against the commit recorded at creation, and names every control file.
func TestGitGuardDocker(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git (apt-get install git)")
	}
	image := testenv.Docker(t)
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	h := startServer(t, dockerArgs(t, image, "exec", "none"), env)

	ws := t.TempDir()
	gitT(t, ws, "init", "-q")
	writeFile(t, ws, "README.md", "one\n")
	gitT(t, ws, "add", ".")
	gitT(t, ws, "commit", "-q", "-m", "baseline")
	base := strings.TrimSpace(gitT(t, ws, "rev-parse", "HEAD"))
	config, err := os.ReadFile(filepath.Join(ws, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}

	s := diffSession(t, h, ws)
	const script = "write .git/hooks/post-checkout touch /tmp/pwned; write .git/config [core] fsmonitor = touch /tmp/pwned; " +
		"write .gitattributes * -diff; write .gitignore .gitignore; write README.md two; say done"
	turn := s.send(t, script, 30)
	if !turn.Done || turn.StopReason != "end_turn" {
		t.Fatalf("send_message = %+v, want the turn done", turn)
	}
	var page live.Page
	h.OK("get_events", map[string]any{"sandbox": s.sandbox, "session": s.session, "cursor": turn.Cursor, "limit": 200}, &page)
	status, titles := map[string]string{}, map[string]string{}
	for _, ev := range page.Events {
		if tc := ev.ToolCall; tc != nil {
			if tc.Title != "" && titles[tc.ID] == "" {
				titles[tc.ID] = tc.Title
			}
			if tc.Status != "" {
				status[titles[tc.ID]] = tc.Status
			}
		}
	}
	for title, want := range map[string]string{"Write .git/hooks/post-checkout": "failed", "Write .git/config": "failed",
		"Write README.md": "completed", "Write .gitattributes": "completed"} {
		if status[title] != want {
			t.Errorf("%s: status %q, want %q (all: %v)", title, status[title], want, status)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "hooks", "post-checkout")); !os.IsNotExist(err) {
		t.Errorf("the agent planted a hook on the host (stat: %v)", err)
	}
	if now, _ := os.ReadFile(filepath.Join(ws, ".git", "config")); string(now) != string(config) {
		t.Errorf(".git/config changed on the host:\n%s", now)
	}

	// The user commits the agent's change on the host meanwhile: HEAD moves, `git diff HEAD` is empty.
	gitT(t, ws, "commit", "-q", "-am", "on the host")
	var d manager.DiffResult
	h.OK("get_diff", map[string]any{"sandbox": s.sandbox}, &d)
	if d.Base != base || !strings.Contains(d.Diff, "diff --git a/README.md b/README.md") {
		t.Errorf("get_diff base %q diff:\n%s\nwant the README change against the creation commit %s", d.Base, d.Diff, base)
	}
	for _, want := range []string{"new .gitattributes", "new .gitignore", "HEAD moved from " + base} {
		if !slices.ContainsFunc(d.ControlChanges, func(c string) bool { return strings.HasPrefix(c, want) }) {
			t.Errorf("control changes %q lack %q", d.ControlChanges, want)
		}
	}
	if txt := testkit.Text(h.Call("get_diff", map[string]any{"sandbox": s.sandbox})); !strings.Contains(txt, "Git control files changed") {
		t.Errorf("get_diff text does not name the control changes:\n%s", txt)
	}
}

// TestNestedWorkspaces (issue 10, item 4): a workspace inside, or containing, another live sandbox's
// workspace is refused; the same workspace under another name, and one beside it, are not.
func TestNestedWorkspaces(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	root := t.TempDir()
	outer, inner, beside := filepath.Join(root, "p"), filepath.Join(root, "p", "sub"), filepath.Join(root, "p2")
	for _, d := range []string{inner, beside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": outer, "name": "nest-outer"}, &sb)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": "nest-outer"}) })
	if got := h.Fails("create_sandbox", map[string]any{"workspace": inner, "name": "nest-inner"}); !strings.Contains(got, `overlaps the workspace `+outer+` of the live sandbox "nest-outer"`) {
		t.Errorf("workspace inside a live one: %q", got)
	}
	var other manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": beside, "name": "nest-beside"}, &other)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": "nest-beside"}) })
	h.OK("create_sandbox", map[string]any{"workspace": outer, "name": "nest-same"}, &other)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": "nest-same"}) })
	h.OK("destroy_sandbox", map[string]any{"name": "nest-outer"}, &manager.DestroyResult{})
	h.OK("destroy_sandbox", map[string]any{"name": "nest-same"}, &manager.DestroyResult{})
	// Now the inner one is allowed, and the outer one refused.
	h.OK("create_sandbox", map[string]any{"workspace": inner, "name": "nest-inner"}, &other)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": "nest-inner"}) })
	if got := h.Fails("create_sandbox", map[string]any{"workspace": outer, "name": "nest-outer2"}); !strings.Contains(got, "overlaps the workspace") {
		t.Errorf("workspace containing a live one: %q", got)
	}
}
