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
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// CreateSessionInput is create_session's arguments.
type CreateSessionInput struct {
	Sandbox string        `json:"sandbox" jsonschema_description:"Sandbox name, as create_sandbox returned it."`
	Agent   string        `json:"agent" jsonschema:"enum=claude,enum=codex,enum=opencode,enum=amp,enum=pi,enum=cursor,enum=mock" jsonschema_description:"The coding agent to run."`
	Name    string        `json:"name,omitempty" jsonschema_description:"Session name: 2-31 lowercase letters, digits or '-'. Default: <agent>-<n>."`
	Cwd     string        `json:"cwd,omitempty" jsonschema_description:"Absolute working directory inside the sandbox. Default: the workspace."`
	Model   string        `json:"model,omitempty" jsonschema_description:"Model id, one the agent offers (see models in the result)."`
	Mode    string        `json:"mode,omitempty" jsonschema_description:"Mode id, one the agent offers (for example plan or acceptEdits for claude)."`
	Budget  *state.Budget `json:"budget,omitempty" jsonschema_description:"Limits for each turn; a turn that crosses one is cancelled with stop reason budget_exceeded and the session stays usable. Unset limits take the server's defaults, which are also the most you may ask for."`
	// MCPServers are validated by the manager (mcp.go): no host paths, no secrets in argv or URLs.
	MCPServers []state.MCPServer `json:"mcp_servers,omitempty" jsonschema_description:"MCP servers for the agent: stdio commands run inside the sandbox, or http/sse URLs the sandbox can reach. Secrets only as ${NAME} in env values or headers, NAME one of the server's allowed variables."`
	Continue   string            `json:"continue,omitempty" jsonschema_description:"Name of an ended or failed session (list_sessions: can_continue) to continue in place, with its history: pass only sandbox, agent, continue and optionally budget."`
	Fork       string            `json:"fork,omitempty" jsonschema_description:"Name of a session whose conversation the new session starts with, as a summary sent as its first turn."`
}

// Validate implements validator.
func (in CreateSessionInput) Validate() error {
	if !slices.Contains(manager.Agents, in.Agent) {
		return sandbox.Errorf(sandbox.Invalid, "unknown agent %q: use one of %s", in.Agent, strings.Join(manager.Agents, ", "))
	}
	if err := checkName("sandbox", in.Sandbox, true); err != nil {
		return err
	}
	if in.Continue != "" && in.Fork != "" {
		return sandbox.Errorf(sandbox.Invalid, "continue and fork exclude each other: continue resumes a session in place, fork starts a new one from it")
	}
	if err := checkName("session", in.Continue, false); err != nil {
		return err
	}
	if err := checkName("session", in.Fork, false); err != nil {
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
			"Returns the session name and what the agent offers (modes, models). Optional: per-turn budget limits, MCP servers for the agent, " +
			"continue (resume an ended session) or fork (start from another session's context). Next: send_message.",
		ann: annotations{openWorld: true},
	}, log, func(ctx context.Context, in CreateSessionInput, progress func(string)) (manager.SessionResult, error) {
		return svc.CreateSession(ctx, manager.CreateSessionRequest{Sandbox: in.Sandbox, Agent: in.Agent, Name: in.Name,
			Cwd: in.Cwd, Model: in.Model, Mode: in.Mode, Budget: in.Budget, MCPServers: in.MCPServers,
			Continue: in.Continue, Fork: in.Fork, Progress: progress})
	}, func(out manager.SessionResult) string {
		var how string
		switch {
		case out.Continued == manager.ContinuedLoad:
			how = " Continued: the agent reloaded its history (session/load)."
		case out.Continued != "":
			how = " Continued in a new agent session primed with a summary of the transcript."
		case out.Forked != "":
			how = fmt.Sprintf(" Forked from %s: primed with a summary of it.", out.Forked)
		}
		if out.Turn != "" {
			how += fmt.Sprintf(" The priming turn %s is %s; follow it with get_events.", out.Turn, out.Status)
		}
		return fmt.Sprintf("Session %s (%s) is %s in sandbox %s, working in %s.%s%s Next: send_message with sandbox=%q session=%q.",
			out.Name, out.Agent, out.Status, out.Sandbox, out.Cwd, how, manager.SetupText(out.Setup), out.Sandbox, out.Name)
	})
}
