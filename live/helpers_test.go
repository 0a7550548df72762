package live

import (
	"context"
	"log/slog"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// testConfig is a Config as the manager fills it, with nothing redacted and no sandbox behind it.
func testConfig(store *state.Store) *Config {
	return &Config{Store: store, Logger: slog.New(slog.DiscardHandler), Redact: func(b []byte) []byte { return b },
		MaxEnvelope: acp.DefaultMaxEvent, MaxLogBytes: DefaultMaxLogBytes,
		Workspace:   func(string) string { return "" },
		SandboxGone: func(context.Context, string) bool { return false },
		Spawn:       func(fn func(context.Context)) bool { go fn(context.Background()); return true }}
}
