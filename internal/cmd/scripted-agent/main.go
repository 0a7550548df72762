// Command scripted-agent is a deterministic, offline ACP agent for tests. It
// speaks newline-delimited JSON-RPC 2.0 on stdin/stdout; see package
// internal/testagent for the prompt script language.
package main

import (
	"os"
	"path/filepath"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testagent"
)

func main() {
	// Session histories live outside the workspace, so they survive the agent process (session/load after a
	// sandbox-agent restart) without showing up in the workspace's diff.
	testagent.StateDir = os.Getenv("SCRIPTED_AGENT_STATE")
	if home := os.Getenv("HOME"); testagent.StateDir == "" && home != "" {
		testagent.StateDir = filepath.Join(home, ".scripted-agent")
	}
	os.Exit(testagent.Run(os.Stdin, os.Stdout, os.Stderr))
}
