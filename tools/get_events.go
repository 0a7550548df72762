package tools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// GetEventsInput is get_events' arguments.
type GetEventsInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session string `json:"session" jsonschema_description:"Session name."`
	Cursor  int64  `json:"cursor,omitempty" jsonschema_description:"Return events after this position: 0 for the start, else next_cursor from the previous call or cursor from send_message."`
	Limit   int    `json:"limit,omitempty" jsonschema_description:"Maximum events to return (default 100, at most 500)."`
	Raw     bool   `json:"raw,omitempty" jsonschema_description:"Also return the ACP envelopes behind each event (bigger output)."`
	Wait    int    `json:"wait_seconds,omitempty" jsonschema:"minimum=0,maximum=45" jsonschema_description:"While the agent is running and nothing new is there, wait up to this many seconds (at most 45) for events; returns as soon as some arrive or the turn ends. Progress is reported while waiting."`
}

// Validate implements validator.
func (in GetEventsInput) Validate() error {
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	if err := checkName("session", in.Session, true); err != nil {
		return err
	}
	if in.Cursor < 0 || in.Limit < 0 || in.Limit > live.MaxLimit {
		return sandbox.Errorf(sandbox.Invalid, "cursor must be ≥ 0 and limit between 0 and %d", live.MaxLimit)
	}
	if in.Wait < 0 || in.Wait > int(MaxWait.Seconds()) {
		return sandbox.Errorf(sandbox.Invalid, "wait_seconds must be between 0 and %d", int(MaxWait.Seconds()))
	}
	return nil
}

// GetEvents is the get_events tool.
func GetEvents(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "get_events",
		title: "Get agent events",
		description: "Read what the agent did after a cursor: messages (text merged), thoughts, tool calls, plans, permission requests, turn ends, errors. " +
			"Returns the session status (idle, running, waiting_permission, ended, failed) and next_cursor; call again with next_cursor while status is running or more is true. " +
			"Pass wait_seconds (e.g. 30) to wait for new events instead of polling. " +
			"Answer waiting_permission with respond_permission.",
		ann: annotations{readOnly: true, idempotent: true, openWorld: false},
	}, log, func(ctx context.Context, in GetEventsInput, progress func(string)) (live.Page, error) {
		return svc.GetEvents(ctx, manager.EventsRequest{Sandbox: in.Sandbox, Session: in.Session, Cursor: in.Cursor, Limit: in.Limit,
			Raw: in.Raw, Wait: time.Duration(in.Wait) * time.Second, Progress: progress})
	}, renderEvents)
}

// renderEvents is the short text form of a page: a line per event (then the agent's text, each line
// marked), then the status line. Agent-controlled fields are quoted (quote.go), so nothing the agent
// writes reads as an event, a status line or an answer of ours.
func renderEvents(p live.Page) string {
	var b strings.Builder
	for _, ev := range p.Events {
		b.WriteString(renderEvent(ev))
		b.WriteByte('\n')
		if textKind(ev.Kind) {
			b.WriteString(block(ev.Text))
		}
		if ev.ToolCall != nil {
			for _, d := range ev.ToolCall.Diffs {
				b.WriteString(block(d.Diff)) // the changed lines are the agent's: marked
			}
		}
	}
	fmt.Fprintf(&b, "status=%s next_cursor=%d more=%t", p.Status, p.NextCursor, p.More)
	if p.Truncated {
		b.WriteString(" truncated=true")
	}
	for _, pp := range p.Pending {
		fmt.Fprintf(&b, "\nwaiting for permission %s: %s", word(pp.Permission.RequestID), optionList(pp.Permission.Options))
	}
	if p.PendingMore > 0 {
		fmt.Fprintf(&b, "\nand %d more permission requests waiting: answer these, then read again", p.PendingMore)
	}
	if p.LastError != "" {
		fmt.Fprintf(&b, "\nlast error: %s", quote(p.LastError))
	}
	return b.String()
}

// textKind reports whether an event's text is the agent's (or the user's) prose, shown as a block.
func textKind(kind string) bool {
	return kind == events.KindUserMessage || kind == events.KindAgentMessage || kind == events.KindThought
}

// renderEvent is an event's one line. The text of a message is not in it: renderEvents and the
// transcript show it as a marked block or a fenced one.
func renderEvent(ev events.Event) string {
	switch ev.Kind {
	case events.KindUserMessage, events.KindAgentMessage, events.KindThought:
		if ev.Text == "" {
			return fmt.Sprintf("[%d] %s (empty)", ev.Seq, ev.Kind)
		}
		return fmt.Sprintf("[%d] %s:", ev.Seq, ev.Kind)
	case events.KindToolCall, events.KindToolCallUpdate:
		return fmt.Sprintf("[%d] %s %s %s %s%s", ev.Seq, ev.Kind, word(ev.ToolCall.ID), quote(ev.ToolCall.Title), word(ev.ToolCall.Status), toolExtras(ev.ToolCall))
	case events.KindPermissionRequest:
		return fmt.Sprintf("[%d] permission_request %s for %s: %s%s", ev.Seq, word(ev.Permission.RequestID), quote(ev.ToolCall.Title), optionList(ev.Permission.Options), toolExtras(ev.ToolCall))
	case events.KindCommands:
		var names []string
		for _, c := range ev.Commands {
			names = append(names, "/"+word(c.Name))
		}
		return fmt.Sprintf("[%d] available_commands: %s", ev.Seq, strings.Join(names, " "))
	case events.KindConfigChange:
		var vals []string
		for _, c := range ev.Config {
			vals = append(vals, word(c.ID)+"="+word(c.Value))
		}
		return fmt.Sprintf("[%d] config_change: %s", ev.Seq, strings.Join(vals, " "))
	case events.KindSessionInfo:
		return fmt.Sprintf("[%d] session_info: title %s", ev.Seq, quote(ev.Text))
	case events.KindPermissionResponse:
		return fmt.Sprintf("[%d] permission_response %s: %s", ev.Seq, word(ev.Permission.RequestID), word(ev.Permission.Outcome))
	case events.KindTurnEnd:
		if ev.Error != "" {
			return fmt.Sprintf("[%d] turn_end %s failed: %s", ev.Seq, word(ev.Turn), quote(ev.Error))
		}
		return fmt.Sprintf("[%d] turn_end %s: %s%s", ev.Seq, word(ev.Turn), word(ev.StopReason), turnExtras(ev))
	case events.KindUsage:
		return fmt.Sprintf("[%d] usage: %s", ev.Seq, usageText(*ev.Usage))
	case events.KindCancel:
		if ev.Budget != nil {
			return fmt.Sprintf("[%d] cancel_requested: %s", ev.Seq, budgetText(ev.Budget))
		}
	case events.KindPlan:
		var steps []string
		for _, e := range ev.Plan {
			steps = append(steps, quote(e.Content)+" ("+word(e.Status)+")")
		}
		return fmt.Sprintf("[%d] plan: %s", ev.Seq, strings.Join(steps, "; "))
	case events.KindError, events.KindAgentExit:
		return fmt.Sprintf("[%d] %s: %s", ev.Seq, ev.Kind, quote(ev.Error))
	case events.KindModeChange:
		return fmt.Sprintf("[%d] %s %s", ev.Seq, ev.Kind, word(ev.Text))
	}
	return fmt.Sprintf("[%d] %s %s", ev.Seq, ev.Kind, quote(ev.Text))
}

// toolExtras renders a tool call's diffs (path and line counts), locations and terminals for its line;
// the changed lines themselves follow as a marked block (renderEvents) or a fence (the transcript).
func toolExtras(tc *events.ToolCall) string {
	if tc == nil {
		return ""
	}
	var s []string
	for _, d := range tc.Diffs {
		x := fmt.Sprintf("diff %s +%d -%d", word(d.Path), d.Added, d.Removed)
		if d.NewFile {
			x += " (new file)"
		}
		s = append(s, x)
	}
	for _, l := range tc.Locations {
		if l.Line > 0 {
			s = append(s, fmt.Sprintf("at %s line %d", word(l.Path), l.Line))
		} else {
			s = append(s, "at "+word(l.Path))
		}
	}
	for _, id := range tc.Terminals {
		s = append(s, "terminal "+word(id))
	}
	if len(s) == 0 {
		return ""
	}
	return "; " + strings.Join(s, "; ")
}

func optionList(opts []events.Option) string {
	var s []string
	for _, o := range opts {
		s = append(s, word(o.ID)+" ("+word(o.Kind)+")")
	}
	return strings.Join(s, ", ")
}

// turnExtras renders a turn_end's usage and budget, if any.
func turnExtras(ev events.Event) string {
	var s string
	if ev.Budget != nil {
		s += " (" + budgetText(ev.Budget) + ")"
	}
	if ev.Usage != nil {
		s += "; turn usage: " + usageText(*ev.Usage)
	}
	return s
}

func budgetText(b *events.BudgetHit) string {
	return fmt.Sprintf("over budget: %s %g > max %g", b.Limit, b.Used, b.Max)
}
