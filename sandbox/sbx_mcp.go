package sandbox

// sbx's MCP gateway (sbx ≥ 0.38). Every sbx sandbox runs an MCP gateway; the operator registers MCP servers
// once on the host (`sbx mcp add NAME --url … | --command …`), and a sandbox is given some of them either at
// creation (`sbx create --static-mcp a,b`: "static mode", the set is pinned and the agent gets no discovery
// tools) or while it runs (`sbx mcp load NAME --sandbox SANDBOX`, which also works in static mode and
// survives restarts). Credentials (OAuth tokens, header secrets) stay on the host; servers registered with
// --command run on the host, outside the sandbox. Sources, checked 2026-12-02:
// docker/docs content/manuals/ai/sandboxes/cli/access/mcp.md (docs.docker.com/ai/sandboxes/mcp-gateway/),
// docs.docker.com/reference/cli/sbx/mcp/ (add, inspect, load, ls, rm) and docs/upstream/sbx-cli.json.
//
// sandbox-mcp only names registrations the operator made: it never adds, removes or authorises one.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// SbxMCPVersion is the first sbx release with `sbx mcp` and `create --static-mcp` (sbx-releases#275,
// docs/upstream/sbx-cli.json).
const SbxMCPVersion = "0.38.0"

// MaxMCPServers bounds the registrations named for one sandbox.
const MaxMCPServers = 16

// mcpNameRE: sbx allows "letters, numbers, dots, hyphens, and underscores" in a server name (mcp.md,
// "Register an MCP server"). We also require a letter or digit first, so that a name can never read as a
// flag, "." or "..", and cap the length.
var mcpNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidMCPServerName reports whether name is an sbx MCP server name we pass on to the CLI.
func ValidMCPServerName(name string) bool { return mcpNameRE.MatchString(name) }

// MCPGateway is implemented by backends whose sandboxes have an MCP gateway fed from the operator's host
// registrations (sbx). Spec.StaticMCP pins a set at creation; LoadMCP attaches one to a running sandbox.
type MCPGateway interface {
	// MCPServers lists the names of the MCP servers registered on this host (`sbx mcp ls`).
	MCPServers(ctx context.Context) ([]string, error)
	// LoadMCP attaches the registered server to the running sandbox's gateway (`sbx mcp load`).
	LoadMCP(ctx context.Context, sandboxName, server string) error
}

var _ MCPGateway = (*Sbx)(nil)

// mcpSupported fails when the CLI is known to predate `sbx mcp`. An unknown version is assumed new enough.
func (c *cli) mcpSupported(op string) error {
	if c.d.name != "sbx" {
		return Errorf(Invalid, "%s: only sbx has an MCP gateway for host registrations", op)
	}
	if known, ok := c.ver.atLeast(SbxMCPVersion); known && !ok {
		return Errorf(Invalid, "%s: sbx %s has no MCP gateway (sbx mcp arrived in %s): upgrade sbx", op, c.ver, SbxMCPVersion)
	}
	return nil
}

// staticMCPArgs is create's `--static-mcp a,b` for names (none when empty). The docs accept a comma list or
// a repeated flag; one comma list keeps the argv short, and no valid name holds a comma.
func (c *cli) staticMCPArgs(op string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if err := c.mcpSupported(op); err != nil {
		return nil, err
	}
	if err := checkMCPNames(names); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return []string{"--static-mcp", strings.Join(names, ",")}, nil
}

func checkMCPNames(names []string) error {
	if len(names) > MaxMCPServers {
		return Errorf(Invalid, "%d MCP servers named, at most %d", len(names), MaxMCPServers)
	}
	for _, n := range names {
		if !ValidMCPServerName(n) {
			return Errorf(Invalid, "MCP server name %q is not valid (letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64)", truncate(n, 70))
		}
	}
	return nil
}

// MCPServers runs `sbx mcp ls` and returns the NAME column. The command prints a table with no --json
// option (reference/cli/sbx/mcp/ls: only -D); its documented header is `NAME TYPE URL/COMMAND`. A name
// holds no blank, so the first field of each row is the name; output without that header (an empty
// registry's message, whatever its wording) lists nothing.
func (s *Sbx) MCPServers(ctx context.Context) ([]string, error) {
	op := s.c.op("mcp ls", "")
	if err := s.c.mcpSupported(op); err != nil {
		return nil, err
	}
	res, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("mcp", "ls")})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return parseMCPList(res.Stdout), nil
}

func parseMCPList(out []byte) []string {
	var names []string
	header := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case !header:
			header = f[0] == "NAME"
		case ValidMCPServerName(f[0]) && !slices.Contains(names, f[0]):
			names = append(names, f[0])
		}
	}
	return names
}

// LoadMCP runs `sbx mcp load --sandbox SANDBOX -- NAME`. The documented form is `sbx mcp load <name>
// --sandbox <sandbox>`; sbx is a cobra program, whose flags may come before the positional and whose `--`
// ends the flags, so a name can never be read as one (it is validated as well). A missing sandbox maps to
// ErrNotFound; any other refusal keeps sbx's text, e.g. `ERROR: add "NAME" to sandbox "S": …`
// (sbx-releases#547).
func (s *Sbx) LoadMCP(ctx context.Context, name, server string) error {
	op := s.c.op("mcp load", server)
	if err := s.c.mcpSupported(op); err != nil {
		return err
	}
	if err := checkMCPNames([]string{server}); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if name == "" || strings.HasPrefix(name, "-") {
		return Errorf(Invalid, "%s: empty or flag-like sandbox name", op)
	}
	_, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("mcp", "load", "--sandbox", name, "--", server)})
	if err = s.c.mapExec(op, name, err); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return err
}
