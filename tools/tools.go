package tools

import (
	"context"
	"log/slog"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Service is what the tools call: the manager in the server, a fake in tool tests.
type Service interface {
	CreateSandbox(ctx context.Context, req manager.CreateSandboxRequest) (manager.SandboxResult, error)
	DestroySandbox(ctx context.Context, name string, keep ...manager.KeepWork) (manager.DestroyResult, error)
	LandSandbox(ctx context.Context, req manager.LandRequest) (manager.LandResult, error)
	CreateSession(ctx context.Context, req manager.CreateSessionRequest) (manager.SessionResult, error)
	SendMessage(ctx context.Context, req manager.SendRequest) (manager.TurnResult, error)
	GetEvents(ctx context.Context, req manager.EventsRequest) (live.Page, error)
	RespondPermission(ctx context.Context, sandbox, session, requestID, option string) (manager.PermissionResult, error)
	CancelTurn(ctx context.Context, sandbox, session string) (manager.CancelResult, error)
	ListSandboxes(ctx context.Context) (manager.SandboxList, error)
	ListSessions(ctx context.Context, sandbox string) (manager.SessionList, error)
	Diff(ctx context.Context, sandbox string) (manager.DiffResult, error)
}

// All lists every tool, in the order tools/list shows them.
func All(svc Service, log *slog.Logger) []server.ServerTool {
	return []server.ServerTool{
		CreateSandbox(svc, log),
		CreateSession(svc, log),
		SendMessage(svc, log),
		GetEvents(svc, log),
		RespondPermission(svc, log),
		CancelTurn(svc, log),
		ListSandboxes(svc, log),
		ListSessions(svc, log),
		GetDiff(svc, log),
		LandSandbox(svc, log),
		DestroySandbox(svc, log),
	}
}
