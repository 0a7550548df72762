package cli

import (
	"io"
	"os"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

func TestMain(m *testing.M) {
	fakecli.Dispatch() // this test binary doubles as the sbx and docker CLIs
	os.Exit(m.Run())
}

// inProcessServer is the server Run builds (newServer, with its logger and redactor) over the sbx double of
// env and bin, with an in-process MCP client: for tests that need the server's manager at hand. The caller
// closes the manager.
func inProcessServer(t *testing.T, env map[string]string, bin string) (*testkit.Harness, *manager.Manager) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(testkit.SandboxArgs(t, "sbx", bin), getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	red := redact.FromEnv(cfg.passEnv, getenv)
	srv, mgr, err := newServer(cfg, getenv, newLogger(cfg, getenv, testkit.LogWriter(t), red), red)
	if err != nil {
		t.Fatal(err)
	}
	return testkit.InProcess(t, srv, env), mgr
}

// sandboxStatus is the status list_sandboxes gives the sandbox name, or "missing".
func sandboxStatus(h *testkit.Harness, name string) string {
	h.T.Helper()
	var list manager.SandboxList
	h.OK("list_sandboxes", map[string]any{}, &list)
	for _, s := range list.Sandboxes {
		if s.Name == name {
			return s.Status
		}
	}
	return "missing"
}
