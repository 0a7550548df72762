package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// logWriter sends what is written (the server's logs) to the test log.
type logWriter struct{ t *testing.T }

// LogWriter is an io.Writer into t's log, one entry per write.
func LogWriter(t *testing.T) logWriter { return logWriter{t} }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// FakeEnv prepares the sandbox CLI test double: a bin dir with the fake sbx and docker, its state root,
// and a template with the real sandbox-agent and the scripted agent. It returns the environment for the
// server and the path of the fake binaries. The test binary must call fakecli.Dispatch in its TestMain.
func FakeEnv(t *testing.T) (env map[string]string, bin string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	templates := filepath.Join(dir, "templates")
	testenv.SandboxTemplate(t, templates, "sandbox-mcp/test:latest", true)
	testenv.SandboxTemplate(t, templates, "sandbox-mcp/no-agent:latest", false)
	env = map[string]string{
		"PATH":              bin + ":" + os.Getenv("PATH"),
		"HOME":              filepath.Join(dir, "home"),
		"FAKECLI_ROOT":      filepath.Join(dir, "fakecli"),
		"FAKECLI_TEMPLATES": templates,
		// sbx stops a sandbox ~30 s after its last exec session (docs/upstream/sbx-cli.json "exec"): scaled
		// down, so every test runs with sandboxes that stop whenever nothing holds them.
		"FAKECLI_AUTOSTOP": "500ms",
	}
	return env, bin
}

// SandboxArgs are the server flags for a backend of the test double.
func SandboxArgs(t *testing.T, backend, bin string) []string {
	cli := "--sbx-bin=" + filepath.Join(bin, "sbx")
	if backend == "docker-sandbox" {
		cli = "--docker-bin=" + filepath.Join(bin, "docker")
	}
	// sandbox-agent provisioning (sandbox/sbx_provision.go) never reaches the internet: a seeded cache, a dead registry.
	return append([]string{"--backend=" + backend, cli, "--state-dir=" + t.TempDir(),
		"--template=sandbox-mcp/test:latest", "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES,FAKECLI_AUTOSTOP,FAKECLI_SBX_VERSION,FAKECLI_PLUGIN_VERSION",
		// The double runs every sandbox on this machine's loopback, so each test gets its own port.
		"--agent-port=" + strconv.Itoa(testenv.FreePort(t)), "--log-level=debug"}, testenv.ProvisionArgs(t)...)
}

// RunFake runs the test double's sbx directly, as a user would behind the server's back.
func RunFake(bin string, env map[string]string, args ...string) error {
	cmd := exec.Command(filepath.Join(bin, "sbx"), args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sbx %v: %v: %s", args, err, out)
	}
	return nil
}

// Docker runs the docker CLI and returns its trimmed output; a failure fails the test, except for rm.
func Docker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil && args[0] != "rm" {
		t.Fatalf("docker %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// CheckToolSchemas: every tool is described, with an input schema whose every property is described and
// an output schema; the core tools are all there.
func CheckToolSchemas(t *testing.T, tools []mcp.Tool) {
	t.Helper()
	var names []string
	for _, tool := range tools {
		names = append(names, tool.Name)
		if strings.TrimSpace(tool.Description) == "" {
			t.Errorf("%s: no description", tool.Name)
		}
		in := tool.InputSchema
		if in.Type != "object" { // a tool may take no arguments (list_sandboxes)
			t.Errorf("%s: input schema type %q, want object", tool.Name, in.Type)
		}
		for prop, s := range in.Properties {
			m, _ := s.(map[string]any)
			if d, _ := m["description"].(string); strings.TrimSpace(d) == "" {
				t.Errorf("%s: input property %q has no description: %v", tool.Name, prop, s)
			}
		}
		for _, req := range in.Required {
			if _, ok := in.Properties[req]; !ok {
				t.Errorf("%s: required property %q is not in the schema", tool.Name, req)
			}
		}
		out := tool.OutputSchema
		if out.Type != "object" || len(out.Properties) == 0 {
			t.Errorf("%s: output schema type %q with %d properties, want an object with properties", tool.Name, out.Type, len(out.Properties))
		}
	}
	for _, want := range []string{"create_sandbox", "create_session", "send_message", "get_events", "destroy_sandbox"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list has no %s (it has %v)", want, names)
		}
	}
}
