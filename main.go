// Command sandbox-mcp is an MCP server that hands isolated coding work to coding agents (Claude Code,
// Codex, OpenCode, Amp, …) running inside sandboxes, through Rivet's sandbox-agent. An MCP host starts it
// over stdio (or reaches it over Streamable HTTP with --http). Subcommands: `doctor` checks the set-up,
// `prune` removes our old sandboxes. The command lives in internal/cli; this file stays at the root so
// that `go install github.com/sandbox-mcp/sandbox-mcp@latest` builds it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sandbox-mcp/sandbox-mcp/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…"; empty keeps cli's default.
var version string

func main() {
	if version != "" {
		cli.Version = version
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sandbox-mcp:", err)
		os.Exit(1)
	}
}
