package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCLIStopCommandLines(t *testing.T) {
	tests := []struct {
		name    string
		sandbox string
		// want is the scripted command (nil: nothing may run); the argv after the dialect's prefix.
		want    []string
		res     Result
		err     error
		wantErr error
		wantMsg string
	}{
		{name: "stop runs stop NAME", sandbox: "box1", want: []string{"stop", "box1"}, res: out("box1\n")},
		{name: "exit 1 with not found maps to ErrNotFound", sandbox: "box1", want: []string{"stop", "box1"},
			err: exitErr(1, `Error: sandbox "box1" not found`+"\n", "x", "stop"), wantErr: ErrNotFound, wantMsg: "not found"},
		{name: "another failure keeps the CLI's words", sandbox: "box1", want: []string{"stop", "box1"},
			err: exitErr(1, "Error: failed to stop VM: the daemon is busy\n", "x", "stop"), wantMsg: "the daemon is busy"},
		{name: "a flag-like name is refused before anything runs", sandbox: "-f", wantErr: ErrInvalid, wantMsg: "flag-like"},
		{name: "an empty name is refused before anything runs", sandbox: "", wantErr: ErrInvalid, wantMsg: "flag-like"},
	}
	for _, d := range dialects {
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				var want []expect
				if tt.want != nil {
					want = []expect{{args: d.argv(tt.want...), res: tt.res, err: tt.err}}
				}
				f := newFakeRunner(t, want...)
				err := d.new(f).Stop(t.Context(), tt.sandbox)
				switch {
				case tt.wantErr == nil && tt.wantMsg == "" && err != nil:
					t.Fatalf("err = %v, want nil", err)
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				case tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)):
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantMsg)
				}
				if tt.wantErr == nil && tt.wantMsg != "" && errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v: a failure that is not a missing sandbox must not be ErrNotFound", err)
				}
			})
		}
	}
}

func TestDockerStopCommandLines(t *testing.T) {
	ours := dockerInspect("sb1", "running", "", dockerOurLabels("/ws", "exec"))
	stop := dargs("docker stop -t 5 -- sb1")
	tests := []struct {
		name    string
		opts    DockerOptions
		sandbox string
		calls   []dockerCall
		want    error
	}{
		{"stop inspects, then stops ours with a 5 s grace", DockerOptions{}, "sb1",
			[]dockerCall{{args: dargs(dockerInsp), stdout: ours}, {args: stop, stdout: "sb1\n"}}, nil},
		{"the context goes before every subcommand", DockerOptions{Context: "remote"}, "sb1", []dockerCall{
			{args: dargs("docker --context remote inspect --type container -- sb1"), stdout: ours},
			{args: dargs("docker --context remote stop -t 5 -- sb1")}}, nil},
		{"a stopped container is stopped again (docker exits 0)", DockerOptions{}, "sb1", []dockerCall{
			{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "exited", "", dockerOurLabels("/ws", "exec"))}, {args: stop}}, nil},
		{"a missing container is ErrNotFound without stop", DockerOptions{}, "sb1",
			[]dockerCall{{args: dargs(dockerInsp), stdout: "[]\n", code: 1, stderr: dockerNoSB1}}, ErrNotFound},
		{"a container we did not create is refused", DockerOptions{}, "sb1",
			[]dockerCall{{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "", map[string]string{"other": "x"})}}, ErrInvalid},
		{"a container removed between inspect and stop is ErrNotFound", DockerOptions{}, "sb1",
			[]dockerCall{{args: dargs(dockerInsp), stdout: ours}, {args: stop, code: 1, stderr: dockerNoSB1}}, ErrNotFound},
		{"the daemon going away is ErrUnavailable", DockerOptions{}, "sb1",
			[]dockerCall{{args: dargs(dockerInsp), stdout: ours}, {args: stop, code: 1, stderr: dockerDown}}, ErrUnavailable},
		{"a flag-like name is refused before anything runs", DockerOptions{}, "-t", nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewDocker(newDockerFake(t, tt.calls...), tt.opts).Stop(t.Context(), tt.sandbox)
			if !errors.Is(err, tt.want) || tt.want == nil && err != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDockerCreatedComesFromOurLabel(t *testing.T) {
	labels := dockerOurLabels("/ws", "exec")
	labels[dockerLabelCreated] = "2020-05-06T07:08:09Z"
	tests := []struct {
		name   string
		labels map[string]string
		want   time.Time
	}{
		{"our container: the created label", labels, time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)},
		{"our container without the label: the engine's time", dockerOurLabels("/ws", "exec"), time.Date(2026, 1, 2, 3, 4, 6, 123456789, time.UTC)},
		{"someone else's container: the engine's time, whatever its labels say",
			map[string]string{dockerLabelCreated: "2020-05-06T07:08:09Z"}, time.Date(2026, 1, 2, 3, 4, 6, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDockerFake(t, dockerCall{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "", tt.labels)})
			info, err := NewDocker(f, DockerOptions{}).Get(t.Context(), "sb1")
			if err != nil || !info.Created.Equal(tt.want) {
				t.Errorf("Created = %v, %v; want %v", info.Created, err, tt.want)
			}
		})
	}
}

// TestCLIIntegrationStop: on the CLI double, stop kills every process of the sandbox (as a VM shutdown
// would), ls shows it stopped, a second stop is harmless, and exec starts it again.
func TestCLIIntegrationStop(t *testing.T) {
	for _, tc := range fakeBackends(t) {
		t.Run(tc.b.Name(), func(t *testing.T) {
			ctx, b, ws := t.Context(), tc.b, t.TempDir()
			if _, err := b.Create(ctx, Spec{Name: "it-halt", Workspace: ws}); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(ws, "pid")
			if _, err := b.Exec(ctx, "it-halt", ExecSpec{Args: []string{"sh", "-c", `echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 300`, pidFile},
				Detach: true}); err != nil {
				t.Fatal(err)
			}
			pid := waitPID(t, pidFile)
			if !processAlive(pid) {
				t.Fatalf("the detached process %d is not running", pid)
			}

			if err := b.Stop(ctx, "it-halt"); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if !waitUntil(5*time.Second, func() bool { return !processAlive(pid) }) {
				t.Errorf("process %d survived stop", pid)
			}
			if got, err := b.Get(ctx, "it-halt"); err != nil || got.Status != StatusStopped {
				t.Errorf("after stop: got %+v, %v, want stopped", got, err)
			}
			if err := b.Stop(ctx, "it-halt"); err != nil {
				t.Errorf("second stop: %v, want nil", err)
			}

			res, err := b.Exec(ctx, "it-halt", ExecSpec{Args: []string{"echo", "again"}})
			if err != nil || string(res.Stdout) != "again\n" {
				t.Errorf("exec after stop: %q, %v", res.Stdout, err)
			}
			if got, err := b.Get(ctx, "it-halt"); err != nil || got.Status != StatusRunning {
				t.Errorf("after exec: got %+v, %v, want running", got, err)
			}
			if err := b.Stop(ctx, "it-none"); !errors.Is(err, ErrNotFound) {
				t.Errorf("stop of a missing sandbox: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestDockerEngineStop: a stopped container is started again by Exec; containers not ours are refused.
func TestDockerEngineStop(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none", Transport: "exec"})
	name, ctx := dockerTestName(t), t.Context()
	if _, err := d.Create(ctx, Spec{Name: name, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Stop(ctx, name); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop: %v", time.Since(start))
	if got, err := d.Get(ctx, name); err != nil || got.Status != StatusStopped {
		t.Errorf("after stop: %+v, %v; want stopped", got, err)
	}
	if err := d.Stop(ctx, name); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if res, err := d.Exec(ctx, name, ExecSpec{Args: []string{"echo", "up"}}); err != nil || string(res.Stdout) != "up\n" {
		t.Errorf("exec after stop: %q, %v", res.Stdout, err)
	}
	if got, err := d.Get(ctx, name); err != nil || got.Status != StatusRunning {
		t.Errorf("after exec: %+v, %v; want running", got, err)
	}

	stranger := dockerTestName(t)
	dockerCLI(t, "run", "-d", "--init", "--network", "none", "--name", stranger, "--entrypoint", "sleep", image, "infinity")
	if err := d.Stop(ctx, stranger); !errors.Is(err, ErrInvalid) {
		t.Errorf("stop of a container not ours: %v, want ErrInvalid", err)
	}
	if got := strings.TrimSpace(dockerCLI(t, "inspect", "--format", "{{.State.Status}}", stranger)); got != "running" {
		t.Errorf("the container not ours is %s, want running", got)
	}
	if err := d.Stop(ctx, "t-no-such-container"); !errors.Is(err, ErrNotFound) {
		t.Errorf("stop of a missing container: %v, want ErrNotFound", err)
	}
}

// waitPID waits for a process to write its pid into path.
func waitPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	if !waitUntil(10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}) {
		t.Fatalf("no pid in %s", path)
	}
	return pid
}

// processAlive reports whether pid runs (a zombie waiting to be reaped counts as dead).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

func waitUntil(d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}
