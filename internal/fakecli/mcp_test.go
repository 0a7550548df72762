package fakecli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `sbx mcp` and create --static-mcp as documented (mcp.go names the sources).

func TestSbxMCPRegistry(t *testing.T) {
	f := newFixture(t)
	if out := f.ok("sbx", "mcp", "add", "notion", "--url", "https://mcp.notion.com/mcp"); out != "MCP server \"notion\" registered (type: remote)\n" {
		t.Errorf("add notion = %q", out)
	}
	f.ok("sbx", "mcp", "add", "play_wright.v2", "--command", "npx", "--args", "@playwright/mcp@latest")
	out := f.ok("sbx", "mcp", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[0] != "NAME" || !slices.Equal(strings.Fields(lines[0]), []string{"NAME", "TYPE", "URL/COMMAND"}) ||
		!slices.Equal(strings.Fields(lines[1]), []string{"notion", "remote", "https://mcp.notion.com/mcp"}) ||
		!slices.Equal(strings.Fields(lines[2])[:3], []string{"play_wright.v2", "local", "npx"}) {
		t.Errorf("mcp ls =\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"add", "bad name", "--url", "https://x.example/mcp"}, 2, "letters, numbers, dots, hyphens, and underscores"},
		{[]string{"add", "x", "--url", "https://x.example/mcp", "--command", "npx"}, 2, "exactly one of --url or --command"},
		{[]string{"add", "x"}, 2, "exactly one of --url or --command"},
		{[]string{"add", "x", "--url", "https://x.example/mcp", "--dir", "/srv"}, 2, "--dir is only valid with --command"},
		{[]string{"add", "x", "--command", "npx", "--header", "Authorization: Bearer ${k}"}, 2, "--header requires a remote --url"},
		{[]string{"add", "notion", "--url", "https://mcp.notion.com/mcp"}, 1, "already registered"},
		{[]string{"rm", "ghost"}, 1, "not registered"},
		{[]string{"ls", "--json"}, 2, "unknown flag: --json"}, // "ls/inspect print tables, no --json"
		{[]string{"frob"}, 2, "unknown command"},
	} {
		if r := f.run("sbx", append([]string{"mcp"}, tc.args...)...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("mcp %q = %+v, want exit %d with %q", tc.args, r, tc.code, tc.want)
		}
	}
	f.ok("sbx", "mcp", "rm", "notion")
	if out := f.ok("sbx", "mcp", "ls"); strings.Contains(out, "notion") {
		t.Errorf("after rm: %q", out)
	}
	// Before v0.38 there is no `sbx mcp` and no --static-mcp.
	old := []string{"FAKECLI_SBX_VERSION=0.37.0"}
	if r := f.runEnv(context.Background(), "", old, "sbx", "mcp", "ls"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "mcp"`) {
		t.Errorf("mcp on 0.37 = %+v", r)
	}
	if r := f.runEnv(context.Background(), "", old, "sbx", "create", "--name", "o", "--static-mcp", "play_wright.v2", "-t", "sandbox-mcp/test:latest", "shell", f.work); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --static-mcp") {
		t.Errorf("create --static-mcp on 0.37 = %+v", r)
	}
}

func TestSbxStaticMCPAndLoad(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"notion", "linear", "github"} {
		f.ok("sbx", "mcp", "add", n, "--url", "https://"+n+".example/mcp")
	}
	// A comma list and a repeated flag both count; the set is recorded as static.
	f.ok("sbx", "create", "--name", "sb", "--static-mcp", "notion,linear", "--static-mcp", "notion", "-t", "sandbox-mcp/test:latest", "shell", f.work)
	static, servers, err := GatewayServers(f.root, "sb")
	if err != nil || !static || !slices.Equal(servers, []string{"notion", "linear"}) {
		t.Fatalf("gateway after create = %v %v %v", static, servers, err)
	}
	// An unregistered name: an error, and no sandbox.
	r := f.run("sbx", "create", "--name", "sb2", "--static-mcp", "notion,ghost", "-t", "sandbox-mcp/test:latest", "shell", f.work)
	if r.code != 1 || !strings.Contains(r.stderr, `MCP server "ghost" is not registered`) {
		t.Errorf("create with ghost = %+v", r)
	}
	if _, err := os.Stat(filepath.Join(f.root, "sbx", "sb2")); !os.IsNotExist(err) {
		t.Errorf("a sandbox was left for the refused create: %v", err)
	}
	// load: into a running sandbox, idempotent, refused for an unknown server, a missing sandbox, a missing
	// --sandbox and a stopped sandbox.
	cmd, _ := held(t, f)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if out := f.ok("sbx", "mcp", "load", "github", "--sandbox", "sb"); out != "MCP server \"github\" loaded into sandbox \"sb\"\n" {
		t.Errorf("load = %q", out)
	}
	f.ok("sbx", "mcp", "load", "--sandbox", "sb", "--", "github")
	if _, servers, _ := GatewayServers(f.root, "sb"); !slices.Equal(servers, []string{"notion", "linear", "github"}) {
		t.Errorf("gateway after load = %v", servers)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ghost", "--sandbox", "sb"}, 1, `ERROR: add "ghost" to sandbox "sb": MCP server "ghost" is not registered`},
		{[]string{"github", "--sandbox", "nope"}, 1, "ERROR: no sandbox named 'nope'"},
		{[]string{"github"}, 2, `required flag(s) "sandbox" not set`},
	} {
		if r := f.run("sbx", append([]string{"mcp", "load"}, tc.args...)...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("mcp load %q = %+v, want exit %d with %q", tc.args, r, tc.code, tc.want)
		}
	}
	f.ok("sbx", "create", "--name", "dyn", "-t", "sandbox-mcp/test:latest", "shell", f.work)
	f.ok("sbx", "stop", "dyn")
	if r := f.run("sbx", "mcp", "load", "github", "--sandbox", "dyn"); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("load into a stopped sandbox = %+v", r)
	}
	if static, servers, _ := GatewayServers(f.root, "dyn"); static || servers != nil {
		t.Errorf("a sandbox without --static-mcp = %v %v, want dynamic and empty", static, servers)
	}
}
