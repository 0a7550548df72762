package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestDockerEndToEnd runs the shared conversation against a real Docker Engine, with the real
// sandbox-agent 0.4.2 and the scripted agent inside the test image, over every transport. Containers run
// with --network none (reached through docker exec, or through the relay's unix socket) or --network host
// (opted in) with the relay on a free loopback port, so no traffic leaves loopback.
func TestDockerEndToEnd(t *testing.T) {
	image := testenv.Docker(t)
	for _, tc := range []struct{ name, transport, network string }{
		{"exec", "exec", "none"},
		{"socket", "socket", "none"},
		{"port", "port", "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
			h := startServer(t, dockerArgs(t, image, tc.transport, tc.network), env)
			ws := t.TempDir()
			conversation(t, h, ws)
			if out := testkit.Docker(t, "ps", "-a", "-q", "--filter", "label=org.sandbox-mcp.workspace="+ws); out != "" {
				t.Errorf("destroy left containers behind: %s", out)
			}
		})
	}
}

// TestDockerLifecycle: reuse by name and workspace, a container removed behind our back, and destroy.
func TestDockerLifecycle(t *testing.T) {
	image := testenv.Docker(t)
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	h := startServer(t, dockerArgs(t, image, "exec", "none"), env)
	ws := t.TempDir()
	var sb struct {
		Name   string
		Reused bool
	}
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": "lifecycle-test"}, &sb)
	id := testkit.Docker(t, "inspect", "--format", "{{.Id}}", sb.Name)
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": "lifecycle-test"}, &sb)
	if !sb.Reused || testkit.Docker(t, "inspect", "--format", "{{.Id}}", sb.Name) != id {
		t.Errorf("second create did not reuse the container")
	}
	if got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir(), "name": "lifecycle-test"}); !strings.Contains(got, "already exists for workspace") {
		t.Errorf("same name, other workspace: %q", got)
	}
	var sess struct{ Name string }
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)

	testkit.Docker(t, "rm", "-f", sb.Name) // behind our back
	got := h.Fails("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name, "message": "hello"})
	if !strings.Contains(got, "no longer exists") {
		t.Errorf("message to a removed container: %q", got)
	}
	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
	if !d.AlreadyGone {
		t.Errorf("destroy of a removed container: %+v, want already_gone", d)
	}

	// A container sandbox-mcp did not create is never touched, even when named.
	testkit.Docker(t, "run", "-d", "--init", "--pull", "never", "--network", "none", "--name", "not-ours-lifecycle", "--entrypoint", "sleep", image, "infinity")
	t.Cleanup(func() { testkit.Docker(t, "rm", "-f", "not-ours-lifecycle") })
	if got := h.Fails("destroy_sandbox", map[string]any{"name": "not-ours-lifecycle"}); !strings.Contains(got, "not created by sandbox-mcp") {
		t.Errorf("destroy of a foreign container: %q", got)
	}
	if testkit.Docker(t, "inspect", "--format", "{{.State.Running}}", "not-ours-lifecycle") != "true" {
		t.Error("the foreign container was touched")
	}
}

// dockerArgs are the server's flags for the Docker backend. The relay transports get a static build of
// sandbox-mcp as relay (the test binary cannot be one); host networking is opted in, as it must be.
func dockerArgs(t *testing.T, image, transport, network string) []string {
	args := []string{"--backend=docker", "--docker-image=" + image, "--docker-transport=" + transport,
		"--docker-network=" + network, "--docker-cpus=1", "--state-dir=" + t.TempDir(), "--log-level=debug"}
	args = append(args, testenv.ProvisionArgs(t)...)
	if transport != "exec" {
		args = append(args, "--docker-relay="+testenv.Relay(t))
	}
	if network == "host" {
		// The host's loopback is shared: a sandbox-agent port of this test's own (see e2e/agents' harness).
		args = append(args, "--docker-insecure-host-network", "--agent-port="+strconv.Itoa(testenv.FreePort(t)))
	}
	return args
}
