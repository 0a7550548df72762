package sandbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// sbx's MCP gateway: the exact argv of each operation, and every refusal made before anything runs.

func TestSbxMCPCommandLines(t *testing.T) {
	sbx := dialects[0]
	const table = "NAME                 TYPE     URL/COMMAND\n" +
		"notion               remote   https://mcp.notion.com/mcp\n\n" +
		"play_wright.v2       local    npx @playwright/mcp@latest\n" +
		"-flaglike            remote   https://x.example\n" +
		"notion               remote   https://dup.example\n"
	tests := []struct {
		name string
		op   func(context.Context, *Sbx) error
		want []expect
	}{
		{"create pins the set with one comma list before the agent",
			func(ctx context.Context, b *Sbx) error {
				_, err := b.Create(ctx, Spec{Name: "box1", Workspace: "/w", StaticMCP: []string{"notion", "play_wright.v2"}})
				return err
			},
			[]expect{
				{args: sbx.argv("create", "--name", "box1", "--pull", "missing", "--static-mcp", "notion,play_wright.v2", "claude", "/w")},
				{args: sbx.argv("ls", "--json"), res: out(lsBox1)},
			}},
		{"mcp ls is read by its NAME column; rows that are no name are skipped",
			func(ctx context.Context, b *Sbx) error {
				names, err := b.MCPServers(ctx)
				if err == nil && !slices.Equal(names, []string{"notion", "play_wright.v2"}) {
					t.Errorf("names = %q", names)
				}
				return err
			},
			[]expect{{args: sbx.argv("mcp", "ls"), res: out(table)}}},
		{"an empty registry, whatever its message, lists nothing",
			func(ctx context.Context, b *Sbx) error {
				names, err := b.MCPServers(ctx)
				if len(names) != 0 {
					t.Errorf("names = %q", names)
				}
				return err
			},
			[]expect{{args: sbx.argv("mcp", "ls"), res: out("No MCP servers registered. Use 'sbx mcp add' to add one.\n")}}},
		{"load names the sandbox by flag and the server after --",
			func(ctx context.Context, b *Sbx) error { return b.LoadMCP(ctx, "box1", "notion") },
			[]expect{{args: sbx.argv("mcp", "load", "--sandbox", "box1", "--", "notion")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(t.Context(), NewSbx(newFakeRunner(t, tt.want...), SbxOptions{})); err != nil {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestSbxMCPLoadErrors(t *testing.T) {
	load := sbxArgv("mcp", "load", "--sandbox", "box1", "--", "notion")
	for _, tc := range []struct {
		stderr   string
		notFound bool
		want     string
	}{
		{"ERROR: no sandbox named 'box1'\nTo create one:\n  sbx create AGENT WORKSPACE\n", true, "no sandbox named"},
		{`ERROR: add "notion" to sandbox "box1": add MCP gateway server: request failed: 502 Bad Gateway`, false, `add "notion" to sandbox "box1"`},
	} {
		r := newFakeRunner(t, expect{args: load, err: exitErr(1, tc.stderr, load...)})
		err := NewSbx(r, SbxOptions{}).LoadMCP(t.Context(), "box1", "notion")
		if errors.Is(err, ErrNotFound) != tc.notFound || err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sbx mcp load notion") {
			t.Errorf("%q: got %v", tc.stderr, err)
		}
	}
}

func sbxArgv(a ...string) []string { return dialects[0].argv(a...) }

// Names that are not plain sbx MCP names, too many names, a backend without the gateway and an sbx older
// than 0.38 are refused before any command runs (the runner expects none).
func TestSbxMCPRefusals(t *testing.T) {
	long := strings.Repeat("a", 65)
	many := make([]string, MaxMCPServers+1)
	for i := range many {
		many[i] = "s" + strings.Repeat("x", i)
	}
	for _, names := range [][]string{{"-x"}, {"--sandbox=other"}, {"a,b"}, {""}, {"a b"}, {"."}, {"_x"}, {"n\x00"}, {long}, many} {
		_, err := NewSbx(newFakeRunner(t), SbxOptions{}).Create(t.Context(), Spec{Name: "box1", Workspace: "/w", StaticMCP: names})
		if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "\n") {
			t.Errorf("create with %q: got %v, want one line wrapping ErrInvalid", names, err)
		}
	}
	for _, c := range []struct{ sandbox, server string }{{"box1", "-x"}, {"box1", "a,b"}, {"-box", "notion"}, {"", "notion"}} {
		if err := NewSbx(newFakeRunner(t), SbxOptions{}).LoadMCP(t.Context(), c.sandbox, c.server); !errors.Is(err, ErrInvalid) {
			t.Errorf("load %q into %q: got %v", c.server, c.sandbox, err)
		}
	}
	_, err := NewDockerSandbox(newFakeRunner(t), DockerSandboxOptions{}).Create(t.Context(), Spec{Name: "box1", Workspace: "/w", StaticMCP: []string{"notion"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "only sbx") {
		t.Errorf("docker-sandbox create with StaticMCP: got %v", err)
	}
	_, err = NewDocker(newFakeRunner(t), DockerOptions{}).Create(t.Context(), Spec{Name: "box1", Workspace: "/w", StaticMCP: []string{"notion"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "only on the sbx backend") {
		t.Errorf("docker create with StaticMCP: got %v", err)
	}

	// sbx 0.37 has no `sbx mcp`: after `version`, nothing else runs.
	old := NewSbx(newFakeRunner(t, expect{args: sbxArgv("version"), res: out("sbx version v0.37.0 abc\n")}), SbxOptions{})
	if err := old.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := old.MCPServers(t.Context()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "upgrade sbx") {
		t.Errorf("MCPServers on 0.37: got %v", err)
	}
	if err := old.LoadMCP(t.Context(), "box1", "notion"); !errors.Is(err, ErrInvalid) {
		t.Errorf("LoadMCP on 0.37: got %v", err)
	}
	if _, err := old.Create(t.Context(), Spec{Name: "box1", Workspace: "/w", StaticMCP: []string{"notion"}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "0.38.0") {
		t.Errorf("create --static-mcp on 0.37: got %v", err)
	}
}
