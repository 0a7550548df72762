package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestSbxNetworkPolicyBlock: on the sbx double, sandbox-agent 0.4.2 installs an agent through the VM's
// proxy (it honours HTTPS_PROXY and SSL_CERT_FILE, as it would inside sbx), and the proxy answers sbx's
// 403 "Blocked by network policy" for a host the policy does not allow. The server's automatic allow of
// the agent's install hosts is made to fail here (a policy daemon that does not answer), so the install
// meets the block: create_session fails with one line naming the host and the `sbx policy allow network`
// command. Once the operator has run that command, the install gets past the policy (the double then
// answers 502: it does not reach the internet) and the error is sandbox-agent's own, not a policy one.
func TestSbxNetworkPolicyBlock(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	env["FAKECLI_FAIL"] = "policy allow:ERROR: the sandbox daemon is not answering"
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES,FAKECLI_AUTOSTOP,FAKECLI_FAIL"), env)
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
	t.Cleanup(func() { h.Call("destroy_sandbox", map[string]any{"name": sb.Name}) })

	// amp's first download is the ACP registry on cdn.agentclientprotocol.com (measured on 0.4.2).
	const host = "cdn.agentclientprotocol.com"
	msg := h.Fails("create_session", map[string]any{"sandbox": sb.Name, "agent": "amp"})
	allow := "sbx policy allow network " + sb.Name + " " + host
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "blocked by the sandbox's network policy") || !strings.Contains(msg, allow) {
		t.Fatalf("create_session through a blocking policy = %q, want one line naming %s and `%s`", msg, host, allow)
	}

	// The operator runs the command it names (the server's own allow still fails).
	cmd := exec.Command(filepath.Join(bin, "sbx"), "policy", "allow", "network", sb.Name, host)
	for k, v := range env {
		if k != "FAKECLI_FAIL" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", allow, err, out)
	}
	msg = h.Fails("create_session", map[string]any{"sandbox": sb.Name, "agent": "amp"})
	if strings.Contains(msg, "network policy") || !strings.Contains(msg, "could not install the amp agent") || !strings.Contains(msg, host) {
		t.Fatalf("create_session after allowing %s = %q, want sandbox-agent's install failure, not a policy block", host, msg)
	}
}

// TestSbxHeldAgentExitsEarly: sbx keeps sandbox-agent in a held foreground exec. When that exec ends
// before sandbox-agent answers its health check (here a template whose sandbox-agent fails after 1 s,
// past the exec's settle time), create_sandbox fails as soon as the exec has ended, in one line that
// carries the exec's stderr, instead of polling health until the startup timeout.
func TestSbxHeldAgentExitsEarly(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	dir := filepath.Join(env["FAKECLI_TEMPLATES"], "sandbox-mcp_dies_latest", "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncase \"$1\" in --version) echo 'sandbox-agent 0.4.2'; exit 0;; esac\n" +
		"echo 'sandbox-agent: cannot open the data directory: read-only file system' >&2\nsleep 1\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "sandbox-agent"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := startServer(t, append(testkit.SandboxArgs(t, "sbx", bin), "--template=sandbox-mcp/dies:latest"), env)
	start := time.Now()
	msg := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir()})
	took := time.Since(start)
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "exited before it became healthy") ||
		!strings.Contains(msg, "cannot open the data directory: read-only file system") {
		t.Fatalf("create_sandbox with a sandbox-agent that exits = %q (after %s), want one line with its stderr", msg, took)
	}
	t.Logf("failed after %s", took) // the exit is seen while polling, not after the 20 s startup timeout
}
