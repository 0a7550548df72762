package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerCall is one expected docker command line and its scripted outcome.
type dockerCall struct {
	args   []string // nil accepts any command line (the test then reads dockerFakeRunner.got)
	stdout string
	stderr string
	code   int   // non-zero: the call fails with *ExitError
	err    error // returned as is (runner-level failure)
}

// dockerFakeRunner checks exact argv, in order, and fails the test on an unexpected or unused call.
type dockerFakeRunner struct {
	t      *testing.T
	mu     sync.Mutex
	calls  []dockerCall
	got    []Cmd
	stdins []string // what each call read from Cmd.Stdin (all of it, as docker exec -i would)
}

func newDockerFake(t *testing.T, calls ...dockerCall) *dockerFakeRunner {
	t.Helper()
	f := &dockerFakeRunner{t: t, calls: calls}
	t.Cleanup(func() {
		if len(f.got) < len(f.calls) {
			t.Errorf("expected command not run: %q", f.calls[len(f.got)].args)
		}
	})
	return f
}

func (f *dockerFakeRunner) Run(_ context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.got)
	f.got = append(f.got, c)
	if c.Stdin != nil {
		b, _ := io.ReadAll(c.Stdin)
		f.stdins = append(f.stdins, string(b))
	}
	if i >= len(f.calls) {
		f.t.Errorf("unexpected command %q", c.Args)
		return Result{}, &ExitError{Args: c.Args, Code: 99, Stderr: "unexpected command"}
	}
	w := f.calls[i]
	if w.args != nil && !slices.Equal(c.Args, w.args) {
		f.t.Errorf("command %d:\n got %q\nwant %q", i, c.Args, w.args)
	}
	res := Result{Stdout: []byte(w.stdout), Stderr: []byte(w.stderr)}
	switch {
	case w.err != nil:
		return res, w.err
	case w.code != 0:
		return res, &ExitError{Args: c.Args, Code: w.code, Stderr: w.stderr}
	}
	return res, nil
}

// dargs splits a command line written with single spaces (no argument holds a space).
func dargs(s string) []string { return strings.Split(s, " ") }

// dockerTestID is the full id of every container dockerInspect renders: Remove removes by it.
var dockerTestID = strings.Repeat("0123456789abcdef", 4)

// dockerVersionProbe is the engine platform probe the relay transports make once.
const dockerVersionProbe = "docker version --format {{.Server.Os}}/{{.Server.Arch}}|{{.Server.Platform.Name}}"

var dockerTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// dockerInspect renders `docker inspect` output for one container.
func dockerInspect(name, status, netMode string, labels map[string]string) string {
	c := map[string]any{
		"Id":         dockerTestID,
		"Name":       "/" + name,
		"Created":    "2026-01-02T03:04:06.123456789Z",
		"State":      map[string]any{"Status": status, "Running": status == "running"},
		"Config":     map[string]any{"Image": "img:1", "Labels": labels},
		"HostConfig": map[string]any{"NetworkMode": netMode},
	}
	b, _ := json.Marshal([]any{c})
	return string(b)
}

func dockerOurLabels(ws, transport string) map[string]string {
	return map[string]string{dockerLabelManaged: "true", dockerLabelWorkspace: ws, dockerLabelTransport: transport}
}

const (
	dockerRunPrefix = "docker run -d --init --name sb1 --hostname sb1 --label org.sandbox-mcp.managed=true " +
		"--label org.sandbox-mcp.workspace=/ws --label org.sandbox-mcp.created=2026-01-02T03:04:05Z " +
		"--label org.sandbox-mcp.version=dev "
	dockerLimits = "--cap-drop ALL --security-opt no-new-privileges --memory 4g --memory-swap 4g --cpus 2 --pids-limit 1024"
	dockerInsp   = "docker inspect --type container -- sb1"
	dockerNoSB1  = "Error response from daemon: No such container: sb1\n"
	dockerDown   = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
)

func TestDockerCreateArgv(t *testing.T) {
	running := dockerInspect("sb1", "running", "bridge", dockerOurLabels("/ws", "exec"))
	tests := []struct {
		name string
		opts DockerOptions
		spec Spec
		run  string
	}{
		{
			name: "defaults run a locked-down sleeper with the server's user",
			opts: DockerOptions{User: "1000:1000"},
			spec: Spec{Name: "sb1", Workspace: "/ws"},
			run: dockerRunPrefix + "--label org.sandbox-mcp.transport=exec --mount type=bind,source=/ws,target=/ws -w /ws " +
				"--user 1000:1000 -e HOME=/home/agent " + dockerLimits + " --pull never " +
				"--entrypoint sleep node:22-bookworm infinity",
		},
		{
			name: "every option, the template as image and the agent as a label",
			opts: DockerOptions{Binary: "/opt/docker", Context: "remote", Pull: true, Network: "none", Memory: "512m",
				CPUs: "0.5", PidsLimit: -1, CapAdd: []string{"NET_BIND_SERVICE", "CHOWN"}, ReadOnlyRoot: true,
				Home: "/root", ServerVersion: "1.2.3"},
			spec: Spec{Name: "sb1", Workspace: "/ws", Agent: "claude", Template: "registry.example:5000/team/img:v1"},
			run: "/opt/docker --context remote run -d --init --name sb1 --hostname sb1 --label org.sandbox-mcp.managed=true " +
				"--label org.sandbox-mcp.workspace=/ws --label org.sandbox-mcp.created=2026-01-02T03:04:05Z " +
				"--label org.sandbox-mcp.version=1.2.3 --label org.sandbox-mcp.transport=exec --label org.sandbox-mcp.agent=claude " +
				"--mount type=bind,source=/ws,target=/ws -w /ws -e HOME=/root --cap-drop ALL " +
				"--cap-add NET_BIND_SERVICE --cap-add CHOWN --security-opt no-new-privileges " +
				"--memory 512m --memory-swap 512m --cpus 0.5 --network none --pull missing " +
				"--read-only --tmpfs /tmp --tmpfs /root:exec,mode=1777 --entrypoint sleep registry.example:5000/team/img:v1 infinity",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = func() time.Time { return dockerTestNow }
			inspect := dockerInsp
			if tt.opts.Context != "" {
				inspect = strings.Replace(dockerInsp, "docker", tt.opts.Binary+" --context "+tt.opts.Context, 1)
			}
			// No inspect after the run: Create reports what it asked for.
			f := newDockerFake(t, dockerCall{args: dargs(tt.run), stdout: "abc123\n"})
			_, _ = inspect, running
			info, err := NewDocker(f, tt.opts).Create(t.Context(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if f.got[0].Env != nil {
				t.Errorf("exec transport set Cmd.Env %q; want the runner's base env", f.got[0].Env)
			}
			if info.Name != "sb1" || info.Status != StatusRunning || !info.Managed || !slices.Equal(info.Workspaces, []string{"/ws"}) {
				t.Errorf("info = %+v", info)
			}
		})
	}
}

func TestDockerCreateOddWorkspaceIsOneArgument(t *testing.T) {
	ws := "/home/me/my project/ü=1"
	f := newDockerFake(t)
	f.calls = []dockerCall{{}}
	_, err := NewDocker(f, DockerOptions{}).Create(t.Context(), Spec{Name: "sb1", Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	args := f.got[0].Args
	for _, want := range []string{"org.sandbox-mcp.workspace=" + ws, "type=bind,source=" + ws + ",target=" + ws, ws} {
		if !slices.Contains(args, want) {
			t.Errorf("argv %q lacks %q", args, want)
		}
	}
}

func TestDockerCreateErrors(t *testing.T) {
	run := dockerRunPrefix + "--label org.sandbox-mcp.transport=exec --mount type=bind,source=/ws,target=/ws -w /ws " +
		"-e HOME=/home/agent " + dockerLimits + " --pull never --entrypoint sleep node:22-bookworm infinity"
	other := strings.Replace(run, "node:22-bookworm", "team/own:1", 1)
	tests := []struct {
		name    string
		spec    Spec
		opts    DockerOptions
		calls   []dockerCall
		want    error
		wantMsg string
	}{
		{"name in use maps to ErrExists", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{}, []dockerCall{{args: dargs(run), code: 125,
			stderr: `docker: Error response from daemon: Conflict. The container name "/sb1" is already in use by container "3d8f". You have to remove (or rename) that container to be able to reuse that name.`}},
			ErrExists, "exists already"},
		{"a missing image that is not the default with pull never is ErrInvalid with a hint", Spec{Name: "sb1", Workspace: "/ws", Template: "team/own:1"}, DockerOptions{},
			[]dockerCall{{args: dargs(other), code: 125, stderr: "docker: Error response from daemon: No such image: team/own:1\n\nRun 'docker run --help' for more information\n"}},
			ErrInvalid, "image team/own:1 not found locally: build it (see README) or pass --docker-pull"},
		{"the default image when missing is pulled and a failed pull says so", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{},
			[]dockerCall{{args: dargs(run), code: 125, stderr: "docker: Error response from daemon: No such image: node:22-bookworm\n"},
				{args: dargs("docker pull -- node:22-bookworm"), code: 1, stderr: "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n"}},
			nil, "pulling the default image node:22-bookworm"},
		{"daemon down maps to ErrUnavailable", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{},
			[]dockerCall{{args: dargs(run), code: 1, stderr: dockerDown}}, ErrUnavailable, "set DOCKER_HOST"},
		{"CLI not installed maps to ErrUnavailable", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{},
			[]dockerCall{{args: dargs(run), err: fmt.Errorf("docker is not installed or not on PATH: %w", ErrUnavailable)}}, ErrUnavailable, ""},
		{"a container created but not started is removed", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{}, []dockerCall{
			{args: dargs(run), code: 127, stderr: `docker: Error response from daemon: failed to create shim task: OCI runtime create failed: exec: "sleep": executable file not found in $PATH`},
			{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "created", "", dockerOurLabels("/ws", "exec"))},
			{args: dargs("docker rm -f -- " + dockerTestID)},
		}, nil, "executable file not found"},
		{"comma in workspace is refused before running docker", Spec{Name: "sb1", Workspace: "/a,b"}, DockerOptions{}, nil, ErrInvalid, "without ','"},
		{"relative workspace is refused", Spec{Name: "sb1", Workspace: "ws"}, DockerOptions{}, nil, ErrInvalid, "absolute"},
		{"image that looks like a flag is refused", Spec{Name: "sb1", Workspace: "/ws", Template: "--privileged"}, DockerOptions{}, nil, ErrInvalid, "not a valid reference"},
		{"upper-case repository is refused", Spec{Name: "sb1", Workspace: "/ws", Template: "foo/Bar"}, DockerOptions{}, nil, ErrInvalid, "not a valid reference"},
		{"bad name is refused", Spec{Name: "-rm", Workspace: "/ws"}, DockerOptions{}, nil, ErrInvalid, "name"},
		{"cap-add ALL is refused", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{CapAdd: []string{"all"}}, nil, ErrInvalid, "CapAdd"},
		{"port transport without a network is refused", Spec{Name: "sb1", Workspace: "/ws"}, DockerOptions{Transport: "port", Network: "none"}, nil, ErrInvalid, "needs a network"},
		{"bad agent env is refused", Spec{Name: "sb1", Workspace: "/ws", AgentEnv: []string{"-e=1"}}, DockerOptions{Transport: "port"},
			[]dockerCall{{args: dargs(dockerVersionProbe), stdout: "linux/amd64|\n"}}, ErrInvalid, "NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = func() time.Time { return dockerTestNow }
			tt.opts.Relay = dockerTestRelay(t)
			d := NewDocker(newDockerFake(t, tt.calls...), tt.opts)
			d.checkRelay = func(string, string, string) error { return nil }
			_, err := d.Create(t.Context(), tt.spec)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v; want %v containing %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestDockerCheck(t *testing.T) {
	version := dargs("docker version --format {{.Server.Version}}")
	tests := []struct {
		name    string
		call    dockerCall
		want    error
		wantMsg string
	}{
		{"engine answers", dockerCall{args: version, stdout: "20.10.24+dfsg1\n"}, nil, ""},
		{"no engine gives ErrUnavailable with a hint", dockerCall{args: version, code: 1, stderr: dockerDown}, ErrUnavailable, "start Docker, set DOCKER_HOST or pass --docker-context"},
		{"no CLI gives ErrUnavailable with an install hint", dockerCall{args: version, err: fmt.Errorf("docker is not installed or not on PATH: %w", ErrUnavailable)}, ErrUnavailable, "install Docker Engine"},
		{"empty version is ErrUnavailable", dockerCall{args: version, stdout: "\n"}, ErrUnavailable, "no version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewDocker(newDockerFake(t, tt.call), DockerOptions{}).Check(t.Context())
			if !errors.Is(err, tt.want) || err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v; want %v containing %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestDockerGetListRemove(t *testing.T) {
	two := strings.TrimSuffix(dockerInspect("a1", "exited", "", dockerOurLabels("/x,y", "exec")), "]") + "," +
		strings.TrimPrefix(dockerInspect("b2", "running", "", dockerOurLabels("/z", "port")), "[")
	ps := dargs("docker ps -a -q --filter label=org.sandbox-mcp.managed=true")
	tests := []struct {
		name  string
		calls []dockerCall
		op    func(d *Docker) (any, error)
		want  any
		err   error
	}{
		{"get parses inspect", []dockerCall{{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "exited", "", map[string]string{"other": "x"})}},
			func(d *Docker) (any, error) { return d.Get(t.Context(), "sb1") },
			Info{Name: "sb1", Backend: "docker", Status: StatusStopped, Template: "img:1", Created: time.Date(2026, 1, 2, 3, 4, 6, 123456789, time.UTC)}, nil},
		{"get of a missing container is ErrNotFound", []dockerCall{{args: dargs(dockerInsp), stdout: "[]\n", code: 1, stderr: dockerNoSB1}},
			func(d *Docker) (any, error) { return d.Get(t.Context(), "sb1") }, nil, ErrNotFound},
		{"get with the daemon down is ErrUnavailable", []dockerCall{{args: dargs(dockerInsp), code: 1, stderr: dockerDown}},
			func(d *Docker) (any, error) { return d.Get(t.Context(), "sb1") }, nil, ErrUnavailable},
		{"list with nothing labelled skips inspect", []dockerCall{{args: ps}},
			func(d *Docker) (any, error) { return d.List(t.Context()) }, []string{}, nil},
		{"list inspects the ids, one of them gone meanwhile", []dockerCall{{args: ps, stdout: "aaa\nbbb\nccc\n"},
			{args: dargs("docker inspect --type container -- aaa bbb ccc"), stdout: two, code: 1, stderr: "Error response from daemon: No such container: ccc\n"}},
			func(d *Docker) (any, error) { return d.List(t.Context()) }, []string{"a1 stopped /x,y", "b2 running /z"}, nil},
		{"remove inspects, then removes ours", []dockerCall{{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "", dockerOurLabels("/ws", "exec"))}, {args: dargs("docker rm -f -- " + dockerTestID), stdout: "sb1\n"}},
			func(d *Docker) (any, error) { return nil, d.Remove(t.Context(), "sb1") }, nil, nil},
		{"remove of a missing container is ErrNotFound without rm (rm -f -- exits 0 silently)", []dockerCall{{args: dargs(dockerInsp), stdout: "[]\n", code: 1, stderr: dockerNoSB1}},
			func(d *Docker) (any, error) { return nil, d.Remove(t.Context(), "sb1") }, nil, ErrNotFound},
		{"remove refuses a container we did not create", []dockerCall{{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "", map[string]string{"other": "x"})}},
			func(d *Docker) (any, error) { return nil, d.Remove(t.Context(), "sb1") }, nil, ErrInvalid},
		{"remove of a container gone between inspect and rm is ErrNotFound", []dockerCall{{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "", dockerOurLabels("/ws", "exec"))}, {args: dargs("docker rm -f -- " + dockerTestID), code: 1, stderr: "Error: No such container: " + dockerTestID}},
			func(d *Docker) (any, error) { return nil, d.Remove(t.Context(), "sb1") }, nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op(NewDocker(newDockerFake(t, tt.calls...), DockerOptions{}))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v; want %v", err, tt.err)
			}
			if infos, ok := got.([]Info); ok {
				var s []string
				for _, i := range infos {
					s = append(s, fmt.Sprintf("%s %s %s", i.Name, i.Status, strings.Join(i.Workspaces, ";")))
				}
				got = append([]string{}, s...)
			}
			if err == nil && fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// dockerTestRelay is a file standing in for the relay executable (checkRelay is replaced in these tests).
func dockerTestRelay(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "relay")
	if err := os.WriteFile(p, []byte("relay"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
