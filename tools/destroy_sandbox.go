package tools

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// DestroySandboxInput is destroy_sandbox's arguments.
type DestroySandboxInput struct {
	Name string `json:"name" jsonschema_description:"Sandbox name, as create_sandbox returned it."`
	// Isolation (docs/isolation.md): a sandbox on a clone with unlanded work is refused unless one is set.
	LandTo  string `json:"land_to,omitempty" jsonschema_description:"For a sandbox on its own clone: first land its work (commits and uncommitted changes) as this branch of your repository."`
	Discard bool   `json:"discard,omitempty" jsonschema_description:"For a sandbox on its own clone: throw away work that was not landed. Without land_to or discard, unlanded work makes destroy refuse."`
}

// Validate implements validator.
func (in DestroySandboxInput) Validate() error {
	if in.LandTo != "" && in.Discard {
		return sandbox.Errorf(sandbox.Invalid, "pass land_to or discard, not both")
	}
	return checkName("sandbox", in.Name, true)
}

// DestroySandbox is the destroy_sandbox tool.
func DestroySandbox(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "destroy_sandbox",
		title: "Destroy sandbox",
		description: "Stop the sandbox's agent sessions, then stop and remove the sandbox. Files in the workspace stay. " +
			"A sandbox on its own clone with work not yet landed is refused unless land_to or discard is given. " +
			"Destroying a sandbox that is already gone succeeds and says so.",
		ann: annotations{destructive: true, idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, in DestroySandboxInput, progress func(string)) (manager.DestroyResult, error) {
		return svc.DestroySandbox(ctx, in.Name, manager.KeepWork{LandTo: in.LandTo, Discard: in.Discard})
	}, func(out manager.DestroyResult) string {
		if out.Landed != nil {
			return fmt.Sprintf("Landed the work as branch %s (%.12s), then destroyed sandbox %s; %d session(s) closed.", out.Landed.Branch, out.Landed.Commit, out.Name, out.SessionsClosed)
		}
		if out.AlreadyGone {
			return fmt.Sprintf("Sandbox %s was already gone; %d session(s) closed.", out.Name, out.SessionsClosed)
		}
		return fmt.Sprintf("Destroyed sandbox %s; %d session(s) closed.", out.Name, out.SessionsClosed)
	})
}
