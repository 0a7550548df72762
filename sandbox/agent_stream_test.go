package sandbox

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// TestInstallAgentByExec streams the real sandbox-agent into a container of the stock test image (no
// sandbox-agent in it) through the Docker backend's Exec, as the sbx backends would through theirs, and
// runs it there.
func TestInstallAgentByExec(t *testing.T) {
	testenv.Docker(t)
	img := os.Getenv("SANDBOX_MCP_TEST_IMAGE_NO_AGENT")
	if img == "" {
		img = "sandbox-mcp-test:no-agent"
	}
	if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
		testenv.Missing(t, "the test image "+img, "run scripts/build-test-image")
	}
	bin := testenv.SandboxAgent(t)
	o := DefaultDockerOptions()
	o.Image, o.Network, o.CPUs, o.User = img, "none", "1", "" // the image's user: root, HOME /home/agent
	d := NewDocker(&Exec{Timeout: time.Minute}, o)
	name := "provision-stream-test"
	_ = exec.Command("docker", "rm", "-f", name).Run()
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	if _, err := d.Create(t.Context(), Spec{Name: name, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(t.Context(), name, ExecSpec{Args: []string{"sandbox-agent", "--version"}}); err == nil {
		t.Fatal("the image already has sandbox-agent: the test proves nothing")
	}
	p, err := InstallAgentByExec(t.Context(), d, name, bin)
	if err != nil {
		t.Fatal(err)
	}
	if p != "/home/agent/.local/bin/sandbox-agent" {
		t.Errorf("path = %q", p)
	}
	res, err := d.Exec(t.Context(), name, ExecSpec{Args: []string{p, "--version"}})
	if err != nil || !strings.Contains(string(res.Stdout), "sandbox-agent 0.4.2") {
		t.Errorf("%s --version = %q, %v", p, res.Stdout, err)
	}
}
