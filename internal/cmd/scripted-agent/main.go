// Command scripted-agent is a deterministic, offline ACP agent for tests. It
// speaks newline-delimited JSON-RPC 2.0 on stdin/stdout; see package
// internal/testagent for the prompt script language.
package main

import (
	"os"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testagent"
)

func main() {
	os.Exit(testagent.Run(os.Stdin, os.Stdout, os.Stderr))
}
