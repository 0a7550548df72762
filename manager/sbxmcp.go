package manager

// The operator's sbx MCP registrations, named for a sandbox (create_sandbox's sbx_mcp). On sbx every sandbox
// runs an MCP gateway; servers the operator registered on the host with `sbx mcp add` can be pinned on it
// when the sandbox is created (--static-mcp) or loaded into a running one (`sbx mcp load`), and the agents
// inside reach them through that gateway (sandbox/sbx_mcp.go, docs/sessions.md).
//
// It belongs to create_sandbox, not create_session: the gateway is the sandbox's, shared by all its sessions,
// its static set is fixed when the sandbox is created and loaded servers stay across restarts. Per-session
// servers are create_session's mcp_servers (mcp.go), passed to the agent in ACP session/new.
//
// Only names travel: each must be a plain sbx server name and registered on this host (`sbx mcp ls`) before
// anything runs, so no text of the caller's reaches the CLI except a name sbx already knows.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// sbxMCPRequest checks sbx_mcp's names and that the backend has an MCP gateway. It runs nothing. It returns
// the names without repeats, in order, and the gateway (nil when no name was given).
func sbxMCPRequest(b sandbox.Backend, names []string) ([]string, sandbox.MCPGateway, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	gw, ok := b.(sandbox.MCPGateway)
	if !ok {
		return nil, nil, remedy.Errorf(sandbox.Invalid, remedy.MCPPerSession, "sbx MCP registrations were named, which only the sbx backend has (this sandbox would be on %s)", b.Name())
	}
	var out []string
	for _, n := range names {
		if !sandbox.ValidMCPServerName(n) {
			return nil, nil, invalidf("%q is not an sbx MCP server name (letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64): pass names from `sbx mcp ls`", truncate(n, 70))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > sandbox.MaxMCPServers {
		return nil, nil, invalidf("%d sbx MCP servers were named, at most %d", len(out), sandbox.MaxMCPServers)
	}
	return out, gw, nil
}

// checkRegistered fails unless every name is registered on this host (`sbx mcp ls`).
func checkRegistered(ctx context.Context, gw sandbox.MCPGateway, names []string) error {
	if len(names) == 0 {
		return nil
	}
	have, err := gw.MCPServers(ctx)
	if err != nil {
		return fmt.Errorf("list the sbx MCP registrations: %w", err)
	}
	for _, n := range names {
		if !slices.Contains(have, n) {
			known := "none are registered"
			if len(have) > 0 {
				known = "registered: " + truncate(strings.Join(have, ", "), 200)
			}
			return invalidf("sbx MCP server %q is not registered on this host (%s): name one of those, or ask the operator to register it with `sbx mcp add %s …`", n, known, n)
		}
	}
	return nil
}

// attachSbxMCP loads into the (running) sandbox the named servers its record does not list yet, and records
// each one it attached. It is what a reused sandbox gets: its static set cannot be changed any more, but
// `sbx mcp load` adds to it in either mode. res and err are reuse's.
func (m *Manager) attachSbxMCP(ctx context.Context, gw sandbox.MCPGateway, names []string, res SandboxResult, err error) (SandboxResult, error) {
	if err != nil || len(names) == 0 {
		return res, err
	}
	rec, err := m.cfg.Store.GetSandbox(res.Name)
	if err != nil {
		return SandboxResult{}, err
	}
	var loadErr error
	for _, n := range names {
		if slices.Contains(rec.SbxMCP, n) {
			continue
		}
		if loadErr = gw.LoadMCP(ctx, rec.Name, n); loadErr != nil {
			loadErr = fmt.Errorf("sandbox %q is ready but sbx did not load MCP server %q into it (%w); attached: %s", rec.Name, n, loadErr, orNone(rec.SbxMCP))
			break
		}
		rec.SbxMCP = append(rec.SbxMCP, n)
	}
	if err := m.cfg.Store.PutSandbox(rec); err != nil {
		return SandboxResult{}, err
	}
	if loadErr != nil {
		return SandboxResult{}, loadErr
	}
	res.SbxMCP = rec.SbxMCP
	return res, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
