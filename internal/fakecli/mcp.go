package fakecli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
)

// `sbx mcp` and `sbx create --static-mcp`: the host-side MCP registry and each sandbox's MCP gateway, as
// documented on 2026-12-02 in docker/docs content/manuals/ai/sandboxes/cli/access/mcp.md
// (https://docs.docker.com/ai/sandboxes/mcp-gateway/) and https://docs.docker.com/reference/cli/sbx/mcp/
// (add, inspect, load, ls, rm); the same facts are in docs/upstream/sbx-cli.json.
//
//	sbx mcp add NAME (--url URL | --command CMD [--args a,b] [--dir D]) [--local] [--header 'K: V']...
//	    [--scope S]... [--client-id ID] [--oauth-authorization-server P] [--skip-auth] [--skip-ssrf-check]
//	sbx mcp ls                          table NAME TYPE URL/COMMAND, no --json
//	sbx mcp load NAME --sandbox SANDBOX attach to a running sandbox's gateway; kept across restarts
//	sbx mcp rm NAME
//	sbx create --static-mcp a,b …       (comma list or repeated) pins the set: "static mode"
//
// What the docs state and the double follows: `sbx mcp` and --static-mcp exist from v0.38.0
// (docker/sbx-releases#275); server names hold letters, numbers, dots, hyphens and underscores; every
// --static-mcp name "must already be registered with sbx mcp add"; `load` needs a server that "must
// already exist in the local MCP store", a `--sandbox` ("required") and a running sandbox, and works in
// static and dynamic mode; a sandbox created without --static-mcp is in dynamic mode. `add` prints
// `MCP server "NAME" registered (type: remote)` and `ls` the header `NAME TYPE URL/COMMAND` (mcp.md's
// examples); a failed load reads `ERROR: add "NAME" to sandbox "S": <cause>` and a successful one starts
// `MCP server "NAME" loaded into sandb…` (docker/sbx-releases#547). The wording of the causes the docs do
// not show (an unknown name, a stopped sandbox, a name added twice) and the type word of a stdio server
// ("local") are the double's own; callers must not depend on them.
//
// Stored state only: the double runs no gateway, contacts no MCP server, and performs no OAuth (every
// registration behaves as if added with --skip-auth). The registry is $FAKECLI_ROOT/sbx/.mcp.json; a
// sandbox's gateway is <sandbox dir>/mcp.json, absent for a dynamic sandbox with nothing loaded.

// sbxMCP is the first release with `sbx mcp` and create --static-mcp.
const sbxMCP = "0.38.0"

var mcpServerNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

type mcpRec struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // remote | local
	URL     string   `json:"url,omitempty"`
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	Headers []string `json:"headers,omitempty"` // templates such as 'Authorization: Bearer ${api-key}'
	Scopes  []string `json:"scopes,omitempty"`
}

// gateway is one sandbox's MCP gateway as the double records it.
type gateway struct {
	Static  bool     `json:"static"`  // created with --static-mcp: no discovery tools for the agent
	Servers []string `json:"servers"` // pinned at create, then loaded, in order
}

// GatewayServers reads the MCP servers the double recorded for sbx sandbox name under root
// ($FAKECLI_ROOT): whether it was created in static mode, and the servers pinned or loaded. Tests use it
// to see what the code under test asked sbx for.
func GatewayServers(root, name string) (static bool, servers []string, err error) {
	b, err := os.ReadFile(filepath.Join(root, "sbx", name, "mcp.json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	var g gateway
	err = json.Unmarshal(b, &g)
	return g.Static, g.Servers, err
}

func (e *env) gatewayPath(name string) string { return filepath.Join(e.dir(name), "mcp.json") }

func (e *env) saveGateway(name string, g gateway) error {
	b, _ := json.MarshalIndent(g, "", "  ")
	tmp := e.gatewayPath(name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, e.gatewayPath(name))
}

func (e *env) loadGateway(name string) (gateway, error) {
	var g gateway
	b, err := os.ReadFile(e.gatewayPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	return g, json.Unmarshal(b, &g)
}

// createMCPFlags adds --static-mcp to sbx create's flags from v0.38 on.
func (e *env) createMCPFlags(specs []flagSpec) []flagSpec {
	if e.prog == "sbx" && e.atLeast(sbxMCP) {
		specs = append(specs, flagSpec{long: "static-mcp", kind: listFlag})
	}
	return specs
}

// staticMCP resolves create's --static-mcp values (comma lists, repeatable) against the registry. Called
// with the lock held, before anything is created: an unregistered name creates nothing.
func (e *env) staticMCP(values []string) ([]string, error) {
	var names []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	var recs []mcpRec
	if err := e.loadStore("mcp", &recs); err != nil {
		return nil, err
	}
	for _, n := range names {
		if !slices.ContainsFunc(recs, func(r mcpRec) bool { return r.Name == n }) {
			return nil, fmt.Errorf("MCP server %q is not registered: register it with 'sbx mcp add %s' first", n, n)
		}
	}
	return names, nil
}

func (e *env) mcp(args []string) int {
	if !e.atLeast(sbxMCP) {
		return e.usage(usagef("unknown command \"mcp\" for \"sbx\""), "sbx")
	}
	if len(args) == 0 {
		return e.usage(usagef("\"sbx mcp\" requires a subcommand: add, auth, inspect, load, ls, rm"), "sbx mcp")
	}
	sub, rest := args[0], args[1:]
	cmdPath := "sbx mcp " + sub
	specs := map[string][]flagSpec{
		"add": {{long: "url", kind: stringFlag}, {long: "command", kind: stringFlag}, {long: "args", kind: stringFlag},
			{long: "dir", kind: stringFlag}, {long: "local", kind: boolFlag}, {long: "header", kind: listFlag},
			{long: "scope", kind: listFlag}, {long: "client-id", kind: stringFlag}, {long: "oauth-authorization-server", kind: stringFlag},
			{long: "skip-auth", kind: boolFlag}, {long: "skip-ssrf-check", kind: boolFlag}},
		"ls":   {},
		"load": {{long: "sandbox", kind: stringFlag}},
		"rm":   {},
	}[sub]
	if specs == nil && sub != "ls" && sub != "rm" {
		return e.usage(usagef("unknown command %q for \"sbx mcp\"", sub), "sbx mcp")
	}
	p, err := parseFlags(specs, rest, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if want := map[string]int{"add": 1, "ls": 0, "load": 1, "rm": 1}[sub]; len(p.args) != want {
		return e.usage(usagef("%q accepts %d arg(s), received %d", cmdPath, want, len(p.args)), cmdPath)
	}
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	defer unlock()
	var recs []mcpRec
	if err := e.loadStore("mcp", &recs); err != nil {
		return e.fail("%v", err)
	}
	idx := -1
	if len(p.args) == 1 {
		idx = slices.IndexFunc(recs, func(r mcpRec) bool { return r.Name == p.args[0] })
	}
	switch sub {
	case "ls":
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tURL/COMMAND")
		for _, r := range recs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Type, cmp.Or(r.URL, strings.Join(append([]string{r.Command}, r.Args...), " ")))
		}
		tw.Flush()
		return 0
	case "add":
		r, err := newMCPRec(p)
		if err != nil {
			return e.usage(err, cmdPath)
		}
		if idx >= 0 {
			return e.fail("MCP server %q is already registered: remove it first with 'sbx mcp rm %s'", r.Name, r.Name)
		}
		if err := e.saveStore("mcp", append(recs, r)); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintf(e.stdout, "MCP server %q registered (type: %s)\n", r.Name, r.Type)
		return 0
	case "rm":
		if idx < 0 {
			return e.fail("MCP server %q is not registered", p.args[0])
		}
		if err := e.saveStore("mcp", slices.Delete(recs, idx, idx+1)); err != nil {
			return e.fail("%v", err)
		}
		fmt.Fprintf(e.stdout, "MCP server %q removed\n", p.args[0])
		return 0
	}
	return e.mcpLoad(p.args[0], p.str("sandbox", ""), idx >= 0, cmdPath)
}

// mcpLoad is `sbx mcp load NAME --sandbox SANDBOX`, with the lock held.
func (e *env) mcpLoad(server, sandbox string, registered bool, cmdPath string) int {
	if sandbox == "" {
		return e.usage(usagef("required flag(s) \"sandbox\" not set"), cmdPath)
	}
	m, err := e.load(sandbox)
	if err != nil {
		return e.notFound(sandbox, err)
	}
	if !registered {
		return e.fail("add %q to sandbox %q: MCP server %q is not registered: register it with 'sbx mcp add %s' first", server, sandbox, server, server)
	}
	if m.Status != "running" {
		return e.fail("add %q to sandbox %q: sandbox is not running", server, sandbox)
	}
	g, err := e.loadGateway(sandbox)
	if err != nil {
		return e.fail("%v", err)
	}
	if !slices.Contains(g.Servers, server) {
		g.Servers = append(g.Servers, server)
		if err := e.saveGateway(sandbox, g); err != nil {
			return e.fail("%v", err)
		}
	}
	fmt.Fprintf(e.stdout, "MCP server %q loaded into sandbox %q\n", server, sandbox)
	return 0
}

// newMCPRec checks `sbx mcp add`'s arguments as mcp.md describes them.
func newMCPRec(p *parsed) (mcpRec, error) {
	r := mcpRec{Name: p.args[0], URL: p.str("url", ""), Command: p.str("command", ""), Dir: p.str("dir", ""),
		Headers: p.lists["header"], Scopes: p.lists["scope"], Type: "remote"}
	switch {
	case !mcpServerNameRE.MatchString(r.Name):
		return r, usagef("invalid MCP server name %q: names can contain letters, numbers, dots, hyphens, and underscores", r.Name)
	case (r.URL == "") == (r.Command == ""):
		return r, usagef("exactly one of --url or --command is required")
	case r.Dir != "" && r.Command == "":
		return r, usagef("--dir is only valid with --command")
	case len(r.Headers) > 0 && (r.URL == "" || p.bools["local"]):
		return r, usagef("--header requires a remote --url and can't be used with --command or --local")
	case (p.str("client-id", "") != "" || p.str("oauth-authorization-server", "") != "") && r.URL == "":
		return r, usagef("--client-id and --oauth-authorization-server are only valid with --url")
	}
	if a := p.str("args", ""); a != "" {
		r.Args = strings.Split(a, ",")
	}
	if r.Command != "" || p.bools["local"] {
		r.Type = "local"
	}
	return r, nil
}
