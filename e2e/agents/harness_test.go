// Package agents runs the real coding agents users run (Claude Code, Codex, OpenCode, installed from npm into
// the sandbox-mcp-test:agents image by scripts/build-test-image) in Docker sandboxes through the built
// sandbox-mcp binary, against scripted model APIs on the host's loopback (internal/modelapi). The containers
// use --network host, so the agent reaches 127.0.0.1 and nothing else is involved.
package agents

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// agentsImage returns the real-agents image: SANDBOX_MCP_TEST_IMAGE_AGENTS, else sandbox-mcp-test:agents.
func agentsImage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		testenv.Missing(t, "a Docker Engine", "install docker.io and start dockerd (scripts/docker-up)")
	}
	image := os.Getenv("SANDBOX_MCP_TEST_IMAGE_AGENTS")
	if image == "" {
		image = "sandbox-mcp-test:agents"
	}
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", image).Run(); err != nil {
		testenv.Missing(t, "the real-agents test image "+image, "run scripts/build-test-image")
	}
	return image
}

// harness is testkit's over the server binary, with the scenarios' own helpers as methods.
type harness struct{ *testkit.Harness }

// start runs sandbox-mcp with the Docker backend on image, --network host, the given extra flags, and an
// environment made of env only. Host networking is how the agent reaches the scripted model API on the
// host's loopback (the network rule allows no other address); it needs the explicit opt-in, since it also
// puts sandbox-agent on that loopback (acceptable on a test machine with no other users).
func start(t *testing.T, image string, env map[string]string, extra ...string) *harness {
	t.Helper()
	bin := testenv.ServerBinary(t)
	stateDir := t.TempDir()
	args := append([]string{"--backend=docker", "--docker-image=" + image, "--docker-network=host",
		"--docker-insecure-host-network", "--docker-cpus=1", "--docker-memory=2g", "--state-dir=" + stateDir, "--log-level=debug",
		// On the host network every sandbox-agent shares the host's loopback: each server gets a port of its own,
		// or a container left by another test (or run) on the default 2468 answers in its place.
		"--agent-port=" + strconv.Itoa(testenv.FreePort(t))}, append(testenv.ProvisionArgs(t), extra...)...)
	full := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
	for k, v := range env {
		full[k] = v
	}
	var envList []string
	for k, v := range full {
		envList = append(envList, k+"="+v)
	}
	tr := transport.NewStdioWithOptions(bin, nil, args,
		// Not CommandContext(ctx): ctx is Start's, which ends when Start returns; Close stops the process.
		transport.WithCommandFunc(func(_ context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = envList
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(testkit.LogWriter(t)))
	c := client.NewClient(tr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e-agents", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	h := &harness{testkit.New(t, c, full)}
	h.State = stateDir
	h.CallTimeout = 120 * time.Second // a real agent's turn start is slow on a loaded machine
	return h
}

// sandbox creates a sandbox on ws and destroys it when the test ends (before the server stops).
func (h *harness) sandbox(ws string) string {
	h.T.Helper()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws}, &sb)
	h.T.Cleanup(func() {
		if res := h.Call("destroy_sandbox", map[string]any{"name": sb.Name}); res.IsError {
			h.T.Errorf("destroy_sandbox %s: %s", sb.Name, testkit.Text(res))
		}
	})
	return sb.Name
}
