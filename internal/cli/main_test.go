package cli

import (
	"os"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
)

func TestMain(m *testing.M) {
	fakecli.Dispatch() // this test binary doubles as the sbx and docker CLIs
	os.Exit(m.Run())
}
