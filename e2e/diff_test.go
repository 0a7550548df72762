package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestDiff runs get_diff, and the review prompt that embeds it, end to end: on the sandbox CLI double
// (whose sandboxes run on this machine, so with the host's git) and, where an engine runs, on Docker
// (with the git the test image carries). The scripted agent changes the workspace through sandbox-agent.
func TestDiff(t *testing.T) {
	t.Run("sbx", func(t *testing.T) {
		if _, err := exec.LookPath("git"); err != nil {
			testenv.Missing(t, "git", "install git (apt-get install git)")
		}
		env, bin := testkit.FakeEnv(t)
		diffScenarios(t, startServer(t, testkit.SandboxArgs(t, "sbx", bin), env))
	})
	t.Run("docker", func(t *testing.T) {
		if _, err := exec.LookPath("git"); err != nil {
			testenv.Missing(t, "git", "install git (apt-get install git)")
		}
		image := testenv.Docker(t)
		env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
		diffScenarios(t, startServer(t, dockerArgs(t, image, "exec", "none"), env))
	})
}

func diffScenarios(t *testing.T, h *harness) {
	t.Run("committed repo", func(t *testing.T) {
		ws := t.TempDir()
		gitT(t, ws, "init", "-q")
		writeFile(t, ws, "README.md", "one\n")
		writeFile(t, ws, ".gitignore", "*.log\n")
		gitT(t, ws, "add", ".")
		gitT(t, ws, "commit", "-q", "-m", "baseline")

		s := diffSession(t, h, ws)
		const msg = "write README.md two; write new.txt fresh; write debug.log ignored; say changed"
		turn := s.send(t, msg, 20)
		if !turn.Done || turn.StopReason != "end_turn" {
			t.Fatalf("send_message = %+v, want the turn done", turn)
		}

		var d manager.DiffResult
		h.OK("get_diff", map[string]any{"sandbox": s.sandbox}, &d)
		want := gitT(t, ws, "diff", "--no-color", "HEAD", "--") // the same git on the same files
		if d.Diff != want || d.Sandbox != s.sandbox || d.Workspace != ws || d.Truncated {
			t.Errorf("get_diff = %+v\nwant diff:\n%s", d, want)
		}
		for _, line := range []string{"diff --git a/README.md b/README.md\n", "\n-one\n", "\n+two\n"} {
			if !strings.Contains(d.Diff, line) {
				t.Errorf("diff lacks %q:\n%s", line, d.Diff)
			}
		}
		if strings.Contains(d.Diff, "new.txt") || !slices.Equal(d.Untracked, []string{"new.txt"}) {
			t.Errorf("untracked = %q (diff %q), want just new.txt (debug.log is ignored)", d.Untracked, d.Diff)
		}
		if txt := testkit.Text(h.Call("get_diff", map[string]any{"sandbox": s.sandbox})); !strings.Contains(txt, "+two") || !strings.HasSuffix(txt, "Untracked files:\n  new.txt") {
			t.Errorf("get_diff text:\n%s", txt)
		}

		// The review prompt embeds that diff and the session's transcript.
		got := getPrompt(t, h, "review_sandbox_work", map[string]string{"sandbox": s.sandbox, "session": s.session})
		for _, part := range []string{
			"sandbox " + s.sandbox + " (session " + s.session + ")",
			"```diff\n" + strings.TrimRight(d.Diff, "\n") + "\n```\n",
			"Untracked files:\n- new.txt\n",
			"## What the agent said and did",
			"### User (turn-1)\n\n```text\n" + msg + "\n```\n",
			`"Write README.md"`,
			"**Agent:**\n\n```text\nchanged\n```\n",
			"turn turn-1 ended: end_turn",
		} {
			if !strings.Contains(got, part) {
				t.Errorf("review prompt lacks %q:\n%s", part, got)
			}
		}
		if _, err := getPromptErr(h, "review_sandbox_work", map[string]string{"sandbox": s.sandbox, "session": "nosuch-1"}); err == nil || !strings.Contains(err.Error(), `unknown session "nosuch-1"`) {
			t.Errorf("review prompt for an unknown session: %v", err)
		}
	})

	t.Run("not a git repo", func(t *testing.T) {
		ws := t.TempDir()
		writeFile(t, ws, "README.md", "one\n")
		s := diffSession(t, h, ws)
		got := h.Fails("get_diff", map[string]any{"sandbox": s.sandbox})
		if !strings.Contains(got, "not a git repository") || !strings.Contains(got, "run git init") || strings.Contains(got, "\n") {
			t.Errorf("get_diff outside a repo = %q, want one line saying to run git init", got)
		}
		if _, err := getPromptErr(h, "review_sandbox_work", map[string]string{"sandbox": s.sandbox}); err == nil || !strings.Contains(err.Error(), "git init") {
			t.Errorf("review prompt outside a repo: %v, want the get_diff error", err)
		}
	})

	t.Run("no commit yet", func(t *testing.T) {
		ws := t.TempDir()
		gitT(t, ws, "init", "-q")
		writeFile(t, ws, "staged.txt", "first\n")
		gitT(t, ws, "add", "staged.txt")

		s := diffSession(t, h, ws)
		turn := s.send(t, "write staged.txt second; write other.txt new", 20)
		if !turn.Done || turn.StopReason != "end_turn" {
			t.Fatalf("send_message = %+v, want the turn done", turn)
		}
		var d manager.DiffResult
		h.OK("get_diff", map[string]any{"sandbox": s.sandbox}, &d)
		// Staged (the new file as added), then unstaged (the agent's change on top).
		want := gitT(t, ws, "diff", "--no-color", "--cached", "--") + gitT(t, ws, "diff", "--no-color", "--")
		if d.Diff != want || !slices.Equal(d.Untracked, []string{"other.txt"}) {
			t.Errorf("get_diff = %+v\nwant diff:\n%s", d, want)
		}
		for _, line := range []string{"new file mode", "\n+first\n", "\n-first\n", "\n+second"} {
			if !strings.Contains(d.Diff, line) {
				t.Errorf("diff lacks %q:\n%s", line, d.Diff)
			}
		}
	})
}

// diffSession creates a sandbox on ws with one mock session, destroyed when the test ends.
func diffSession(t *testing.T, h *harness, ws string) session {
	t.Helper()
	var sb manager.SandboxResult
	// Direct mode: this test is about diffing the workspace itself (clone mode: isolation_e2e_test.go).
	h.OK("create_sandbox", map[string]any{"workspace": ws, "isolation": "direct"}, &sb)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": sb.Name}) })
	var s manager.SessionResult
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &s)
	return session{h: h, sandbox: sb.Name, session: s.Name}
}

// gitT runs the host's git in dir, with no user or system configuration, and returns its output.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main", "-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// getPrompt gets a prompt that must succeed through the MCP client, and returns its one user message.
func getPrompt(t *testing.T, h *harness, name string, args map[string]string) string {
	t.Helper()
	res, err := getPromptErr(h, name, args)
	if err != nil {
		t.Fatalf("prompts/get %s: %v", name, err)
	}
	if len(res.Messages) != 1 || res.Messages[0].Role != mcp.RoleUser {
		t.Fatalf("prompts/get %s: %+v, want one user message", name, res)
	}
	tc, ok := res.Messages[0].Content.(mcp.TextContent)
	if !ok {
		t.Fatalf("prompts/get %s: content %T, want text", name, res.Messages[0].Content)
	}
	return tc.Text
}

func getPromptErr(h *harness, name string, args map[string]string) (*mcp.GetPromptResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.GetPromptRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return h.Client.GetPrompt(ctx, req)
}
