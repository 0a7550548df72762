package sandbox

// Integration tests of the sbx and docker-sandbox backends through the real runner (Exec) against
// internal/fakecli, the test double of both CLIs: this test binary, symlinked as `sbx` and `docker`,
// impersonates them (style guide rule 19). The unit tests pin argv; these pin that the argv works.

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
)

// TestMain lets this binary run as the fake CLIs. It is the package's only TestMain: other tests that
// need impersonated CLIs share it.
func TestMain(m *testing.M) {
	fakecli.Dispatch()
	os.Exit(m.Run())
}

// fakeWorld installs the fakes and returns a runner whose base environment points them at a fresh state
// dir, plus the fake bin dir. mode is FAKECLI_DOCKER_SANDBOX.
func fakeWorld(t *testing.T, mode string) (*Exec, string, string) {
	t.Helper()
	bin, root := t.TempDir(), t.TempDir()
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	return &Exec{
		// Exec resolves argv[0] with the test process's PATH, so the backends get absolute binaries; PATH
		// here is what the fake CLIs themselves see.
		Env: []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKECLI_ROOT=" + root,
			"FAKECLI_DOCKER_SANDBOX=" + mode, "SECRET_TOKEN=s3cret"},
		Timeout: 30 * time.Second,
	}, bin, root
}

func fakeBackends(t *testing.T) []struct {
	b    Backend
	prog string // the fake's state subdirectory
	r    *Exec
	root string
} {
	r, bin, root := fakeWorld(t, "present")
	return []struct {
		b    Backend
		prog string
		r    *Exec
		root string
	}{
		{NewSbx(r, SbxOptions{Binary: filepath.Join(bin, "sbx")}), "sbx", r, root},
		{NewDockerSandbox(r, DockerSandboxOptions{Binary: filepath.Join(bin, "docker")}), "docker", r, root},
	}
}

func TestCLIIntegrationLifecycle(t *testing.T) {
	for _, tc := range fakeBackends(t) {
		t.Run(tc.b.Name(), func(t *testing.T) {
			ctx, b, ws := t.Context(), tc.b, t.TempDir()
			if err := b.Check(ctx); err != nil {
				t.Fatalf("check: %v", err)
			}
			created, err := b.Create(ctx, Spec{Name: "it-box", Workspace: ws})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			want := Info{Name: "it-box", Backend: b.Name(), Status: StatusRunning, Agent: "claude", Workspaces: []string{ws}}
			if got, err := b.Get(ctx, "it-box"); err != nil || !equalInfo(got, want) || !equalInfo(created, want) {
				t.Fatalf("get: got %+v, %v (create gave %+v), want %+v", got, err, created, want)
			}
			if _, err := b.Create(ctx, Spec{Name: "it-box", Workspace: ws}); !errors.Is(err, ErrExists) {
				t.Errorf("second create: got %v, want ErrExists", err)
			}
			if _, err := b.Create(ctx, Spec{Name: "it-bad", Workspace: ws, Agent: "nope"}); !errors.Is(err, ErrInvalid) {
				t.Errorf("create with unknown agent: got %v, want ErrInvalid", err)
			}
			list, err := b.List(ctx)
			if err != nil || len(list) != 1 || !equalInfo(list[0], want) {
				t.Fatalf("list: got %+v, %v, want [%+v]", list, err, want)
			}

			execTests := []struct {
				name     string
				spec     ExecSpec
				stdout   string
				wantCode int
			}{
				{"env by value", ExecSpec{Args: []string{"sh", "-c", "echo $FOO"}, Env: []string{"FOO=bar"}}, "bar\n", 0},
				{"env by name from the runner's environment", ExecSpec{Args: []string{"sh", "-c", "echo $SECRET_TOKEN"}, Env: []string{"SECRET_TOKEN"}}, "s3cret\n", 0},
				{"stdin with -i", ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("hello\n")}, "hello\n", 0},
				{"workdir", ExecSpec{Args: []string{"pwd"}, Workdir: ws}, ws + "\n", 0},
				{"inner exit code", ExecSpec{Args: []string{"sh", "-c", "echo out; exit 7"}}, "out\n", 7},
				{"missing command is 127", ExecSpec{Args: []string{"no-such-command-xyz"}}, "", 127},
			}
			for _, et := range execTests {
				res, err := b.Exec(ctx, "it-box", et.spec)
				var ee *ExitError
				switch {
				case et.wantCode == 0 && err != nil:
					t.Errorf("exec %s: %v", et.name, err)
				case et.wantCode != 0 && (!errors.As(err, &ee) || ee.Code != et.wantCode):
					t.Errorf("exec %s: got %v, want exit status %d", et.name, err, et.wantCode)
				}
				if got := string(res.Stdout); got != et.stdout {
					t.Errorf("exec %s: got stdout %q, want %q", et.name, got, et.stdout)
				}
			}
			var streamed strings.Builder
			if _, err := b.Exec(ctx, "it-box", ExecSpec{Args: []string{"echo", "streamed"}, Stdout: &streamed}); err != nil || streamed.String() != "streamed\n" {
				t.Errorf("exec with Stdout: got %q, %v, want %q", streamed.String(), err, "streamed\n")
			}
			if _, err := b.Exec(ctx, "it-none", ExecSpec{Args: []string{"true"}}); !errors.Is(err, ErrNotFound) {
				t.Errorf("exec in a missing sandbox: got %v, want ErrNotFound", err)
			}

			if err := b.Remove(ctx, "it-box"); err != nil {
				t.Fatalf("remove: %v", err)
			}
			if _, err := b.Get(ctx, "it-box"); !errors.Is(err, ErrNotFound) {
				t.Errorf("get after remove: got %v, want ErrNotFound", err)
			}
			if err := b.Remove(ctx, "it-box"); !errors.Is(err, ErrNotFound) {
				t.Errorf("second remove: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestCLIIntegrationStoppedAndZombie: a stopped sandbox lists as stopped (the plugin then hides its
// workspaces, §8) and exec restarts it (§6); a zombie VM yields the recreate advice.
func TestCLIIntegrationStoppedAndZombie(t *testing.T) {
	for _, tc := range fakeBackends(t) {
		t.Run(tc.b.Name(), func(t *testing.T) {
			ctx, b := t.Context(), tc.b
			if _, err := b.Create(ctx, Spec{Name: "it-stop", Workspace: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			if _, err := tc.r.Run(ctx, Cmd{Args: coreOf(b).argv("stop", "it-stop")}); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, "it-stop")
			if err != nil || got.Status != StatusStopped || (tc.prog == "docker") != (got.Workspaces == nil) {
				t.Errorf("after stop: got %+v, %v, want stopped (workspaces hidden only by the plugin)", got, err)
			}
			if _, err := b.Exec(ctx, "it-stop", ExecSpec{Args: []string{"true"}}); err != nil {
				t.Errorf("exec in a stopped sandbox: %v", err)
			}

			meta := filepath.Join(tc.root, tc.prog, "it-stop", "meta.json")
			data, err := os.ReadFile(meta)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), "{", `{"zombie": true,`, 1))
			if err := os.WriteFile(meta, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = b.Exec(ctx, "it-stop", ExecSpec{Args: []string{"true"}})
			if err == nil || !strings.Contains(err.Error(), "remove the sandbox and create it again") {
				t.Errorf("exec in a zombie: got %v, want the recreate advice", err)
			}
		})
	}
}

func TestCLIIntegrationCheckModes(t *testing.T) {
	tests := []struct {
		mode, want string
	}{
		{"absent", "plugin is not installed"},
		{"removed", "removed in Docker Desktop 4.80"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			r, bin, _ := fakeWorld(t, tt.mode)
			ds := NewDockerSandbox(r, DockerSandboxOptions{Binary: filepath.Join(bin, "docker")})
			err := ds.Check(t.Context())
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrUnavailable with %q", err, tt.want)
			}
			sbx := NewSbx(r, SbxOptions{Binary: filepath.Join(bin, "sbx")})
			got, err := Detect(t.Context(), ds, sbx)
			if err != nil || got.Name() != "sbx" {
				t.Errorf("detect: got %v, %v, want sbx", got, err)
			}
		})
	}
	t.Run("sbx not installed", func(t *testing.T) {
		err := NewSbx(&Exec{}, SbxOptions{Binary: "sbx-not-installed-here"}).Check(t.Context())
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not installed or not on PATH") ||
			!strings.Contains(err.Error(), "brew install docker/tap/sbx") {
			t.Errorf("got %v, want ErrUnavailable with the install hint", err)
		}
	})
}

func equalInfo(a, b Info) bool {
	return a.Name == b.Name && a.Backend == b.Backend && a.Status == b.Status && a.Agent == b.Agent &&
		slices.Equal(a.Workspaces, b.Workspaces)
}

// coreOf reaches the shared core, to run a subcommand no Backend method exposes (stop).
func coreOf(b Backend) *cli {
	switch b := b.(type) {
	case *Sbx:
		return &b.c
	case *DockerSandbox:
		return &b.c
	}
	panic("not a Docker Sandboxes backend")
}
