package tools

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// DestroySandboxInput is destroy_sandbox's arguments.
type DestroySandboxInput struct {
	Name string `json:"name" jsonschema_description:"Sandbox name, as create_sandbox returned it."`
}

// Validate implements validator.
func (in DestroySandboxInput) Validate() error { return checkName("sandbox", in.Name, true) }

// DestroySandbox is the destroy_sandbox tool.
func DestroySandbox(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "destroy_sandbox",
		title: "Destroy sandbox",
		description: "Stop the sandbox's agent sessions, then stop and remove the sandbox. Files in the workspace stay. " +
			"Destroying a sandbox that is already gone succeeds and says so.",
		ann: annotations{destructive: true, idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, in DestroySandboxInput, progress func(string)) (manager.DestroyResult, error) {
		return svc.DestroySandbox(ctx, in.Name)
	}, func(out manager.DestroyResult) string {
		if out.AlreadyGone {
			return fmt.Sprintf("Sandbox %s was already gone; %d session(s) closed.", out.Name, out.SessionsClosed)
		}
		return fmt.Sprintf("Destroyed sandbox %s; %d session(s) closed.", out.Name, out.SessionsClosed)
	})
}
