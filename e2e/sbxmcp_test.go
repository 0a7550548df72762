package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestSbxMCPRegistrations names the operator's sbx MCP registrations for sandboxes on the sbx double: a new
// sandbox is created with exactly that set pinned (--static-mcp) and the record says so; a name that is not
// registered, or is no plain name, is one line and nothing is created; a reused sandbox gets the missing ones
// loaded (`sbx mcp load`); other backends refuse the parameter in one line that says what to use instead.
func TestSbxMCPRegistrations(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	for _, n := range []string{"notion", "linear", "github"} {
		if err := testkit.RunFake(bin, env, "mcp", "add", n, "--url", "https://"+n+".example/mcp"); err != nil {
			t.Fatal(err)
		}
	}
	h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
	root := env["FAKECLI_ROOT"]
	ws := t.TempDir()

	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "sbx_mcp": []string{"notion", "linear", "notion"}}, &sb)
	if !slices.Equal(sb.SbxMCP, []string{"notion", "linear"}) {
		t.Errorf("create_sandbox sbx_mcp = %v", sb.SbxMCP)
	}
	if static, servers, err := fakecli.GatewayServers(root, sb.Name); err != nil || !static || !slices.Equal(servers, []string{"notion", "linear"}) {
		t.Errorf("sbx recorded static=%v servers=%v (%v), want the pinned set notion, linear", static, servers, err)
	}
	var rec struct {
		SbxMCP       []string `json:"sbx_mcp"`
		SbxMCPStatic bool     `json:"sbx_mcp_static"`
	}
	data, err := os.ReadFile(filepath.Join(h.State, "sandboxes", sb.Name+".json"))
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil || !rec.SbxMCPStatic || !slices.Equal(rec.SbxMCP, []string{"notion", "linear"}) {
		t.Errorf("sandbox record = %+v (%v), want the pinned set", rec, err)
	}

	before := len(sandboxList(t, bin, env))
	for _, tc := range []struct {
		args map[string]any
		want []string
	}{
		{map[string]any{"workspace": t.TempDir(), "sbx_mcp": []string{"notion", "ghost"}},
			[]string{`sbx MCP server "ghost" is not registered`, "registered: notion, linear, github", "sbx mcp add ghost"}},
		{map[string]any{"workspace": t.TempDir(), "sbx_mcp": []string{"--url=https://evil.example"}}, []string{"is not an sbx MCP server name"}},
		{map[string]any{"workspace": t.TempDir(), "sbx_mcp": []string{"a,b"}}, []string{"is not an sbx MCP server name"}},
		{map[string]any{"workspace": t.TempDir(), "backend": "docker-sandbox", "sbx_mcp": []string{"notion"}},
			[]string{"only the sbx backend", "on docker-sandbox", "create_session's mcp_servers"}},
		{map[string]any{"workspace": t.TempDir(), "backend": "docker", "sbx_mcp": []string{"notion"}},
			[]string{"only the sbx backend", "on docker", "create_session's mcp_servers"}},
	} {
		msg := h.Fails("create_sandbox", tc.args)
		for _, w := range tc.want {
			if !strings.Contains(msg, w) || strings.Contains(msg, "\n") {
				t.Errorf("%v: %q, want one line with %q", tc.args, msg, w)
			}
		}
	}
	if after := len(sandboxList(t, bin, env)); after != before {
		t.Errorf("refused calls created sandboxes: %d before, %d after", before, after)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "docker")); len(entries) != 0 {
		t.Errorf("the docker-sandbox refusal left %d entries", len(entries))
	}

	// The same sandbox again: its pinned set stays, github is loaded into the running gateway.
	var again manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": sb.Name, "sbx_mcp": []string{"linear", "github"}}, &again)
	if !again.Reused || !slices.Equal(again.SbxMCP, []string{"notion", "linear", "github"}) {
		t.Errorf("reused create_sandbox = %+v", again)
	}
	if static, servers, _ := fakecli.GatewayServers(root, sb.Name); !static || !slices.Equal(servers, []string{"notion", "linear", "github"}) {
		t.Errorf("after reuse sbx recorded static=%v servers=%v", static, servers)
	}
	// Without sbx_mcp, a reuse reports what is attached and loads nothing.
	var third manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": sb.Name}, &third)
	if !slices.Equal(third.SbxMCP, []string{"notion", "linear", "github"}) {
		t.Errorf("third create_sandbox sbx_mcp = %v", third.SbxMCP)
	}
}

// sandboxList is `sbx ls --json` on the double.
func sandboxList(t *testing.T, bin string, env map[string]string) []struct{ Name string } {
	t.Helper()
	var v []struct{ Name string }
	if err := json.Unmarshal(fakeOut(t, bin, env, "ls", "--json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSbxMCPWithAutoBackend: with --backend auto (the default) detecting sbx, sbx_mcp reaches sbx too.
// Before, create_sandbox held the auto-detecting wrapper, which is no MCP gateway, and refused the names as
// "only the sbx backend" on sbx itself.
func TestSbxMCPWithAutoBackend(t *testing.T) {
	env, bin := testkit.FakeEnv(t)
	if err := testkit.RunFake(bin, env, "mcp", "add", "notion", "--url", "https://notion.example/mcp"); err != nil {
		t.Fatal(err)
	}
	h := startServer(t, testkit.SandboxArgs(t, "auto", bin), env)
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": t.TempDir(), "sbx_mcp": []string{"notion"}}, &sb)
	if sb.Backend != "sbx" || !slices.Equal(sb.SbxMCP, []string{"notion"}) {
		t.Errorf("create_sandbox = backend %q, sbx_mcp %v; want sbx with notion", sb.Backend, sb.SbxMCP)
	}
	if static, servers, err := fakecli.GatewayServers(env["FAKECLI_ROOT"], sb.Name); err != nil || !static || !slices.Equal(servers, []string{"notion"}) {
		t.Errorf("sbx recorded static=%v servers=%v (%v), want notion pinned", static, servers, err)
	}
}
