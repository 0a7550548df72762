package tools

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// CancelTurnInput is cancel_turn's arguments.
type CancelTurnInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session string `json:"session" jsonschema_description:"Session name."`
}

// Validate implements validator.
func (in CancelTurnInput) Validate() error {
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	return checkName("session", in.Session, true)
}

// CancelTurn is the cancel_turn tool.
func CancelTurn(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:        "cancel_turn",
		title:       "Cancel agent turn",
		description: "Ask the agent to stop its running turn. The turn ends with stop reason cancelled; get_events shows it.",
		ann:         annotations{destructive: true, idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, in CancelTurnInput, progress func(string)) (manager.CancelResult, error) {
		return svc.CancelTurn(ctx, in.Sandbox, in.Session)
	}, func(out manager.CancelResult) string {
		return fmt.Sprintf("Asked turn %s to stop; session is %s. Next: get_events until status is idle.", out.TurnID, out.Status)
	})
}
