package e2e

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/cli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

func TestMain(m *testing.M) {
	fakecli.Dispatch() // this test binary doubles as the sbx and docker CLIs
	os.Exit(m.Run())
}

// harness is testkit's, with the scenarios' own helpers as methods (sessions_test.go, isolation_e2e_test.go).
type harness struct{ *testkit.Harness }

// startServer runs the real server (cli.Run) in-process over pipes with args and an environment made of
// env only, with a real MCP client on the other end (testkit.Start).
func startServer(t *testing.T, args []string, env map[string]string) *harness {
	t.Helper()
	return &harness{testkit.Start(t, cli.Run, args, env)}
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
