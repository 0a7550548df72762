package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The CLI-surface table (docs/upstream/sbx-cli.json) against every argv the sbx and docker-sandbox backends
// produce: each backend runs its operations on the double at several CLI versions through a recording
// runner, and every recorded argv must be a command, flags and argument count the table lists for that
// version (and no flag the CLI refuses, such as sbx's exec -d).

type surfaceFlag struct {
	Long, Short, Versions string
	Value                 bool
	Supported             *bool
}

type surfaceCmd struct {
	CLI, Command, Versions string
	Args                   [2]int
	Interspersed           *bool
	DoubleDash             *bool `json:"double_dash"`
	Flags                  []surfaceFlag
}

func loadSurface(t *testing.T) []surfaceCmd {
	b, err := os.ReadFile(filepath.Join("..", "docs", "upstream", "sbx-cli.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Commands []surfaceCmd }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Commands
}

// inRange checks a version against "a,b" constraints like ">=0.21.0,<0.48.0".
func inRange(v, constraints string) bool {
	for _, c := range strings.Split(constraints, ",") {
		c = strings.TrimSpace(c)
		op := c[:len(c)-len(strings.TrimLeft(c, "<>="))]
		want := strings.TrimPrefix(c, op)
		cv := &cliVersion{}
		cv.set([]byte(v))
		_, ge := cv.atLeast(want)
		switch op {
		case ">=":
			if !ge {
				return false
			}
		case "<":
			if ge {
				return false
			}
		}
	}
	return true
}

// checkArgv validates one argv (after the CLI prefix) against the table at version v.
func checkArgv(t *testing.T, table []surfaceCmd, cli, v string, argv []string) {
	t.Helper()
	var cmd *surfaceCmd
	rest := argv
	for i := range table {
		c := &table[i]
		words := strings.Fields(c.Command)
		if c.CLI == cli && len(argv) >= len(words) && slices.Equal(argv[:len(words)], words) && (cmd == nil || len(words) > len(strings.Fields(cmd.Command))) {
			cmd, rest = c, argv[len(words):]
		}
	}
	if cmd == nil {
		t.Errorf("%s %q: no such command in the table", cli, argv)
		return
	}
	if !inRange(v, cmd.Versions) {
		t.Errorf("%s %q: %s exists for %s, not %s", cli, argv, cmd.Command, cmd.Versions, v)
	}
	interspersed := cmd.Interspersed == nil || *cmd.Interspersed
	var pos []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			if cmd.DoubleDash != nil && !*cmd.DoubleDash {
				t.Errorf("%s %q: `--` is not to be used with %s", cli, argv, cmd.Command)
			}
			pos = append(pos, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			if !interspersed {
				pos = append(pos, rest[i+1:]...)
				break
			}
			continue
		}
		var f *surfaceFlag
		for j := range cmd.Flags {
			if cmd.Flags[j].Long == a || (cmd.Flags[j].Short != "" && cmd.Flags[j].Short == a) {
				f = &cmd.Flags[j]
			}
		}
		switch {
		case f == nil:
			t.Errorf("%s %q: flag %s is not in the table for %s", cli, argv, a, cmd.Command)
		case f.Supported != nil && !*f.Supported:
			t.Errorf("%s %q: %s refuses %s", cli, argv, cli, a)
		case !inRange(v, f.Versions):
			t.Errorf("%s %q: %s exists for %s, not %s", cli, argv, a, f.Versions, v)
		}
		if f != nil && f.Value {
			i++
		}
	}
	if len(pos) < cmd.Args[0] || (cmd.Args[1] >= 0 && len(pos) > cmd.Args[1]) {
		t.Errorf("%s %q: %d arguments, the table allows %v", cli, argv, len(pos), cmd.Args)
	}
}

// recorder runs commands through the real runner (on the double) and keeps every argv.
type recorder struct {
	r    Runner
	mu   sync.Mutex
	args [][]string
}

func (r *recorder) Run(ctx context.Context, c Cmd) (Result, error) {
	r.mu.Lock()
	r.args = append(r.args, slices.Clone(c.Args))
	r.mu.Unlock()
	return r.r.Run(ctx, c)
}

func TestCLISurface(t *testing.T) {
	table := loadSurface(t)
	for _, tc := range []struct {
		cli, version string
	}{{"sbx", "0.53.0"}, {"sbx", "0.47.0"}, {"sbx", "0.36.0"}, {"docker sandbox", "0.12.0"}, {"docker sandbox", "0.7.1"}} {
		t.Run(tc.cli+"@"+tc.version, func(t *testing.T) {
			ex, bin, _ := fakeWorld(t, "present")
			ex.Env = append(ex.Env, "FAKECLI_SBX_VERSION="+tc.version, "FAKECLI_PLUGIN_VERSION="+tc.version, "FAKECLI_AUTOSTOP=off")
			rec := &recorder{r: ex}
			ctx, ws := t.Context(), t.TempDir()
			var b Backend
			prefix := 1
			if tc.cli == "sbx" {
				b = NewSbx(rec, SbxOptions{Binary: filepath.Join(bin, "sbx"), Pull: "never", Template: "t", AgentPort: freeTestPort(t), StateDir: t.TempDir(), BaseEnv: ex.Env})
			} else {
				b, prefix = NewDockerSandbox(rec, DockerSandboxOptions{Binary: filepath.Join(bin, "docker"), PullTemplate: "never", Template: "t"}), 2
			}
			os.MkdirAll(filepath.Join(filepath.Dir(bin), "tpl", "t"), 0o755)
			ex.Env = append(ex.Env, "FAKECLI_TEMPLATES="+filepath.Join(filepath.Dir(bin), "tpl"))
			if err := b.Check(ctx); err != nil {
				t.Fatal(err)
			}
			spec := Spec{Name: "surf", Workspace: ws, AgentEnv: []string{"A=1"}}
			// sbx's MCP gateway (sbx_mcp.go), from 0.38: servers registered behind our back, as an operator would.
			mcp := tc.cli == "sbx" && inRange(tc.version, ">="+SbxMCPVersion)
			if mcp {
				for _, n := range []string{"notion", "linear"} {
					if _, err := ex.Run(ctx, Cmd{Args: []string{filepath.Join(bin, "sbx"), "mcp", "add", n, "--url", "https://" + n + ".example/mcp"}}); err != nil {
						t.Fatal(err)
					}
				}
				spec.StaticMCP = []string{"notion"}
			}
			if _, err := b.Create(ctx, spec); err != nil {
				t.Fatal(err)
			}
			if gw, ok := b.(MCPGateway); ok && mcp {
				if names, err := gw.MCPServers(ctx); err != nil || !slices.Equal(names, []string{"notion", "linear"}) {
					t.Fatalf("MCPServers = %v, %v", names, err)
				}
				if err := gw.LoadMCP(ctx, "surf", "linear"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Exec(ctx, "surf", ExecSpec{Args: []string{"true"}, Workdir: ws, Env: []string{"X=1", "SECRET_TOKEN"}, Stdin: strings.NewReader("")}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Exec(ctx, "surf", ExecSpec{Args: []string{"sleep", "30"}, Detach: true}); err != nil {
				t.Fatal(err)
			}
			if as, ok := b.(AgentServer); ok {
				// No sandbox-agent in this template: the held exec fails; the argv still counts.
				_, _, _ = as.AgentEndpoint(ctx, "surf")
			}
			if np, ok := b.(NetworkPolicy); ok {
				if err := np.AllowHosts(ctx, "surf", []string{"registry.npmjs.org", "github.com"}); err != nil {
					t.Fatal(err)
				}
				if allowed, known := np.HostAllowed(ctx, "surf", "github.com"); known && !allowed {
					t.Error("policy check: github.com denied right after it was allowed")
				}
			}
			if sb, ok := b.(*Sbx); ok {
				if _, err := sb.SecretServices(ctx, "surf"); err != nil {
					t.Fatal(err)
				}
			}
			if sb, ok := b.(*Sbx); ok && sb.NativeClone() && os.Geteuid() == 0 {
				// sbx --clone (the double needs root for it, and a repository).
				repo := t.TempDir()
				cmd := exec.Command("sh", "-c", "cd \"$1\" && git init -q && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m x", "sh", repo)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git: %v: %s", err, out)
				}
				if _, err := b.Create(ctx, Spec{Name: "surfc", Workspace: repo, Clone: true}); err != nil {
					t.Fatal(err)
				}
				if err := b.Remove(ctx, "surfc"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.List(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Stop(ctx, "surf"); err != nil {
				t.Fatal(err)
			}
			if err := b.Remove(ctx, "surf"); err != nil {
				t.Fatal(err)
			}
			if err := b.Remove(ctx, "surf"); err == nil {
				t.Fatal("second remove succeeded")
			}
			if c, ok := b.(interface{ Close() error }); ok {
				c.Close()
			}
			for _, a := range rec.args {
				checkArgv(t, table, tc.cli, tc.version, a[prefix:])
			}
			t.Logf("%d argv checked", len(rec.args))
		})
	}
}

func freeTestPort(t *testing.T) int {
	return 20000 + int(uint16(os.Getpid()))%20000 + len(t.Name())
}
