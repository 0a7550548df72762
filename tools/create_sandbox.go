package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// CreateSandboxInput is create_sandbox's arguments.
type CreateSandboxInput struct {
	Workspace string `json:"workspace" jsonschema_description:"Absolute path of an existing host folder (the project). It is mounted at the same path inside the sandbox."`
	Name      string `json:"name,omitempty" jsonschema_description:"Sandbox name: 2-31 lowercase letters, digits or '-'. Default: derived from the workspace, so the same workspace finds the same sandbox."`
	Agent     string `json:"agent,omitempty" jsonschema_description:"Agent kind the sandbox is prepared for (selects Docker Sandboxes' default template and credential proxy), e.g. claude or codex. Default: the server's --sandbox-agent-kind."`
	Template  string `json:"template,omitempty" jsonschema_description:"Template or image to run. On the docker backend any Linux image with a shell works (sandbox-agent is provided by the server); on sbx a template. Default: the server's --template (or --docker-image)."`
	Backend   string `json:"backend,omitempty" jsonschema:"enum=auto,enum=sbx,enum=docker-sandbox,enum=docker" jsonschema_description:"Where to run it. Default: the server's --backend."`
	// Isolation (docs/isolation.md).
	Isolation          string `json:"isolation,omitempty" jsonschema:"enum=clone,enum=direct" jsonschema_description:"clone: the sandbox works on a private clone of the repository, on its own branch sandbox/<name>, and your folder is never mounted; land the result with land_sandbox. direct: it works in your folder itself. Default: clone when the workspace is the top folder of a git repository with a commit, else direct."`
	Base               string `json:"base,omitempty" jsonschema_description:"Clone mode: the branch, tag or commit the clone starts from. Default: HEAD."`
	IncludeUncommitted bool   `json:"include_uncommitted,omitempty" jsonschema_description:"Clone mode: include your uncommitted changes and untracked files, as a snapshot commit on the base (your folder, index and stash are not touched). Default: the clone starts from the commit and the result says how many files were left out."`
	// sbx's MCP gateway (manager/sbxmcp.go, docs/sessions.md).
	SbxMCP []string `json:"sbx_mcp,omitempty" jsonschema_description:"sbx backend only: names of MCP servers the operator registered with sbx mcp add (see sbx mcp ls), put on the sandbox's MCP gateway for its agents. A new sandbox gets exactly this set (pinned); an existing one has them added. Other backends: pass MCP servers per session with create_session's mcp_servers."`
}

// Validate implements validator.
func (in CreateSandboxInput) Validate() error {
	if in.Workspace == "" {
		return sandbox.Errorf(sandbox.Invalid, "workspace is required: pass the absolute path of the project folder")
	}
	if in.Backend != "" && !slices.Contains([]string{"auto", "sbx", "docker-sandbox", "docker"}, in.Backend) {
		return sandbox.Errorf(sandbox.Invalid, "backend %q is unknown: use auto, sbx, docker-sandbox or docker", in.Backend)
	}
	if in.Isolation != "" && in.Isolation != manager.IsolationClone && in.Isolation != manager.IsolationDirect {
		return sandbox.Errorf(sandbox.Invalid, "isolation %q is unknown: use clone or direct", in.Isolation)
	}
	if in.Base != "" && (strings.HasPrefix(in.Base, "-") || len(in.Base) > 200 || strings.ContainsAny(in.Base, " \t\n\x00")) {
		return sandbox.Errorf(sandbox.Invalid, "base %q is not a valid ref: pass a branch, tag or commit", truncate(in.Base, 60))
	}
	return checkName("sandbox", in.Name, false)
}

// CreateSandbox is the create_sandbox tool.
func CreateSandbox(svc Service, log *slog.Logger) server.ServerTool {
	return newTool(spec{
		name:  "create_sandbox",
		title: "Create sandbox",
		description: "Create an isolated sandbox over a project folder and start sandbox-agent in it, so coding agents can work there. " +
			"Calling it again with the same name and workspace returns the existing sandbox. Next: create_session.",
		ann: annotations{idempotent: true, openWorld: true},
	}, log, func(ctx context.Context, in CreateSandboxInput, progress func(string)) (manager.SandboxResult, error) {
		roots, err := clientRoots(ctx, log)
		if err != nil {
			return manager.SandboxResult{}, err
		}
		return svc.CreateSandbox(ctx, manager.CreateSandboxRequest{Workspace: in.Workspace, Name: in.Name,
			Agent: in.Agent, Template: in.Template, Backend: in.Backend, Roots: roots, Progress: progress,
			Isolation: in.Isolation, Base: in.Base, IncludeUncommitted: in.IncludeUncommitted, SbxMCP: in.SbxMCP})
	}, func(out manager.SandboxResult) string {
		verb := "Created"
		if out.Reused {
			verb = "Reusing"
		}
		iso := ""
		if i := out.Isolation; i != nil && i.Mode == manager.IsolationClone {
			iso = fmt.Sprintf(" It works on its own clone, branch %s from %.12s (%s); land the result with land_sandbox.", i.Branch, i.Base, i.Transport)
		}
		if i := out.Isolation; i != nil && i.Note != "" {
			iso += " Note: " + i.Note + "."
		}
		if out.Warning != "" {
			iso += " Warning: " + out.Warning + "."
		}
		if len(out.SbxMCP) > 0 {
			iso += " Its sbx MCP gateway has " + strings.Join(out.SbxMCP, ", ") + "."
		}
		return fmt.Sprintf("%s sandbox %s (%s, %s) over %s; sandbox-agent %s is ready.%s Next: create_session with sandbox=%q.",
			verb, out.Name, out.Backend, out.Status, out.Workspace, out.AgentVersion, iso+manager.SetupText(out.Setup), out.Name)
	})
}

// rootsTimeout bounds asking the client for its roots: a client that declared roots but never answers
// must not hold create_sandbox.
const rootsTimeout = 5 * time.Second

// clientRoots returns the local folders the MCP client shared as roots, or nil when it places no
// restriction: it did not declare the roots capability, or the protocol gives no way to ask (mcp-go
// refuses server-to-client requests in the modern protocol era, and some sessions cannot carry them).
// Non-file and remote-host URIs are skipped. A client that declared roots fails closed: when it shares
// no usable file:// root, or does not answer, no folder is allowed (an error wrapping ErrInvalid), since
// "no restriction" would be the opposite of what declaring roots means.
func clientRoots(ctx context.Context, log *slog.Logger) ([]string, error) {
	srv := server.ServerFromContext(ctx)
	sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	if srv == nil || !ok || sess.GetClientCapabilities().Roots == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, rootsTimeout)
	defer cancel()
	res, err := srv.RequestRoots(ctx, mcp.ListRootsRequest{})
	if errors.Is(err, server.ErrServerInitiatedRequestUnsupported) || errors.Is(err, server.ErrRootsNotSupported) {
		log.Debug("client roots cannot be requested in this protocol era or session", "err", err)
		return nil, nil
	}
	if err != nil || res == nil {
		return nil, sandbox.Errorf(sandbox.Invalid, "the MCP client declared roots but did not list them (%v), so no folder is allowed: retry, or check the client's roots setting", err)
	}
	var paths []string
	for _, r := range res.Roots {
		if p, ok := rootPath(r.URI); ok {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, sandbox.Errorf(sandbox.Invalid, "the MCP client declared roots but shared no local folder (no file:// root among %d), so no folder is allowed: add the project folder to the client's roots", len(res.Roots))
	}
	return paths, nil
}

// rootPath turns a file:// root URI into an absolute local path.
func rootPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) {
		return "", false
	}
	return filepath.Clean(u.Path), true
}
