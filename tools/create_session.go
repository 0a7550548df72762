package tools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// CreateSessionInput is create_session's arguments.
type CreateSessionInput struct {
	Sandbox string `json:"sandbox" jsonschema_description:"Sandbox name, as create_sandbox returned it."`
	Agent   string `json:"agent" jsonschema:"enum=claude,enum=codex,enum=opencode,enum=amp,enum=pi,enum=cursor,enum=mock" jsonschema_description:"The coding agent to run."`
	Name    string `json:"name,omitempty" jsonschema_description:"Session name: 2-31 lowercase letters, digits or '-'. Default: <agent>-<n>."`
	Cwd     string `json:"cwd,omitempty" jsonschema_description:"Absolute working directory inside the sandbox. Default: the workspace."`
	Model   string `json:"model,omitempty" jsonschema_description:"Model id, one the agent offers (see models in the result)."`
	Mode    string `json:"mode,omitempty" jsonschema_description:"Mode id, one the agent offers (for example plan or acceptEdits for claude)."`
}

// Validate implements validator.
func (in CreateSessionInput) Validate() error {
	if !slices.Contains(manager.Agents, in.Agent) {
		return fmt.Errorf("unknown agent %q: use one of %s: %w", in.Agent, strings.Join(manager.Agents, ", "), sandbox.ErrInvalid)
	}
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	return checkName("session", in.Name, false)
}

// CreateSession is the create_session tool.
func CreateSession(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "create_session",
		title: "Create agent session",
		description: "Start a coding agent (claude, codex, opencode, amp, pi, cursor, or mock for tests) in a sandbox and open a session with it. " +
			"Returns the session name and what the agent offers (modes, models). Next: send_message.",
		ann: annotations{openWorld: true},
	}, log, func(ctx context.Context, in CreateSessionInput, progress func(string)) (manager.SessionResult, error) {
		return svc.CreateSession(ctx, manager.CreateSessionRequest{Sandbox: in.Sandbox, Agent: in.Agent, Name: in.Name,
			Cwd: in.Cwd, Model: in.Model, Mode: in.Mode})
	}, func(out manager.SessionResult) string {
		return fmt.Sprintf("Session %s (%s) is %s in sandbox %s, working in %s. Next: send_message with sandbox=%q session=%q.",
			out.Name, out.Agent, out.Status, out.Sandbox, out.Cwd, out.Sandbox, out.Name)
	})
}
