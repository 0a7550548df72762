package sandbox

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDockerExec(t *testing.T) {
	notRunning := "Error response from daemon: Container 3d8fde753683 is not running\n"
	tests := []struct {
		name    string
		spec    ExecSpec
		calls   []dockerCall
		stdins  []string
		want    error
		wantMsg string
		code    int // expected *ExitError code
	}{
		{name: "plain command", spec: ExecSpec{Args: []string{"echo", "hi"}},
			calls: []dockerCall{{args: dargs("docker exec sb1 echo hi"), stdout: "hi\n"}}},
		{name: "every option; arguments after the name stay arguments",
			spec:   ExecSpec{Args: []string{"sh", "-c", "--rm"}, Stdin: strings.NewReader("in"), Detach: true, Workdir: "/ws/sub", Env: []string{"A=1 2", "SECRET"}},
			calls:  []dockerCall{{args: []string{"docker", "exec", "-i", "-d", "-w", "/ws/sub", "-e", "A=1 2", "-e", "SECRET", "sb1", "sh", "-c", "--rm"}}},
			stdins: []string{"in"}},
		{name: "stopped container is started and the command retried with stdin rewound",
			spec: ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("abc")},
			calls: []dockerCall{{args: dargs("docker exec -i sb1 cat"), code: 1, stderr: notRunning},
				{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "exited", "none", nil)},
				{args: dargs("docker start -- sb1"), stdout: "sb1\n"}, {args: dargs("docker exec -i sb1 cat"), stdout: "abc"}},
			stdins: []string{"abc", "abc"}},
		{name: "stopped container with a stdin that cannot rewind is started but not retried",
			spec: ExecSpec{Args: []string{"cat"}, Stdin: io.MultiReader(strings.NewReader("abc"))},
			calls: []dockerCall{{args: dargs("docker exec -i sb1 cat"), code: 1, stderr: notRunning},
				{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "exited", "none", nil)},
				{args: dargs("docker start -- sb1")}},
			stdins: []string{"abc"}, wantMsg: "run the command again"},
		{name: "missing container is ErrNotFound", spec: ExecSpec{Args: []string{"true"}},
			calls: []dockerCall{{args: dargs("docker exec sb1 true"), code: 1, stderr: dockerNoSB1}}, want: ErrNotFound},
		{name: "daemon down is ErrUnavailable", spec: ExecSpec{Args: []string{"true"}},
			calls: []dockerCall{{args: dargs("docker exec sb1 true"), code: 1, stderr: dockerDown}}, want: ErrUnavailable},
		{name: "the command's exit code comes back as *ExitError", spec: ExecSpec{Args: []string{"sh", "-c", "exit 7"}},
			calls: []dockerCall{{args: []string{"docker", "exec", "sb1", "sh", "-c", "exit 7"}, code: 7}}, code: 7},
		{name: "the command printing another container's no-such error is still its own failure",
			spec:  ExecSpec{Args: []string{"docker", "ps"}},
			calls: []dockerCall{{args: dargs("docker exec sb1 docker ps"), code: 1, stderr: "No such container: other"}}, code: 1},
		{name: "no command is ErrInvalid", spec: ExecSpec{}, want: ErrInvalid},
		{name: "relative workdir is ErrInvalid", spec: ExecSpec{Args: []string{"pwd"}, Workdir: "sub"}, want: ErrInvalid},
		{name: "env entry that could be a flag is ErrInvalid", spec: ExecSpec{Args: []string{"env"}, Env: []string{"--privileged"}}, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDockerFake(t, tt.calls...)
			_, err := NewDocker(f, DockerOptions{}).Exec(t.Context(), "sb1", tt.spec)
			var ee *ExitError
			switch {
			case tt.code != 0:
				if !errors.As(err, &ee) || ee.Code != tt.code || errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v; want *ExitError with code %d", err, tt.code)
				}
			case tt.want != nil || tt.wantMsg != "":
				if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %v; want %v containing %q", err, tt.want, tt.wantMsg)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			}
			if !slices.Equal(f.stdins, tt.stdins) {
				t.Errorf("stdin read per call = %q; want %q", f.stdins, tt.stdins)
			}
		})
	}
}

func TestDockerPortTransport(t *testing.T) {
	head := dockerRunPrefix + "--label org.sandbox-mcp.transport=port --mount type=bind,source=/ws,target=/ws -w /ws " +
		"-e HOME=/home/agent " + dockerLimits
	portLabels := func(port, transport string) map[string]string {
		l := dockerOurLabels("/ws", transport)
		l[dockerLabelAgentPort] = port
		return l
	}
	tests := []struct {
		name    string
		network string
		run     string // after the relay mount
		netMode string
		port    []dockerCall // docker port, when the endpoint needs it
		url     string
	}{
		{name: "bridge publishes the relay's port on loopback",
			run: "-e ANTHROPIC_API_KEY -e SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS=600000 --label org.sandbox-mcp.agent-port=2468 " +
				"-e SANDBOX_MCP_AGENT_TOKEN -p 127.0.0.1::2468 --entrypoint /opt/sandbox-mcp/relay node:22-bookworm " +
				"relay --listen tcp:0.0.0.0:2468 --agent-port 2469 --token-env SANDBOX_MCP_AGENT_TOKEN",
			netMode: "default", port: []dockerCall{{args: dargs("docker port -- sb1 2468/tcp"), stdout: "127.0.0.1:49153\n"}},
			url: "http://127.0.0.1:49153"},
		{name: "host network (opted in) binds free loopback ports", network: "host",
			run: "-e ANTHROPIC_API_KEY -e SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS=600000 --label org.sandbox-mcp.agent-port=40123 " +
				"-e SANDBOX_MCP_AGENT_TOKEN --entrypoint /opt/sandbox-mcp/relay node:22-bookworm " +
				"relay --listen tcp:127.0.0.1:40123 --agent-port 40124 --token-env SANDBOX_MCP_AGENT_TOKEN",
			netMode: "host", url: "http://127.0.0.1:40123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			relayBin := dockerTestRelay(t)
			opts := DockerOptions{Transport: "port", Network: tt.network, InsecureHostNetwork: tt.network == "host", StateDir: state,
				Relay: relayBin, Now: func() time.Time { return dockerTestNow }, BaseEnv: []string{"PATH=/bin", "SANDBOX_MCP_AGENT_TOKEN=stale"}}
			port := strings.TrimPrefix(tt.url, "http://127.0.0.1:")
			if tt.network != "host" {
				port = "2468"
			}
			network := ""
			if tt.network != "" {
				network = " --network " + tt.network
			}
			run := head + network + " --pull never --mount type=bind,source=" + relayBin + ",target=/opt/sandbox-mcp/relay,readonly " + tt.run
			running := dockerInspect("sb1", "running", tt.netMode, portLabels(port, "port"))
			calls := []dockerCall{{args: dargs(dockerVersionProbe), stdout: "linux/amd64|\n"}, {args: dargs(run)}}
			if tt.network != "host" {
				// The host port is Docker's choice: asked for. On the host network it is ours, known
				// from the run: the first AgentEndpoint after Create asks nothing.
				calls = append(append(calls, dockerCall{args: dargs(dockerInsp), stdout: running}), tt.port...)
			}
			f := newDockerFake(t, calls...)
			d := NewDocker(f, opts)
			var checked []string
			d.checkRelay = func(path, os, arch string) error {
				checked = append(checked, path, os, arch)
				return nil
			}
			next := 40123
			d.freePort = func() (int, error) { next++; return next - 1, nil }
			spec := Spec{Name: "sb1", Workspace: "/ws", AgentEnv: []string{"ANTHROPIC_API_KEY", "SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS=600000"}}
			if _, err := d.Create(t.Context(), spec); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(checked, []string{relayBin, "linux", "amd64"}) {
				t.Errorf("relay checked as %q; want the relay for linux/amd64", checked)
			}
			env := f.got[1].Env
			if len(env) != 2 || env[0] != "PATH=/bin" || !regexp.MustCompile(`^SANDBOX_MCP_AGENT_TOKEN=[0-9a-f]{64}$`).MatchString(env[1]) {
				t.Fatalf("docker run env = %q; want the base env and a fresh token", env)
			}
			token := strings.TrimPrefix(env[1], "SANDBOX_MCP_AGENT_TOKEN=")
			if strings.Contains(strings.Join(f.got[1].Args, " "), token) {
				t.Error("the token is in argv")
			}
			ep, ok, err := d.AgentEndpoint(t.Context(), "sb1")
			if err != nil || !ok || ep != (Endpoint{URL: tt.url, Token: token}) {
				t.Errorf("AgentEndpoint = %+v, %v, %v; want %s with the token", ep, ok, err, tt.url)
			}
			fi, err := os.Stat(filepath.Join(state, "sb1.token"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("token file: %v, %v; want mode 0600", fi, err)
			}

			// After a restart the token comes from the state dir, and a stopped container is started.
			stopped := dockerInspect("sb1", "exited", tt.netMode, portLabels(port, "port"))
			calls = append([]dockerCall{{args: dargs(dockerInsp), stdout: stopped}, {args: dargs("docker start -- sb1")}}, tt.port...)
			calls = append(calls, dockerCall{args: dargs(dockerInsp), stdout: running}, dockerCall{args: dargs("docker rm -f -- " + dockerTestID)})
			d2 := NewDocker(newDockerFake(t, calls...), opts)
			if ep2, ok, err := d2.AgentEndpoint(t.Context(), "sb1"); err != nil || !ok || ep2 != ep {
				t.Errorf("AgentEndpoint after restart = %+v, %v, %v; want %+v", ep2, ok, err, ep)
			}
			if err := d2.Remove(t.Context(), "sb1"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(state, "sb1.token")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("token file after Remove: %v; want it gone", err)
			}
		})
	}
}

func TestDockerAgentEndpointEdges(t *testing.T) {
	portLabels := dockerOurLabels("/ws", "port")
	portLabels[dockerLabelAgentPort] = "2468"
	tests := []struct {
		name   string
		call   dockerCall
		wantOK bool
		want   error
	}{
		{"exec transport has no endpoint", dockerCall{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "none", dockerOurLabels("/ws", "exec"))}, false, nil},
		{"a token lost with no state dir is ErrUnavailable", dockerCall{args: dargs(dockerInsp), stdout: dockerInspect("sb1", "running", "default", portLabels)}, true, ErrUnavailable},
		{"missing container is ErrNotFound", dockerCall{args: dargs(dockerInsp), stdout: "[]", code: 1, stderr: dockerNoSB1}, false, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := NewDocker(newDockerFake(t, tt.call), DockerOptions{}).AgentEndpoint(t.Context(), "sb1")
			if ok != tt.wantOK || !errors.Is(err, tt.want) {
				t.Errorf("ok, err = %v, %v; want %v, %v", ok, err, tt.wantOK, tt.want)
			}
		})
	}
}
