package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// TestBadInput: every refusal is one clear tool error and leaves nothing behind: no sandbox in the
// double's state, no record in ours.
func TestBadInput(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	args := testkit.SandboxArgs(t, "sbx", bin)
	stateDir := strings.TrimPrefix(args[2], "--state-dir=")
	h := startServer(t, args, env)
	ws := t.TempDir()
	file := filepath.Join(ws, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tool string
		args       map[string]any
		want       string
	}{
		{"relative workspace", "create_sandbox", map[string]any{"workspace": "project"}, "is relative: pass an absolute path"},
		{"missing workspace", "create_sandbox", map[string]any{"workspace": filepath.Join(ws, "nope")}, "does not exist"},
		{"workspace is a file", "create_sandbox", map[string]any{"workspace": file}, "is not a directory"},
		{"workspace is /", "create_sandbox", map[string]any{"workspace": "/"}, "system folder"},
		{"workspace is the home folder", "create_sandbox", map[string]any{"workspace": env["HOME"]}, "home folder itself"},
		{"workspace escapes with ..", "create_sandbox", map[string]any{"workspace": ws + "/../../../../../etc"}, "system folder"},
		{"name starting with -", "create_sandbox", map[string]any{"workspace": ws, "name": "--privileged"}, "is not valid"},
		{"name with shell characters", "create_sandbox", map[string]any{"workspace": ws, "name": "x$(reboot)"}, "is not valid"},
		{"template that would become a flag", "create_sandbox", map[string]any{"workspace": ws, "template": "-v/:/host"}, "not a valid image reference"},
		{"unknown agent", "create_session", map[string]any{"sandbox": "nobox", "agent": "gpt-7"}, "unknown agent"},
		{"unknown sandbox", "create_session", map[string]any{"sandbox": "nobox", "agent": "mock"}, "unknown sandbox \"nobox\": create it with create_sandbox first"},
		{"unknown sandbox for a message", "send_message", map[string]any{"sandbox": "nobox", "session": "s1", "message": "hi"}, "unknown sandbox"},
		{"unknown session", "get_events", map[string]any{"sandbox": "nobox", "session": "s1"}, "unknown sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Fails(tt.tool, tt.args); !strings.Contains(got, tt.want) || strings.Contains(got, "\n") {
				t.Errorf("got %q, want one line containing %q", got, tt.want)
			}
		})
	}
	// An unknown session in a real sandbox.
	var sb struct{ Name string }
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	if got := h.Fails("get_events", map[string]any{"sandbox": sb.Name, "session": "nosuch"}); !strings.Contains(got, "unknown session \"nosuch\"") {
		t.Errorf("unknown session: %q", got)
	}
	if got := h.Fails("respond_permission", map[string]any{"sandbox": sb.Name, "session": "nosuch", "request_id": "p", "option": "allow"}); !strings.Contains(got, "unknown session") {
		t.Errorf("unknown session: %q", got)
	}
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &sb)

	entries, _ := os.ReadDir(filepath.Join(env["FAKECLI_ROOT"], "sbx"))
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("sandbox %s was created by a refused call", e.Name())
		}
	}
	recs, _ := os.ReadDir(filepath.Join(stateDir, "sandboxes"))
	if len(recs) != 0 {
		t.Errorf("state records left: %v", recs)
	}
}

// TestBackendProblems: a missing CLI, a template without sandbox-agent, an old sandbox-agent and a
// sandbox removed behind our back are clear errors; failed creations are rolled back.
func TestBackendProblems(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	ws := t.TempDir()

	t.Run("backend CLI missing", func(t *testing.T) {
		args := testkit.SandboxArgs(t, "sbx", bin)
		args[1] = "--sbx-bin=" + filepath.Join(t.TempDir(), "sbx")
		h := startServer(t, args, env)
		got := h.Fails("create_sandbox", map[string]any{"workspace": ws})
		if !strings.Contains(got, "not installed") || !strings.Contains(got, "install the sbx CLI") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("docker sandbox plugin removed", func(t *testing.T) {
		env := clone(env)
		env["FAKECLI_DOCKER_SANDBOX"] = "removed"
		args := append(testkit.SandboxArgs(t, "docker-sandbox", bin), "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES,FAKECLI_DOCKER_SANDBOX")
		h := startServer(t, args, env)
		if got := h.Fails("create_sandbox", map[string]any{"workspace": ws}); !strings.Contains(got, "removed in Docker Desktop 4.80") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("template without sandbox-agent", func(t *testing.T) {
		// Only with provisioning off: otherwise the server copies its own in (TestStockTemplateProvisioned).
		h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--provision-agent=false"), env)
		got := h.Fails("create_sandbox", map[string]any{"workspace": ws, "template": "sandbox-mcp/no-agent:latest"})
		if !strings.Contains(got, "sandbox-agent is not installed") || !strings.Contains(got, "npm install -g @sandbox-agent/cli@0.4.2") {
			t.Errorf("got %q", got)
		}
		if entries, _ := os.ReadDir(filepath.Join(env["FAKECLI_ROOT"], "sbx")); countDirs(entries) != 0 {
			t.Errorf("the failed sandbox was not rolled back: %v", entries)
		}
	})
	t.Run("sandbox-agent too old", func(t *testing.T) {
		templates := env["FAKECLI_TEMPLATES"]
		old := filepath.Join(templates, "sandbox-mcp_old_latest", "bin")
		if err := os.MkdirAll(old, 0o755); err != nil {
			t.Fatal(err)
		}
		// sandbox-agent 0.1.x is not published any more; this stand-in prints what its --version did.
		script := "#!/bin/sh\necho 'sandbox-agent 0.1.11'\n"
		if err := os.WriteFile(filepath.Join(old, "sandbox-agent"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--provision-agent=false"), env)
		got := h.Fails("create_sandbox", map[string]any{"workspace": ws, "template": "sandbox-mcp/old:latest"})
		if !strings.Contains(got, "sandbox-agent 0.1.11") || !strings.Contains(got, "too old") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("sandbox removed behind our back", func(t *testing.T) {
		h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
		var sb struct{ Name string }
		h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
		var sess struct{ Name string }
		h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
		if err := testkit.RunFake(bin, env, "rm", "-f", sb.Name); err != nil {
			t.Fatal(err)
		}
		got := h.Fails("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "hi"})
		if !strings.Contains(got, "no longer exists") {
			t.Errorf("got %q", got)
		}
		// create_sandbox recreates it under the same name, and destroy works either way.
		var again struct {
			Name   string
			Reused bool
		}
		h.OK("create_sandbox", map[string]any{"workspace": ws}, &again)
		if again.Name != sb.Name || again.Reused {
			t.Errorf("recreate = %+v", again)
		}
		h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &again)
	})
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func countDirs(entries []os.DirEntry) int {
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			n++
		}
	}
	return n
}
