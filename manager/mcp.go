package manager

// The inner agent's own MCP servers. They go to the agent in ACP session/new (and session/load)
// `mcpServers`: a stdio server is {name, command, args, env[{name,value}]}, an HTTP one {type:"http"|"sse",
// name, url, headers[{name,value}]} (ACP schema, McpServer). The agent starts stdio servers inside the
// sandbox; HTTP servers are reached from inside it.
//
// Every field is a tool argument, so untrusted: a server can ask for tools for its agent, never for
// anything the server would not hand out anyway. Hence:
//   - no host paths: the sandbox holds the workspace (at the same path) and its own files; an absolute path
//     elsewhere under the host's home is a host path that means nothing inside, or an attempt to name one;
//   - no secrets in argv or URLs (every process can read argv): a secret is referenced as ${NAME} in an env
//     value or a header, NAME from the server's allowlist (--pass-env and the agents' keys), and set in the
//     server's environment. The value is filled in only for the request to sandbox-agent (a body on
//     stdin or HTTP, never argv); records keep the reference, and logs redact the value.

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Bounds on what one session may ask for.
const (
	maxMCPServers = 16
	maxMCPArgs    = 64
	maxMCPValue   = 4096
)

var (
	mcpNameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	headerNameRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,128}$`)
	secretRefRE  = regexp.MustCompile(`\$\{([^}]*)\}`)
	// keyShapeRE finds tokens that look like API keys by their well-known prefixes.
	keyShapeRE = regexp.MustCompile(`(sk-ant-|sk-proj-|sk-|ghp_|gho_|github_pat_|glpat-|xox[abp]-|AKIA)[A-Za-z0-9_\-]{16,}`)
)

// mcpCaps is what the agent said it supports (ACP initialize agentCapabilities.mcpCapabilities).
type mcpCaps struct {
	HTTP bool `json:"http"`
	SSE  bool `json:"sse"`
}

// validateMCP checks the MCP servers a caller asked for. workspace is the sandbox's workspace (paths inside
// it exist in the sandbox too).
func (m *Manager) validateMCP(servers []state.MCPServer, workspace string) error {
	if len(servers) > maxMCPServers {
		return invalidf("%d MCP servers is over the limit of %d: pass fewer", len(servers), maxMCPServers)
	}
	seen := map[string]bool{}
	for i, s := range servers {
		if !mcpNameRE.MatchString(s.Name) {
			return invalidf("MCP server %d: name %q is not valid: use letters, digits, '.', '_' or '-'", i, s.Name)
		}
		if seen[s.Name] {
			return invalidf("MCP server name %q is used twice: give each server its own name", s.Name)
		}
		seen[s.Name] = true
		if err := m.validateOneMCP(s, workspace); err != nil {
			return invalidf("MCP server %q: %s", s.Name, err)
		}
	}
	return nil
}

func (m *Manager) validateOneMCP(s state.MCPServer, workspace string) error {
	switch s.Type {
	case "", "stdio":
		if s.URL != "" || len(s.Headers) > 0 {
			return fmt.Errorf("url and headers are for http and sse servers: drop them or set type")
		}
		if s.Command == "" {
			return fmt.Errorf("command is required for a stdio server")
		}
		if len(s.Args) > maxMCPArgs {
			return fmt.Errorf("%d arguments is over the limit of %d", len(s.Args), maxMCPArgs)
		}
		for _, a := range append([]string{s.Command}, s.Args...) {
			if err := m.plainValue(a); err != nil {
				return fmt.Errorf("command and args: %s", err)
			}
			if err := m.notHostPath(a, workspace); err != nil {
				return err
			}
		}
		return m.checkPairs("env", s.Env, envNameRE)
	case "http", "sse":
		if s.Command != "" || len(s.Args) > 0 || len(s.Env) > 0 {
			return fmt.Errorf("command, args and env are for stdio servers: drop them or set type stdio")
		}
		if err := m.plainValue(s.URL); err != nil {
			return fmt.Errorf("url: %s", err)
		}
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url %q must be an http:// or https:// URL with a host", s.URL)
		}
		if u.User != nil {
			return fmt.Errorf("url must not carry credentials: put a secret in a header as ${NAME}")
		}
		return m.checkPairs("headers", s.Headers, headerNameRE)
	default:
		return fmt.Errorf("type %q is not one of stdio, http, sse", s.Type)
	}
}

// plainValue refuses a value that holds a secret: a ${NAME} reference, the value of a secret the server
// knows, or a token shaped like an API key.
func (m *Manager) plainValue(v string) error {
	if len(v) > maxMCPValue || strings.ContainsAny(v, "\x00\n\r") {
		return fmt.Errorf("a value is too long or holds a NUL or line break")
	}
	if strings.Contains(v, "${") {
		return fmt.Errorf("secrets (${NAME}) are allowed only in env values and headers, never in argv or URLs")
	}
	return m.noSecretValue(v)
}

func (m *Manager) noSecretValue(v string) error {
	for _, n := range m.cfg.SecretNames {
		if sv := m.cfg.Getenv(n); len(sv) >= 8 && strings.Contains(v, sv) {
			return fmt.Errorf("a value holds the secret %s: reference it as ${%s} in an env value or header instead", n, n)
		}
	}
	if keyShapeRE.MatchString(v) {
		return fmt.Errorf("a value looks like an API key: pass secrets by name as ${NAME} in an env value or header, from the server's allowed variables")
	}
	return nil
}

// checkPairs validates env or header names and values; values may reference allowed secrets.
func (m *Manager) checkPairs(what string, pairs map[string]string, nameRE *regexp.Regexp) error {
	if len(pairs) > maxMCPArgs {
		return fmt.Errorf("%d %s entries is over the limit of %d", len(pairs), what, maxMCPArgs)
	}
	for k, v := range pairs {
		if !nameRE.MatchString(k) {
			return fmt.Errorf("%s name %q is not valid", what, k)
		}
		if len(v) > maxMCPValue || strings.ContainsAny(v, "\x00\n\r") {
			return fmt.Errorf("%s %s: the value is too long or holds a NUL or line break", what, k)
		}
		for _, ref := range secretRefRE.FindAllStringSubmatch(v, -1) {
			name := ref[1]
			if !slices.Contains(m.cfg.SecretNames, name) {
				return fmt.Errorf("%s %s: ${%s} is not one of the server's allowed secret variables (%s; more with --pass-env)", what, k, name, strings.Join(m.cfg.SecretNames, ", "))
			}
			if m.cfg.Getenv(name) == "" {
				return fmt.Errorf("%s %s: ${%s} is not set in the server's environment", what, k, name)
			}
		}
		if err := m.noSecretValue(secretRefRE.ReplaceAllString(v, "")); err != nil {
			return fmt.Errorf("%s %s: %s", what, k, err)
		}
	}
	return nil
}

// notHostPath refuses an absolute path (alone or as the value of --flag=PATH) that climbs with "..", or
// that lies in the host's home but outside the workspace: the sandbox only has the workspace from there.
func (m *Manager) notHostPath(arg, workspace string) error {
	p := arg
	if i := strings.Index(arg, "="); i >= 0 && strings.HasPrefix(arg, "-") {
		p = arg[i+1:]
	}
	if !filepath.IsAbs(p) {
		return nil
	}
	if filepath.Clean(p) != p && filepath.Clean(p)+"/" != p {
		return fmt.Errorf("path %q is not clean (no '..', '.' or '//'): write it plainly", p)
	}
	home := m.cfg.Policy.Home
	if home == "" || home == "/" || !within(p, home) || within(p, workspace) {
		return nil
	}
	return fmt.Errorf("%q is a host path outside the workspace: the MCP server runs inside the sandbox, which has only the workspace (%s) from the host", p, workspace)
}

// acpMCPServers renders servers in ACP's shape, filling in secret references from the server's
// environment. The result goes only into a request body.
func (m *Manager) acpMCPServers(servers []state.MCPServer, caps mcpCaps) ([]any, error) {
	out := []any{}
	for _, s := range servers {
		expand := func(pairs map[string]string) []map[string]string {
			list := []map[string]string{}
			keys := make([]string, 0, len(pairs))
			for k := range pairs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := secretRefRE.ReplaceAllStringFunc(pairs[k], func(ref string) string {
					return m.cfg.Getenv(ref[2 : len(ref)-1])
				})
				list = append(list, map[string]string{"name": k, "value": v})
			}
			return list
		}
		switch s.Type {
		case "http", "sse":
			if (s.Type == "http" && !caps.HTTP) || (s.Type == "sse" && !caps.SSE) {
				return nil, invalidf("MCP server %q: the agent does not support %s MCP servers (its initialize reports mcpCapabilities.%s false): use a stdio server", s.Name, s.Type, s.Type)
			}
			out = append(out, map[string]any{"type": s.Type, "name": s.Name, "url": s.URL, "headers": expand(s.Headers)})
		default:
			args := s.Args
			if args == nil {
				args = []string{}
			}
			out = append(out, map[string]any{"name": s.Name, "command": s.Command, "args": args, "env": expand(s.Env)})
		}
	}
	return out, nil
}
