package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// stockImage is the local stand-in for a public stock image: busybox and curl, no sandbox-agent, no agent.
func stockImage(t *testing.T) string {
	t.Helper()
	testenv.Docker(t)
	img := os.Getenv("SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
	if img == "" {
		img = "sandbox-mcp-test:no-agent"
	}
	if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
		testenv.Missing(t, "the test image "+img, "run scripts/build-test-image or set SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
	}
	if err := exec.Command("docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "sh", img,
		"-c", "! command -v sandbox-agent").Run(); err != nil {
		t.Fatalf("%s is meant to have no sandbox-agent: %v", img, err)
	}
	return img
}

// agentsVolume returns a fresh volume prefix and the volume the server will use on this engine, removed
// at the end.
func agentsVolume(t *testing.T) (prefix, volume string) {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix = "provision-test-" + hex.EncodeToString(b)
	arch := testkit.Docker(t, "version", "--format", "{{.Server.Arch}}")
	volume = prefix + "-" + arch
	t.Cleanup(func() { _ = exec.Command("docker", "volume", "rm", "-f", volume).Run() })
	return prefix, volume
}

// seedScripted puts the scripted agent into the agents volume as sandbox-agent's mock agent, where an
// install would put an agent: its launcher under sandbox-agent/bin/agent_processes, and with marker, the
// marker of a completed install.
func seedScripted(t *testing.T, withAgent, volume string, marker bool) {
	t.Helper()
	script := `set -e
mkdir -p /v/sandbox-agent/bin/agent_processes
cp /usr/local/bin/scripted-agent /v/scripted-agent
printf '#!/bin/sh\nexec /opt/sandbox-mcp/agents/scripted-agent "$@"\n' > /v/sandbox-agent/bin/agent_processes/mock-acp
chmod 0755 /v/sandbox-agent/bin/agent_processes/mock-acp`
	if marker {
		script += "\nmkdir -p /v/.installed && : > /v/.installed/mock"
	}
	testkit.Docker(t, "run", "--rm", "--pull", "never", "--network", "none", "--mount", "type=volume,source="+volume+",target=/v",
		"--entrypoint", "sh", withAgent, "-c", script)
}

// TestDockerStockImageFullTurn: create_sandbox on an image without sandbox-agent (the provisioned one is
// mounted and run by the relay) reaches a full turn with the scripted agent, which sits in the shared
// agents volume as an install puts it there (launcher plus marker), over both relay transports.
func TestDockerStockImageFullTurn(t *testing.T) {
	stock := stockImage(t)
	withAgent := testenv.Docker(t) // only to copy the scripted agent into the volume
	for _, tc := range []struct{ name, transport, network string }{{"socket", "socket", "none"}, {"port", "port", "host"}} {
		t.Run(tc.name, func(t *testing.T) {
			prefix, volume := agentsVolume(t)
			seedScripted(t, withAgent, volume, true)
			env := map[string]string{"PATH": systemPath, "HOME": t.TempDir()}
			h := startServer(t, append(dockerArgs(t, stock, tc.transport, tc.network), "--docker-agents-volume="+prefix), env)
			conversation(t, h, t.TempDir())
		})
	}
}

// TestDockerAgentInstallReused: the first session of an agent in an agents volume with no completed install
// runs the installer container (sandbox-agent's own install-agent, which finds the scripted agent's launcher
// in place, as it would after a download, and so keeps it; sandbox-agent's built-in mock is an echo that
// cannot open a session), and a second sandbox's first session finds the install complete: no installer
// run, no install step. What it saves here is the installer container (a few hundred ms); for a real agent
// it is the download and npm install (not measured: no internet here).
func TestDockerAgentInstallReused(t *testing.T) {
	stock := stockImage(t)
	prefix, volume := agentsVolume(t)
	seedScripted(t, testenv.Docker(t), volume, false)
	env := map[string]string{"PATH": systemPath, "HOME": t.TempDir()}
	h := startServer(t, append(dockerArgs(t, stock, "socket", "none"), "--docker-agents-volume="+prefix), env)
	var took [2]time.Duration
	var setups [2][]manager.Step
	for i := range 2 {
		ws := t.TempDir()
		var sb manager.SandboxResult
		h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", sb.Name).Run() })
		t0 := time.Now()
		var sess manager.SessionResult
		h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
		took[i], setups[i] = time.Since(t0), sess.Setup
		if sess.Status == "" {
			t.Fatalf("create_session %d = %+v", i, sess)
		}
	}
	t.Logf("first session (installs mock): %s, steps %+v; second sandbox's first session: %s, steps %+v; saved %s",
		took[0].Round(time.Millisecond), setups[0], took[1].Round(time.Millisecond), setups[1], (took[0] - took[1]).Round(time.Millisecond))
	if len(setups[0]) != 1 || !strings.Contains(setups[0][0].What, "install of the mock agent") {
		t.Errorf("first session's setup = %+v; want the install", setups[0])
	}
	if len(setups[1]) != 0 {
		t.Errorf("second sandbox's first session's setup = %+v; want nothing to install", setups[1])
	}
	// The install is in the volume, once: sandbox-agent's launcher and our marker.
	out := testkit.Docker(t, "run", "--rm", "--pull", "never", "--network", "none", "--mount", "type=volume,source="+volume+",target=/v,readonly",
		"--entrypoint", "sh", stock, "-c", "ls /v/.installed; test -x /v/sandbox-agent/bin/agent_processes/mock-acp && echo launcher")
	if out != "mock\nlauncher" {
		t.Errorf("volume holds %q; want the mock marker and launcher", out)
	}
	// Read-only in the sandboxes: an agent cannot alter what later sandboxes run.
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", sb.Name).Run() })
	if err := exec.Command("docker", "exec", sb.Name, "sh", "-c", ": > /opt/sandbox-mcp/agents/.installed/evil").Run(); err == nil {
		t.Errorf("a sandbox could write into the shared agents volume")
	}
}
