package fakecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests run the double the way other packages will: the test binary is
// symlinked as sbx/docker by Install, found through PATH, and re-entered via
// Dispatch in TestMain.

var binDir string

func TestMain(m *testing.M) {
	Dispatch()
	dir, err := os.MkdirTemp("", "fakecli-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := Install(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type fixture struct {
	t         *testing.T
	root      string // FAKECLI_ROOT
	templates string // FAKECLI_TEMPLATES
	work      string // a workspace dir named "proj"
	env       []string
}

type result struct {
	stdout, stderr string
	code           int
}

// newFixture gives each test its own state dir and a template
// "sandbox-mcp/test:latest" with an executable, a symlink and a 0640 file.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{t: t, root: filepath.Join(base, "state"), templates: filepath.Join(base, "tpl"), work: filepath.Join(base, "proj")}
	tpl := filepath.Join(f.templates, "sandbox-mcp_test_latest")
	for _, d := range []string{f.root, f.work, filepath.Join(tpl, "bin"), filepath.Join(tpl, "etc")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(tpl, "bin", "hello"), []byte("#!/bin/sh\necho hello from template \"$@\"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(tpl, "etc", "motd"), []byte("motd\n"), 0o640))
	must(t, os.Symlink("hello", filepath.Join(tpl, "bin", "hi")))
	f.env = []string{"PATH=" + os.Getenv("PATH"), "FAKECLI_ROOT=" + f.root, "FAKECLI_TEMPLATES=" + f.templates}
	// Even a failed test must not leak exec'd processes: kill every
	// registered group, as rm would.
	t.Cleanup(func() {
		for _, prog := range []string{"sbx", "docker"} {
			e := &env{root: filepath.Join(f.root, prog)}
			all, _ := e.list()
			for _, m := range all {
				e.killAll(m.Name)
			}
		}
	})
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runEnv runs prog with the fixture env plus extra, stdin and a deadline.
func (f *fixture) runEnv(ctx context.Context, stdin string, extra []string, prog string, args ...string) result {
	f.t.Helper()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(append([]string{}, f.env...), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatalf("%s %v: %v", prog, args, err)
	}
	return r
}

func (f *fixture) run(prog string, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.runEnv(ctx, "", nil, prog, args...)
}

// ok runs a command that must succeed and returns its stdout.
func (f *fixture) ok(prog string, args ...string) string {
	f.t.Helper()
	r := f.run(prog, args...)
	if r.code != 0 {
		f.t.Fatalf("%s %v: exit %d, stderr %q", prog, args, r.code, r.stderr)
	}
	return r.stdout
}

// sb prefixes "sandbox" for the docker plugin so tables can cover both CLIs.
func sb(prog string, args ...string) []string {
	if prog == "docker" {
		return append([]string{"sandbox"}, args...)
	}
	return args
}

func TestCreateAndList(t *testing.T) {
	for _, prog := range []string{"sbx", "docker"} {
		t.Run(prog, func(t *testing.T) {
			f := newFixture(t)
			out := f.ok(prog, sb(prog, "create", "-t", "sandbox-mcp/test:latest", "claude", f.work)...)
			if want := "Creating new sandbox 'claude-proj'...\n✓ Created sandbox claude-proj\n"; out != want {
				t.Errorf("create stdout = %q, want %q", out, want)
			}
			root := filepath.Join(f.root, prog, "claude-proj", "root")
			if st, err := os.Stat(filepath.Join(root, "etc", "motd")); err != nil || st.Mode().Perm() != 0o640 {
				t.Errorf("motd copy: %v %v, want mode 0640", st, err)
			}
			if l, err := os.Readlink(filepath.Join(root, "bin", "hi")); err != nil || l != "hello" {
				t.Errorf("symlink copy: %q %v, want hello", l, err)
			}
			f.ok(prog, sb(prog, "create", "--name", "other", "shell", f.work)...)

			// sbx ≥ 0.48 prints a bare array; the plugin {"vms":[…]}.
			var got struct {
				VMs []map[string]any `json:"vms"`
			}
			var list []map[string]any
			if out := f.ok(prog, sb(prog, "ls", "--json")...); prog == "sbx" {
				must(t, json.Unmarshal([]byte(out), &list))
			} else {
				must(t, json.Unmarshal([]byte(out), &got))
				list = got.VMs
			}
			if len(list) != 2 || list[0]["name"] != "claude-proj" || list[1]["name"] != "other" || list[0]["status"] != "running" {
				t.Fatalf("ls --json = %+v", got)
			}
			if ws := list[0]["workspaces"].([]any); len(ws) != 1 || ws[0] != f.work {
				t.Errorf("workspaces = %v, want [%s]", ws, f.work)
			}
			_, hasSocket := list[0]["socket_path"]
			if want := prog == "docker"; hasSocket != want {
				t.Errorf("socket_path present = %v, want %v", hasSocket, want)
			}

			if got, want := f.ok(prog, sb(prog, "ls", "-q")...), "claude-proj\nother\n"; got != want {
				t.Errorf("ls -q = %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSpace(f.ok(prog, sb(prog, "ls")...)), "\n")
			header := map[string]string{"sbx": "SANDBOX AGENT STATUS PORTS WORKSPACE", "docker": "SANDBOX AGENT STATUS WORKSPACE"}[prog]
			cols := regexp.MustCompile(`\s{2,}`)
			if got := strings.Join(cols.Split(lines[0], -1), " "); got != header {
				t.Errorf("header = %q, want %q", got, header)
			}
			row := cols.Split(lines[1], -1)
			if got, want := row[len(row)-1], f.work; len(lines) != 3 || got != want {
				t.Errorf("table %q: workspace %q, want %q", lines, got, want)
			}
		})
	}
}

func TestListEmpty(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ prog, header string }{
		{"sbx", "SANDBOX   AGENT   STATUS   PORTS   WORKSPACE\n"},
		{"docker", "SANDBOX   AGENT   STATUS   WORKSPACE\n"},
	} {
		if tc.prog == "sbx" {
			if out := f.ok("sbx", "ls", "--json"); strings.TrimSpace(out) != "[]" {
				t.Errorf("sbx ls --json = %q, want []", out)
			}
			if r := f.runEnv(context.Background(), "", []string{"FAKECLI_SBX_VERSION=0.47.0"}, "sbx", "ls", "--json"); strings.Join(strings.Fields(r.stdout), "") != `{"sandboxes":[]}` {
				t.Errorf("sbx 0.47 ls --json = %q, want {\"sandboxes\":[]}", r.stdout)
			}
		} else {
			var got map[string]any
			must(t, json.Unmarshal([]byte(f.ok(tc.prog, sb(tc.prog, "ls", "--json")...)), &got))
			// The plugin's documented quirk: "sandboxes", not "vms", when empty.
			if l, ok := got["sandboxes"].([]any); !ok || len(l) != 0 || len(got) != 1 {
				t.Errorf("%s ls --json = %v, want {\"sandboxes\":[]}", tc.prog, got)
			}
		}
		if got := f.ok(tc.prog, sb(tc.prog, "ls")...); got != tc.header {
			t.Errorf("%s ls = %q, want %q", tc.prog, got, tc.header)
		}
	}
}

func TestCreateErrors(t *testing.T) {
	f := newFixture(t)
	f.ok("sbx", "create", "--name", "taken", "shell", f.work)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // substring of stderr
	}{
		{"plugin needs workspace", []string{"docker", "sandbox", "create", "claude"}, 2, "requires at least 2"},
		{"unknown flag", []string{"sbx", "create", "--bogus", "claude"}, 2, "unknown flag: --bogus"},
		{"plugin has no --pull", []string{"docker", "sandbox", "create", "--pull", "never", "claude", f.work}, 2, "unknown flag: --pull"},
		{"unknown agent", []string{"sbx", "create", "clippy", f.work}, 1, `invalid agent "clippy"`},
		{"gemini retired in sbx", []string{"sbx", "create", "gemini", f.work}, 1, "invalid agent"},
		{"plugin bad name", []string{"docker", "sandbox", "create", "--name", "a b", "claude", f.work}, 1, "invalid VM name"},
		{"sbx underscore", []string{"sbx", "create", "--name", "a_b", "claude", f.work}, 1, "invalid VM name"},
		{"sbx too short", []string{"sbx", "create", "--name", "a", "claude", f.work}, 1, "invalid VM name"},
		{"conflict", []string{"sbx", "create", "--name", "taken", "claude", f.work}, 1, `Conflict. The container name "/taken" is already in use`},
		{"missing workspace", []string{"sbx", "create", "claude", filepath.Join(f.work, "nope")}, 1, "invalid workspace"},
		{"never pull", []string{"sbx", "create", "--pull", "never", "-t", "my/img:1", "claude", f.work}, 1, `template "my/img:1" not found locally`},
		{"offline pull", []string{"docker", "sandbox", "create", "-t", "my/img:1", "claude", f.work}, 1, `failed to pull template "my/img:1": dial tcp: lookup registry-1.docker.io: no such host`},
		{"bad policy", []string{"sbx", "create", "--pull", "sometimes", "claude", f.work}, 1, "invalid pull policy"},
		{"ro conflict", []string{"sbx", "create", "claude", f.work, f.work + ":ro", f.work}, 1, "conflicting read-only settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(tc.args[0], tc.args[1:]...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want %d containing %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
	if got, want := f.ok("sbx", "ls", "-q"), "taken\n"; got != want {
		t.Errorf("failed creates left state: ls -q = %q, want %q", got, want)
	}
}

func TestCreateDefaults(t *testing.T) {
	f := newFixture(t)
	odd := filepath.Join(filepath.Dir(f.work), "My_Repo.v2")
	must(t, os.Mkdir(odd, 0o755))
	for _, tc := range []struct {
		prog string
		args []string
		want string // the created name
	}{
		// Stock templates that are not provided create an empty root.
		{"docker", []string{"claude", f.work}, "claude-proj"},
		{"docker", []string{"claude", f.work}, "claude-proj-1"},
		{"docker", []string{"shell", odd}, "shell-my_repo.v2"},
		{"sbx", []string{"shell", odd}, "shell-my-repo.v2"},
		{"sbx", []string{"cagent"}, "docker-agent-sandbox"},
	} {
		out := f.ok(tc.prog, sb(tc.prog, append([]string{"create"}, tc.args...)...)...)
		if !strings.Contains(out, "✓ Created sandbox "+tc.want+"\n") {
			t.Errorf("%s create %v: stdout %q, want name %s", tc.prog, tc.args, out, tc.want)
		}
	}
	// -q is silent; relative workspaces are made absolute.
	cmd := exec.Command("docker", "sandbox", "create", "-q", "--name", "quiet", "shell", ".")
	cmd.Env, cmd.Dir = f.env, f.work
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Errorf("create -q: %q %v, want silence", out, err)
	}
	m, err := (&env{root: filepath.Join(f.root, "docker")}).load("quiet")
	if err != nil || len(m.Workspaces) != 1 || m.Workspaces[0] != f.work || m.Template != "docker/sandbox-templates:shell" {
		t.Errorf("meta = %+v, %v; want workspace %s and stock shell template", m, err, f.work)
	}
}
