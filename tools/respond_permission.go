package tools

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// RespondPermissionInput is respond_permission's arguments.
type RespondPermissionInput struct {
	Sandbox   string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session   string `json:"session" jsonschema_description:"Session name."`
	RequestID string `json:"request_id" jsonschema_description:"The permission request's request_id, from get_events."`
	Option    string `json:"option" jsonschema_description:"One of the request's option ids (allow once/always, reject once/always as the agent offers them), or cancelled."`
}

// Validate implements validator.
func (in RespondPermissionInput) Validate() error {
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	if err := checkName("session", in.Session, true); err != nil {
		return err
	}
	if in.RequestID == "" || len(in.RequestID) > 200 || in.Option == "" || len(in.Option) > 200 {
		return sandbox.Errorf(sandbox.Invalid, "request_id and option are required (at most 200 characters each)")
	}
	return nil
}

// RespondPermission is the respond_permission tool.
func RespondPermission(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:        "respond_permission",
		title:       "Answer agent permission request",
		description: "Answer a permission request the agent is waiting on (session status waiting_permission) with one of its option ids, or cancelled.",
		ann:         annotations{openWorld: true},
	}, log, func(ctx context.Context, in RespondPermissionInput, progress func(string)) (manager.PermissionResult, error) {
		return svc.RespondPermission(ctx, in.Sandbox, in.Session, in.RequestID, in.Option)
	}, func(out manager.PermissionResult) string {
		return fmt.Sprintf("Answered %s with %s; session is %s. Next: get_events.", out.RequestID, out.Outcome, out.Status)
	})
}
