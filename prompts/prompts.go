// Package prompts holds the MCP prompts the server offers: step-by-step guides a host can insert to make
// its assistant use the tools well. Their text lives in embedded Markdown templates, golden-tested.
package prompts

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"text/template"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

//go:embed *.md
var files embed.FS

var templates = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.md"))

// Render executes one template with its arguments.
func Render(name string, args map[string]string) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name+".md", args); err != nil {
		return "", fmt.Errorf("render prompt %s: %w", name, err)
	}
	return b.String(), nil
}

// Source gives the review prompt what it embeds: a sandbox's workspace diff and a session's transcript.
type Source interface {
	Diff(ctx context.Context, sandbox string) (string, error)
	Transcript(ctx context.Context, sandbox, session string) (string, error)
}

// All lists the server's prompts.
func All(src Source) []server.ServerPrompt {
	return []server.ServerPrompt{delegateTask(), reviewSandboxWork(src), fanOutTask()}
}

// reviewSandboxWork collects the workspace diff and the session transcript into one review request, so
// the host's assistant reviews the real changes rather than the agent's account of them.
func reviewSandboxWork(src Source) server.ServerPrompt {
	p := mcp.NewPrompt("review_sandbox_work",
		mcp.WithPromptDescription("Collect a sandbox's workspace diff and an agent session's transcript, and ask for a review of the work."),
		mcp.WithArgument("sandbox", mcp.ArgumentDescription("Sandbox name."), mcp.RequiredArgument()),
		mcp.WithArgument("session", mcp.ArgumentDescription("Session whose transcript to include (optional).")),
	)
	return server.ServerPrompt{Prompt: p, Handler: func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		// Every key the template reads is present (missingkey=error): an empty Transcript renders nothing.
		args := map[string]string{"Sandbox": req.Params.Arguments["sandbox"], "Session": req.Params.Arguments["session"], "Transcript": ""}
		if args["Sandbox"] == "" {
			return nil, fmt.Errorf("review_sandbox_work needs the sandbox argument")
		}
		diff, err := src.Diff(ctx, args["Sandbox"])
		if err != nil {
			return nil, err
		}
		args["Diff"] = diff
		if args["Session"] != "" {
			if args["Transcript"], err = src.Transcript(ctx, args["Sandbox"], args["Session"]); err != nil {
				return nil, err
			}
		}
		text, err := Render("review_sandbox_work", args)
		if err != nil {
			return nil, err
		}
		return mcp.NewGetPromptResult("Review the work done in sandbox "+args["Sandbox"],
			[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
	}}
}

// fanOutTask gives one task to several agents in parallel sandboxes, each on its own clone (isolation),
// and has the host compare their diffs and check results before landing one.
func fanOutTask() server.ServerPrompt {
	p := mcp.NewPrompt("fan_out_task",
		mcp.WithPromptDescription("Give the same coding task to several agents in parallel sandboxes, each on its own clone and branch, then compare their diffs and checks and land one."),
		mcp.WithArgument("task", mcp.ArgumentDescription("What the agents should do."), mcp.RequiredArgument()),
		mcp.WithArgument("workspace", mcp.ArgumentDescription("Absolute path of the git repository (its top folder)."), mcp.RequiredArgument()),
		mcp.WithArgument("agents", mcp.ArgumentDescription("Comma-separated coding agents, e.g. claude,codex,opencode (default).")),
		mcp.WithArgument("check", mcp.ArgumentDescription("A command that checks the work (e.g. go test ./...), run in each sandbox.")),
	)
	return server.ServerPrompt{Prompt: p, Handler: func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		a := req.Params.Arguments
		args := map[string]string{"Task": a["task"], "Workspace": a["workspace"], "Agents": a["agents"], "Check": a["check"]}
		if args["Agents"] == "" {
			args["Agents"] = "claude,codex,opencode"
		}
		if args["Task"] == "" || args["Workspace"] == "" {
			return nil, fmt.Errorf("fan_out_task needs the task and workspace arguments")
		}
		text, err := Render("fan_out_task", args)
		if err != nil {
			return nil, err
		}
		return mcp.NewGetPromptResult("Fan a coding task out to several agents",
			[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
	}}
}

func delegateTask() server.ServerPrompt {
	p := mcp.NewPrompt("delegate_task",
		mcp.WithPromptDescription("How to hand a coding task to an agent in a sandbox with these tools, step by step."),
		mcp.WithArgument("task", mcp.ArgumentDescription("What the agent should do."), mcp.RequiredArgument()),
		mcp.WithArgument("workspace", mcp.ArgumentDescription("Absolute path of the project folder."), mcp.RequiredArgument()),
		mcp.WithArgument("agent", mcp.ArgumentDescription("Coding agent: claude (default), codex, opencode, amp, pi or cursor.")),
	)
	return server.ServerPrompt{Prompt: p, Handler: func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		args := map[string]string{"Task": req.Params.Arguments["task"], "Workspace": req.Params.Arguments["workspace"], "Agent": req.Params.Arguments["agent"]}
		if args["Agent"] == "" {
			args["Agent"] = "claude"
		}
		if args["Task"] == "" || args["Workspace"] == "" {
			return nil, fmt.Errorf("delegate_task needs the task and workspace arguments")
		}
		text, err := Render("delegate_task", args)
		if err != nil {
			return nil, err
		}
		return mcp.NewGetPromptResult("Delegate a coding task to a sandboxed agent",
			[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
	}}
}
