package tools

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// maxMessage bounds one prompt; a longer task belongs in a file in the workspace.
const maxMessage = 100_000

// SendMessageInput is send_message's arguments.
type SendMessageInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session string `json:"session" jsonschema_description:"Session name, as create_session returned it."`
	Message string `json:"message" jsonschema_description:"What the agent should do (at most 100000 characters)."`
}

// Validate implements validator.
func (in SendMessageInput) Validate() error {
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	if err := checkName("session", in.Session, true); err != nil {
		return err
	}
	if len(in.Message) > maxMessage {
		return fmt.Errorf("message is %d characters, over the %d limit: put long instructions in a file in the workspace and refer to it: %w", len(in.Message), maxMessage, sandbox.ErrInvalid)
	}
	return nil
}

// SendMessage is the send_message tool.
func SendMessage(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "send_message",
		title: "Send message to agent",
		description: "Send the agent a message; this starts a turn and returns at once with status running (turns take minutes). " +
			"Follow the turn with get_events from the returned cursor until status is idle.",
		ann: annotations{openWorld: true},
	}, log, func(ctx context.Context, in SendMessageInput) (manager.TurnResult, error) {
		return svc.SendMessage(ctx, in.Sandbox, in.Session, in.Message)
	}, func(out manager.TurnResult) string {
		return fmt.Sprintf("Turn %s is %s in session %s. Next: get_events with sandbox=%q session=%q cursor=%d.",
			out.TurnID, out.Status, out.Session, out.Sandbox, out.Session, out.Cursor)
	})
}
