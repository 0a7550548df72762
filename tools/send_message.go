package tools

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// maxMessage bounds one prompt; a longer task belongs in a file in the workspace.
const maxMessage = 100_000

// MaxWait bounds how long one call may wait (send_message's and get_events' wait_seconds): hosts drop tool
// calls after about 60 s (docs/upstream/mcp-hosts.md). It is the hosts' limit, so it is checked here; the
// manager waits as long as it is asked.
const MaxWait = 45 * time.Second

// SendMessageInput is send_message's arguments.
type SendMessageInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session string `json:"session" jsonschema_description:"Session name, as create_session returned it."`
	Message string `json:"message" jsonschema_description:"What the agent should do (at most 100000 characters)."`
	Wait    int    `json:"wait_seconds,omitempty" jsonschema:"minimum=0,maximum=45" jsonschema_description:"Wait up to this many seconds (at most 45) for the turn to end and return its final text; 0 returns at once. Progress is reported while waiting."`
}

// Validate implements validator.
func (in SendMessageInput) Validate() error {
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	if err := checkName("session", in.Session, true); err != nil {
		return err
	}
	if in.Wait < 0 || in.Wait > int(MaxWait.Seconds()) {
		return sandbox.Errorf(sandbox.Invalid, "wait_seconds must be between 0 and %d", int(MaxWait.Seconds()))
	}
	if len(in.Message) > maxMessage {
		return sandbox.Errorf(sandbox.Invalid, "message is %d characters, over the %d limit: put long instructions in a file in the workspace and refer to it", len(in.Message), maxMessage)
	}
	return nil
}

// SendMessage is the send_message tool.
func SendMessage(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "send_message",
		title: "Send message to agent",
		description: "Send the agent a message; this starts a turn. By default it returns at once with status running (turns take minutes): " +
			"follow the turn with get_events from the returned cursor until status is idle. With wait_seconds it waits for the turn to end and returns the agent's final text.",
		ann: annotations{openWorld: true},
	}, log, func(ctx context.Context, in SendMessageInput, progress func(string)) (manager.TurnResult, error) {
		out, err := svc.SendMessage(ctx, manager.SendRequest{Sandbox: in.Sandbox, Session: in.Session, Message: in.Message,
			Wait: time.Duration(in.Wait) * time.Second, Progress: progress})
		if out.FinalCut > 0 {
			out.FinalText = fmt.Sprintf("[… %d earlier bytes; read them with get_events] ", out.FinalCut) + out.FinalText
		}
		return out, err
	}, func(out manager.TurnResult) string {
		if out.Done {
			msg := fmt.Sprintf("Turn %s ended (%s%s); session %s is %s.", out.TurnID, out.StopReason, out.Error, out.Session, out.Status)
			if out.FinalText != "" {
				msg += "\nAgent: " + out.FinalText
			}
			return msg
		}
		return fmt.Sprintf("Turn %s is %s in session %s. Next: get_events with sandbox=%q session=%q cursor=%d wait_seconds=30.",
			out.TurnID, out.Status, out.Session, out.Sandbox, out.Session, out.Cursor)
	})
}
