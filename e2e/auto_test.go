package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Backend auto-detection (--backend auto, the default) through the whole server: sbx first, then the
// docker sandbox plugin, then a plain Docker Engine.
//
// Why the real docker CLI and not the fake one: a single --docker-bin serves both the docker-sandbox
// backend (`docker sandbox …`) and the docker backend (`docker run/exec/…`), and the fake docker only
// implements `docker sandbox`. So "plugin absent, engine present" is tested with the real CLI, whose
// `docker sandbox version` fails with "unknown command: docker sandbox" where no Docker Desktop is
// installed (Linux engines, CI), and sbx is made absent with --sbx-bin pointing at nothing.

// systemPath is a PATH with the usual system directories only: the test's own PATH may hold fake CLIs.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TestAutoPicksDocker: with sbx missing and the docker sandbox plugin absent, auto falls back to plain
// Docker, and create_sandbox says so.
func TestAutoPicksDocker(t *testing.T) {
	image := testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "sandbox", "version").CombinedOutput(); err == nil {
		// Docker Desktop 4.58-4.79: auto rightly picks docker-sandbox here, so this case cannot be set up.
		t.Skipf("the docker sandbox plugin is installed on this machine (%s), so auto would pick it", strings.TrimSpace(string(out)))
	}
	env := map[string]string{"PATH": systemPath, "HOME": t.TempDir()}
	args := []string{"--backend=auto", "--sbx-bin=" + filepath.Join(t.TempDir(), "no-such-sbx"),
		"--docker-image=" + image, "--docker-network=none", "--docker-cpus=1",
		"--state-dir=" + t.TempDir(), "--log-level=debug"}
	args = append(args, testenv.ProvisionArgs(t)...)
	h := startServer(t, args, env)
	ws := t.TempDir()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	t.Cleanup(func() { testkit.Docker(t, "rm", "-f", sb.Name) }) // should the destroy below fail
	if sb.Backend != "docker" || sb.AgentVersion != "0.4.2" || sb.Reused {
		t.Errorf("create_sandbox = %+v, want a new sandbox on backend docker with sandbox-agent 0.4.2", sb)
	}
	if got := testkit.Docker(t, "inspect", "--format", `{{index .Config.Labels "org.sandbox-mcp.workspace"}}`, sb.Name); got != ws {
		t.Errorf("container %s has workspace label %q, want %q", sb.Name, got, ws)
	}
	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
	if !d.Destroyed {
		t.Errorf("destroy_sandbox = %+v", d)
	}
	if out := testkit.Docker(t, "ps", "-a", "-q", "--filter", "label=org.sandbox-mcp.workspace="+ws); out != "" {
		t.Errorf("destroy left containers behind: %s", out)
	}
}

// TestAutoNothingAvailable: with no backend at all, create_sandbox fails with one line that gives every
// backend's reason, in the order auto tries them.
func TestAutoNothingAvailable(t *testing.T) {
	missing := t.TempDir()
	env := map[string]string{"PATH": systemPath, "HOME": t.TempDir()}
	args := []string{"--backend=auto", "--sbx-bin=" + filepath.Join(missing, "sbx"), "--docker-bin=" + filepath.Join(missing, "docker"),
		"--state-dir=" + t.TempDir()}
	h := startServer(t, args, env)
	got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
	t.Logf("create_sandbox: %s", got)
	if strings.Contains(got, "\n") {
		t.Errorf("error has several lines: %q", got)
	}
	const prefix = "no sandbox backend is available: sbx: "
	i, j := strings.Index(got, "; docker-sandbox: "), strings.Index(got, "; docker: ")
	if !strings.HasPrefix(got, prefix) || i < len(prefix) || j < i {
		t.Fatalf("error = %q, want %q then the reasons of sbx, docker-sandbox and docker in that order", got, prefix+"…; docker-sandbox: …; docker: …")
	}
	// Each reason is the backend's own, with a way out.
	if reason := got[len(prefix):i]; !strings.Contains(reason, "sbx") {
		t.Errorf("sbx reason %q does not name what is missing", reason)
	}
	if reason := got[j:]; !strings.Contains(reason, "not installed") {
		t.Errorf("docker reason %q does not say the CLI is not installed", reason)
	}
	// Nothing was recorded or created: a second call detects again and fails the same way.
	if again := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()}); !strings.HasPrefix(again, prefix) {
		t.Errorf("second call = %q, want detection to run again and fail alike", again)
	}
}
