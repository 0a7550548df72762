package tools

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// ListSandboxesInput is list_sandboxes' arguments: none.
type ListSandboxesInput struct{}

// Validate implements validator.
func (ListSandboxesInput) Validate() error { return nil }

// ListSandboxes is the list_sandboxes tool.
func ListSandboxes(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:        "list_sandboxes",
		title:       "List sandboxes",
		description: "List sandboxes: the ones sandbox-mcp created (with their sessions and status, including ones removed behind its back) and others the backend reports.",
		ann:         annotations{readOnly: true, idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, _ ListSandboxesInput, _ func(string)) (manager.SandboxList, error) {
		return svc.ListSandboxes(ctx)
	}, func(out manager.SandboxList) string {
		if len(out.Sandboxes) == 0 {
			return "No sandboxes. Create one with create_sandbox." + warnings(out.Warnings)
		}
		var b strings.Builder
		for _, s := range out.Sandboxes {
			owner := "ours"
			if !s.Ours {
				owner = "not ours"
			}
			fmt.Fprintf(&b, "%s (%s, %s, %s) %s: %d session(s)\n", s.Name, s.Backend, s.Status, owner, s.Workspace, len(s.Sessions))
			for _, se := range s.Sessions {
				fmt.Fprintf(&b, "  %s (%s) %s\n", se.Name, se.Agent, se.Status)
			}
		}
		return strings.TrimSpace(b.String()) + warnings(out.Warnings)
	})
}

func warnings(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return "\nwarnings: " + strings.Join(w, "; ")
}

// ListSessionsInput is list_sessions' arguments.
type ListSessionsInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name."`
}

// Validate implements validator.
func (in ListSessionsInput) Validate() error { return checkName("sandbox", in.Sandbox, true) }

// ListSessions is the list_sessions tool.
func ListSessions(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:        "list_sessions",
		title:       "List agent sessions",
		description: "List a sandbox's agent sessions with their status (idle, running, waiting_permission, ended, failed).",
		ann:         annotations{readOnly: true, idempotent: true},
	}, log, func(ctx context.Context, in ListSessionsInput, _ func(string)) (manager.SessionList, error) {
		return svc.ListSessions(ctx, in.Sandbox)
	}, func(out manager.SessionList) string {
		if len(out.Sessions) == 0 {
			return fmt.Sprintf("Sandbox %s has no sessions. Open one with create_session.", out.Sandbox)
		}
		var b strings.Builder
		for _, s := range out.Sessions {
			fmt.Fprintf(&b, "%s (%s) %s, %d turn(s)", s.Name, s.Agent, s.Status, s.Turns)
			if s.Pending > 0 {
				fmt.Fprintf(&b, ", %d permission request(s) waiting", s.Pending)
			}
			if s.Usage != nil {
				b.WriteString(", " + usageText(*s.Usage))
			}
			if s.CanContinue {
				fmt.Fprintf(&b, ", can continue (%s)", s.ContinueWith)
			}
			b.WriteByte('\n')
		}
		return strings.TrimSpace(b.String())
	})
}

// usageText renders reported usage briefly: tokens, context and cost, whichever were reported.
func usageText(u events.Usage) string {
	var parts []string
	if u.TotalTokens > 0 || u.InputTokens > 0 || u.OutputTokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens (%d in, %d out, %d cache read)", u.TurnTokens(), u.InputTokens, u.OutputTokens, u.CachedReadTokens))
	}
	if u.ContextSize > 0 {
		parts = append(parts, fmt.Sprintf("context %d/%d", u.ContextUsed, u.ContextSize))
	}
	if u.Cost > 0 || u.Currency != "" {
		parts = append(parts, fmt.Sprintf("cost %.4f %s", u.Cost, u.Currency))
	}
	if len(parts) == 0 {
		return "no usage reported"
	}
	return strings.Join(parts, ", ")
}
