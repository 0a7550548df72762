package sandbox

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// expect is one scripted command: the exact argv, and what the fake runner answers.
type expect struct {
	args []string
	res  Result
	err  error
}

// fakeRunner answers exact argv with scripted results, in order of expectation; the argv is the contract with
// the CLI. An unexpected argv fails the test, and so does, at cleanup, an expectation nobody used.
type fakeRunner struct {
	t    *testing.T
	mu   sync.Mutex
	want []expect
	used []bool
	got  []Cmd // every Cmd received, in order
}

func newFakeRunner(t *testing.T, want ...expect) *fakeRunner {
	t.Helper()
	f := &fakeRunner{t: t, want: want, used: make([]bool, len(want))}
	t.Cleanup(func() {
		for i, u := range f.used {
			if !u {
				t.Errorf("expected command never ran: %q", f.want[i].args)
			}
		}
	})
	return f
}

func (f *fakeRunner) Run(_ context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, c)
	for i, w := range f.want {
		if !f.used[i] && slices.Equal(w.args, c.Args) {
			f.used[i] = true
			return w.res, w.err
		}
	}
	f.t.Errorf("unexpected command: %q", c.Args)
	return Result{}, errors.New("fakeRunner: unexpected command")
}

// exitErr is what the real runner returns for a non-zero exit.
func exitErr(code int, stderr string, args ...string) *ExitError {
	return &ExitError{Args: args, Code: code, Stderr: stderr}
}

func out(s string) Result { return Result{Stdout: []byte(s)} }

// dialectCase builds one of the two backends over a runner; pre prefixes argv with its command path.
type dialectCase struct {
	name string
	pre  []string
	new  func(Runner) Backend
}

func (d dialectCase) argv(a ...string) []string { return append(slices.Clone(d.pre), a...) }

var dialects = []dialectCase{
	{"sbx", []string{"sbx"}, func(r Runner) Backend { return NewSbx(r, SbxOptions{}) }},
	{"docker-sandbox", []string{"docker", "sandbox"}, func(r Runner) Backend { return NewDockerSandbox(r, DockerSandboxOptions{}) }},
}

const lsBox1 = `{"vms":[{"name":"box1","agent":"claude","status":"running","workspaces":["/w"]}]}`

func TestCommandLines(t *testing.T) {
	create := func(spec Spec) func(context.Context, Backend) error {
		return func(ctx context.Context, b Backend) error { _, err := b.Create(ctx, spec); return err }
	}
	tests := []struct {
		name string
		op   func(context.Context, Backend) error
		// want returns the exact commands for one dialect; pull is its pull flag, rm its rm argv.
		want func(d dialectCase, pull string) []expect
	}{
		{"check probes with version, never --help",
			func(ctx context.Context, b Backend) error { return b.Check(ctx) },
			func(d dialectCase, _ string) []expect { return []expect{{args: d.argv("version")}} }},
		{"create passes name, pull policy, agent and workspace (no --), then lists",
			create(Spec{Name: "box1", Workspace: "/w"}),
			func(d dialectCase, pull string) []expect {
				return []expect{
					{args: d.argv("create", "--name", "box1", pull, "missing", "claude", "/w")},
					{args: d.argv("ls", "--json"), res: out(lsBox1)},
				}
			}},
		{"create with agent and template",
			create(Spec{Name: "box1", Workspace: "/w", Agent: "codex", Template: "my/tpl:1"}),
			func(d dialectCase, pull string) []expect {
				return []expect{
					{args: d.argv("create", "--name", "box1", pull, "missing", "-t", "my/tpl:1", "codex", "/w")},
					{args: d.argv("ls", "--json"), res: out(lsBox1)},
				}
			}},
		{"a template the operator did not allow is never pulled",
			create(Spec{Name: "box1", Workspace: "/w", Template: "evil.example/x:1", NoPull: true}),
			func(d dialectCase, pull string) []expect {
				return []expect{
					{args: d.argv("create", "--name", "box1", pull, "never", "-t", "evil.example/x:1", "claude", "/w")},
					{args: d.argv("ls", "--json"), res: out(lsBox1)},
				}
			}},
		{"list reads ls --json",
			func(ctx context.Context, b Backend) error { _, err := b.List(ctx); return err },
			func(d dialectCase, _ string) []expect {
				return []expect{{args: d.argv("ls", "--json"), res: out(`{}`)}}
			}},
		{"get reads ls --json",
			func(ctx context.Context, b Backend) error { _, err := b.Get(ctx, "box1"); return err },
			func(d dialectCase, _ string) []expect {
				return []expect{{args: d.argv("ls", "--json"), res: out(lsBox1)}}
			}},
		{"exec without options puts the command right after the name",
			func(ctx context.Context, b Backend) error {
				_, err := b.Exec(ctx, "box1", ExecSpec{Args: []string{"ls", "-la"}})
				return err
			},
			func(d dialectCase, _ string) []expect { return []expect{{args: d.argv("exec", "box1", "ls", "-la")}} }},
		{"exec with stdin, workdir and env",
			func(ctx context.Context, b Backend) error {
				_, err := b.Exec(ctx, "box1", ExecSpec{Args: []string{"sh", "-c", "echo $FOO"}, Stdin: strings.NewReader("x"),
					Workdir: "/w/sub", Env: []string{"FOO=bar baz", "ANTHROPIC_API_KEY"}})
				return err
			},
			func(d dialectCase, _ string) []expect {
				return []expect{{args: d.argv("exec", "-i", "-w", "/w/sub", "-e", "FOO=bar baz", "-e", "ANTHROPIC_API_KEY",
					"box1", "sh", "-c", "echo $FOO")}}
			}},
		{"remove",
			func(ctx context.Context, b Backend) error { return b.Remove(ctx, "box1") },
			func(d dialectCase, _ string) []expect {
				if d.name == "sbx" {
					return []expect{{args: d.argv("rm", "-f", "box1")}} // sbx ≥ 0.29 prompts without -f
				}
				return []expect{{args: d.argv("rm", "box1")}} // the plugin's rm has no flags
			}},
	}
	for _, d := range dialects {
		pull := map[string]string{"sbx": "--pull", "docker-sandbox": "--pull-template"}[d.name]
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				r := newFakeRunner(t, tt.want(d, pull)...)
				if err := tt.op(t.Context(), d.new(r)); err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
			})
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		b    func(Runner) Backend
		spec Spec
		want []string
	}{
		{"sbx binary, template, pull and agent from options",
			func(r Runner) Backend {
				return NewSbx(r, SbxOptions{Binary: "/opt/sbx", Template: "tpl", Pull: "never", Agent: "shell"})
			},
			Spec{Name: "box1", Workspace: "/w"},
			[]string{"/opt/sbx", "create", "--name", "box1", "--pull", "never", "-t", "tpl", "shell", "/w"}},
		{"spec template and agent win over options",
			func(r Runner) Backend { return NewSbx(r, SbxOptions{Template: "tpl", Agent: "shell"}) },
			Spec{Name: "box1", Workspace: "/w", Template: "other", Agent: "codex"},
			[]string{"sbx", "create", "--name", "box1", "--pull", "missing", "-t", "other", "codex", "/w"}},
		{"sbx without workspace creates a mountless sandbox",
			func(r Runner) Backend { return NewSbx(r, SbxOptions{}) },
			Spec{Name: "box1"},
			[]string{"sbx", "create", "--name", "box1", "--pull", "missing", "claude"}},
		{"docker-sandbox binary and pull policy from options",
			func(r Runner) Backend {
				return NewDockerSandbox(r, DockerSandboxOptions{Binary: "/usr/local/bin/docker", PullTemplate: "never", Template: "t:1"})
			},
			Spec{Name: "box1", Workspace: "/w"},
			[]string{"/usr/local/bin/docker", "sandbox", "create", "--name", "box1", "--pull-template", "never", "-t", "t:1", "claude", "/w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The read-back uses the same command path as create.
			ls := append(slices.Clone(tt.want[:slices.Index(tt.want, "create")]), "ls", "--json")
			r := newFakeRunner(t, expect{args: tt.want}, expect{args: ls, res: out(lsBox1)})
			got, err := tt.b(r).Create(t.Context(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "box1" {
				t.Errorf("got name %q, want box1", got.Name)
			}
		})
	}
}

// TestExecPassesStreamsThrough checks the Cmd beyond argv: stdin, stdout and timeout go to the runner, and
// Env stays nil so `-e NAME` reads secrets from the runner's base environment.
func TestExecPassesStreamsThrough(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			r := newFakeRunner(t, expect{args: d.argv("exec", "-i", "box1", "cat"), res: Result{Stderr: []byte("warn")}})
			stdin, stdout := strings.NewReader("hi"), &strings.Builder{}
			res, err := d.new(r).Exec(t.Context(), "box1", ExecSpec{Args: []string{"cat"}, Stdin: stdin, Stdout: stdout, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(res.Stderr), "warn"; got != want {
				t.Errorf("got stderr %q, want %q", got, want)
			}
			c := r.got[0]
			if c.Stdin != io.Reader(stdin) || c.Stdout != io.Writer(stdout) || c.Timeout != time.Minute || c.Env != nil {
				t.Errorf("got Cmd{Stdin:%v Stdout:%v Timeout:%v Env:%q}, want the spec's streams, 1m and nil Env", c.Stdin, c.Stdout, c.Timeout, c.Env)
			}
		})
	}
}

func TestInfoFromList(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			r := newFakeRunner(t, expect{args: d.argv("ls", "--json"), res: out(lsBox1)})
			got, err := d.new(r).Get(t.Context(), "box1")
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Name: "box1", Backend: d.name, Status: StatusRunning, Agent: "claude", Workspaces: []string{"/w"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseLsJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Info
	}{
		{"plugin vms with socket and count",
			`{"vms":[{"name":"claude-vm","agent":"claude","status":"running","socket_path":"/s.sock","sandbox_count":2,"workspaces":["/a","/b"]},
			        {"name":"gemini-vm","agent":"gemini","status":"stopped","sandbox_count":0}]}`,
			[]Info{{Name: "claude-vm", Agent: "claude", Status: StatusRunning, Workspaces: []string{"/a", "/b"}},
				{Name: "gemini-vm", Agent: "gemini", Status: StatusStopped}}},
		{"sbx sandboxes with ports and a drifting id",
			`{"sandboxes":[{"id":"7f0c","name":"b1","agent":"codex","status":"running","workspaces":["/w"],"ports":[{"host_ip":"127.0.0.1","host_port":1,"sandbox_port":2,"protocol":"tcp"}]}]}`,
			[]Info{{Name: "b1", Agent: "codex", Status: StatusRunning, Workspaces: []string{"/w"}}}},
		{"empty list under sandboxes (plugin quirk)", `{"sandboxes":[]}`, []Info{}},
		{"empty vms", `{"vms":[]}`, []Info{}},
		{"missing key", `{}`, []Info{}},
		{"null lists", `{"vms":null,"sandboxes":null}`, []Info{}},
		{"unknown fields everywhere are ignored",
			`{"version":3,"vms":[{"name":"b1","status":"running","future":{"x":[1]},"cpus":4}]}`,
			[]Info{{Name: "b1", Status: StatusRunning}}},
		{"status other than running is stopped",
			`{"vms":[{"name":"b1","status":"exited"},{"name":"b2"},{"name":"b3","status":"Running"}]}`,
			[]Info{{Name: "b1", Status: StatusStopped}, {Name: "b2", Status: StatusStopped}, {Name: "b3", Status: StatusRunning}}},
		{"a field of the wrong type is skipped, the rest kept",
			`{"sandboxes":[{"name":"b1","status":"running","workspaces":"/w","agent":7}]}`,
			[]Info{{Name: "b1", Status: StatusRunning}}},
		{"entries without a name are dropped", `{"vms":[{"status":"running"},{"name":"b1"}]}`, []Info{{Name: "b1", Status: StatusStopped}}},
		{"bare array", `[{"name":"b1","status":"running"}]`, []Info{{Name: "b1", Status: StatusRunning}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLsJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "not json", "\x00\xff{\"vms\":[", `{"vms":{"name":"x"}}`, `"text"`} {
		if _, err := parseLsJSON([]byte(bad)); err == nil {
			t.Errorf("parseLsJSON(%q): got nil error, want one", bad)
		}
	}
}

func TestParseLsTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Info
	}{
		{"plugin table with several workspaces and none",
			"SANDBOX                        AGENT    STATUS    WORKSPACE\n" +
				"claude-sbox                    claude   running   /Users/me/work/sbox, /Users/me/docs\n" +
				"claude-substreams-benchmarks   claude   stopped   -\n",
			[]Info{{Name: "claude-sbox", Agent: "claude", Status: StatusRunning, Workspaces: []string{"/Users/me/work/sbox", "/Users/me/docs"}},
				{Name: "claude-substreams-benchmarks", Agent: "claude", Status: StatusStopped}}},
		{"sbx table with a PORTS column and a path with a space",
			"SANDBOX   AGENT   STATUS    PORTS                     WORKSPACE\n" +
				"b1        codex   running   127.0.0.1:1->2/tcp        /home/me/my repo\n" +
				"b2        shell   exited    -                         -\n",
			[]Info{{Name: "b1", Agent: "codex", Status: StatusRunning, Workspaces: []string{"/home/me/my repo"}},
				{Name: "b2", Agent: "shell", Status: StatusStopped}}},
		{"an empty cell falls back to the header's column offsets",
			"SANDBOX   AGENT   STATUS    PORTS   WORKSPACE\n" +
				"b1        codex   running           /w\n",
			[]Info{{Name: "b1", Agent: "codex", Status: StatusRunning, Workspaces: []string{"/w"}}}},
		{"header only is an empty list", "SANDBOX   AGENT   STATUS   WORKSPACE\n", []Info{}},
		{"columns found by name in another order, CRLF",
			"\r\nSTATUS    NAME   WORKSPACES\r\nrunning   b1     /w\r\n",
			[]Info{{Name: "b1", Status: StatusRunning, Workspaces: []string{"/w"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLsTable([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "\n\n", "garbage \x00\xff", "ID  STATE\n1  up\n"} {
		if _, err := parseLsTable([]byte(bad)); err == nil {
			t.Errorf("parseLsTable(%q): got nil error, want one", bad)
		}
	}
}

// TestListFallsBackToTable: garbage JSON or a build without --json lead to plain `ls`; other failures do not.
func TestListFallsBackToTable(t *testing.T) {
	table := out("SANDBOX   AGENT    STATUS    WORKSPACE\nb1        claude   running   /w\n")
	for _, d := range dialects {
		tests := []struct {
			name    string
			want    []expect
			wantErr bool
		}{
			{"garbage with exit 0", []expect{{args: d.argv("ls", "--json"), res: out("\x00\xff{\"vms\":[ not json")}, {args: d.argv("ls"), res: table}}, false},
			{"old build without --json",
				[]expect{{args: d.argv("ls", "--json"), err: exitErr(2, "Error: unknown flag: --json\nSee '--help'.", d.argv("ls", "--json")...)},
					{args: d.argv("ls"), res: table}}, false},
			{"other failure is returned, no fallback",
				[]expect{{args: d.argv("ls", "--json"), err: exitErr(1, "Error: daemon not running", d.argv("ls", "--json")...)}}, true},
			{"garbage from both is an error",
				[]expect{{args: d.argv("ls", "--json"), res: out("???")}, {args: d.argv("ls"), res: out("???")}}, true},
		}
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				got, err := d.new(newFakeRunner(t, tt.want...)).List(t.Context())
				if tt.wantErr {
					if err == nil {
						t.Fatalf("got %+v, want an error", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := []Info{{Name: "b1", Backend: d.name, Agent: "claude", Status: StatusRunning, Workspaces: []string{"/w"}}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestErrorMapping: CLI failures become sentinels where the text is recognisable; everything else keeps the
// CLI's own words, and exec's inner exit statuses reach the caller as the runner's *ExitError.
func TestErrorMapping(t *testing.T) {
	spec := Spec{Name: "box1", Workspace: "/w"}
	tests := []struct {
		name     string
		op       func(context.Context, Backend) error
		cmd      func(d dialectCase) []string // the failing command; nil when nothing may run
		err      func(args []string) error
		sentinel error  // errors.Is must hold; nil: none of ours may match
		text     string // the message must contain it
		code     int    // non-zero: errors.As(*ExitError) must give this code
	}{
		{"create name clash (leaked daemon Conflict) is ErrExists", createOp(spec), createArgv,
			runErr(1, `Error: failed to create sandbox: create/start VM: container create: Error response from daemon: Conflict. The container name "/box1" is already in use by container "abc".`),
			ErrExists, "already in use", 1},
		{"create invalid VM name is ErrInvalid", createOp(spec), createArgv,
			runErr(1, `Error: create/start VM: POST VM create failed: status 400: {"message":"invalid VM name: VM name can only contain alphanumeric characters, hyphens, and underscores"}`),
			ErrInvalid, "invalid VM name", 1},
		{"create without workspace on 4.58.0 is ErrInvalid", createOp(spec), createArgv,
			runErr(1, "agent 'claude' requires a workspace path"), ErrInvalid, "requires a workspace path", 1},
		{"create pull failure keeps the CLI text", createOp(spec), createArgv,
			runErr(1, `Error: failed to create sandbox: failed to pull template "my/tpl": no such host`), nil, `failed to pull template "my/tpl"`, 1},
		{"create refuses a flag-like name before running anything", createOp(Spec{Name: "-rf", Workspace: "/w"}), nil, nil, ErrInvalid, "flag-like", 0},
		{"exec in a missing sandbox is ErrNotFound", execOp(ExecSpec{Args: []string{"true"}}), execArgv,
			runErr(1, `Error: sandbox "box1" not found`), ErrNotFound, "not found", 1},
		{"exec inner 'No such file' naming the sandbox is not ErrNotFound", execOp(ExecSpec{Args: []string{"true"}}), execArgv,
			runErr(1, "cat: /w/box1/f: No such file or directory"), nil, "No such file", 1},
		{"exec inner 'not found' with exit 127 is the inner status", execOp(ExecSpec{Args: []string{"true"}}), execArgv,
			runErr(127, "sh: 1: box1: not found"), nil, "exit status 127", 127},
		{"exec zombie VM says to remove and recreate", execOp(ExecSpec{Args: []string{"true"}}), execArgv,
			runErr(1, "Error: failed to start VM: create SDK client: socket path is empty"), nil, "remove the sandbox and create it again", 1},
		{"exec bad env entry is refused", execOp(ExecSpec{Args: []string{"true"}, Env: []string{"--privileged"}}), nil, nil, ErrInvalid, "env entry", 0},
		{"exec relative workdir is refused", execOp(ExecSpec{Args: []string{"true"}, Workdir: "sub"}), nil, nil, ErrInvalid, "absolute", 0},
		{"exec without a command is refused", execOp(ExecSpec{}), nil, nil, ErrInvalid, "no command", 0},
		{"rm of a missing sandbox is ErrNotFound", func(ctx context.Context, b Backend) error { return b.Remove(ctx, "box1") }, rmArgv,
			runErr(1, `Error: sandbox "box1" not found`), ErrNotFound, "box1", 1},
		{"get of an unlisted sandbox is ErrNotFound", func(ctx context.Context, b Backend) error { _, err := b.Get(ctx, "nope"); return err },
			func(d dialectCase) []string { return d.argv("ls", "--json") }, nil, ErrNotFound, "nope", 0},
		{"a context deadline stays a context error", execOp(ExecSpec{Args: []string{"true"}}), execArgv,
			func([]string) error { return context.DeadlineExceeded }, context.DeadlineExceeded, "deadline", 0},
	}
	for _, d := range dialects {
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				var want []expect
				if tt.cmd != nil {
					w := expect{args: tt.cmd(d), res: out(`{"vms":[]}`)}
					if tt.err != nil {
						w.err = tt.err(w.args)
					}
					want = append(want, w)
				}
				err := tt.op(t.Context(), d.new(newFakeRunner(t, want...)))
				if err == nil {
					t.Fatal("got nil error, want one")
				}
				for _, s := range []error{ErrNotFound, ErrExists, ErrInvalid, ErrUnavailable, context.DeadlineExceeded} {
					if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
						t.Errorf("errors.Is(%q, %v) = %v, want %v", err, s, got, want)
					}
				}
				if !strings.Contains(err.Error(), tt.text) {
					t.Errorf("got %q, want it to contain %q", err, tt.text)
				}
				var ee *ExitError
				if got := errors.As(err, &ee); got != (tt.code != 0) || (got && ee.Code != tt.code) {
					t.Errorf("errors.As(*ExitError) = %v (%v), want code %d", got, ee, tt.code)
				}
			})
		}
	}
}

// TestExecReturnsExitErrorUnchanged: callers read the inner status from the very *ExitError the runner gave.
func TestExecReturnsExitErrorUnchanged(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			ee := exitErr(7, "", execArgv(d)...)
			_, err := d.new(newFakeRunner(t, expect{args: execArgv(d), err: ee})).Exec(t.Context(), "box1", ExecSpec{Args: []string{"true"}})
			if err != error(ee) {
				t.Errorf("got %#v, want the runner's *ExitError itself", err)
			}
		})
	}
}

func createOp(spec Spec) func(context.Context, Backend) error {
	return func(ctx context.Context, b Backend) error { _, err := b.Create(ctx, spec); return err }
}

func execOp(spec ExecSpec) func(context.Context, Backend) error {
	return func(ctx context.Context, b Backend) error { _, err := b.Exec(ctx, "box1", spec); return err }
}

func createArgv(d dialectCase) []string {
	pull := map[string]string{"sbx": "--pull", "docker-sandbox": "--pull-template"}[d.name]
	return d.argv("create", "--name", "box1", pull, "missing", "claude", "/w")
}

func execArgv(d dialectCase) []string { return d.argv("exec", "box1", "true") }

func rmArgv(d dialectCase) []string {
	if d.name == "sbx" {
		return d.argv("rm", "-f", "box1")
	}
	return d.argv("rm", "box1")
}

// runErr scripts the runner's *ExitError for a failing command.
func runErr(code int, stderr string) func([]string) error {
	return func(args []string) error { return exitErr(code, stderr, args...) }
}
