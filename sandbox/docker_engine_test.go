package sandbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// These tests drive a real Docker Engine. Without one they skip, saying how to get one; with CI=true they
// fail instead. The image comes from SANDBOX_MCP_TEST_IMAGE (default sandbox-mcp-test:0.4.2, built by
// scripts/build-test-image); the port transport test needs sandbox-agent in it.

// dockerSkipOrFail skips, or fails under CI=true, when a real component is missing.
func dockerSkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}

// dockerTestEngine checks that an engine answers and the test image exists, and returns the image.
func dockerTestEngine(tb testing.TB) string {
	tb.Helper()
	r := &Exec{Timeout: 30 * time.Second}
	if _, err := r.Run(context.Background(), Cmd{Args: []string{"docker", "version", "--format", "{{.Server.Version}}"}}); err != nil {
		dockerSkipOrFail(tb, "no Docker Engine answers (%v): start one with scripts/docker-up", err)
	}
	image := cmp.Or(os.Getenv("SANDBOX_MCP_TEST_IMAGE"), "sandbox-mcp-test:0.4.2")
	if _, err := r.Run(context.Background(), Cmd{Args: []string{"docker", "image", "inspect", "--format", "{{.Id}}", image}}); err != nil {
		dockerSkipOrFail(tb, "test image %s is missing (%v): build it with scripts/build-test-image", image, err)
	}
	return image
}

// dockerTestName derives a unique, valid sandbox name of at most 24 characters from the test's name, and
// removes that container when the test ends.
func dockerTestName(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(tb.Name(), "Test"), "Benchmark")) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	slug := strings.TrimPrefix(b.String(), "docker")
	slug = strings.Trim(slug[:min(len(slug), 15)], "-")
	suffix := make([]byte, 3)
	rand.Read(suffix)
	name := "t-" + slug + "-" + hex.EncodeToString(suffix)
	tb.Cleanup(func() { dockerCLI(tb, "rm", "-f", "--", name) })
	return name
}

// dockerCLI runs the docker CLI directly, behind the backend's back.
func dockerCLI(tb testing.TB, args ...string) string {
	tb.Helper()
	res, err := (&Exec{Timeout: 30 * time.Second}).Run(context.Background(), Cmd{Args: append([]string{"docker"}, args...)})
	if err != nil && args[0] != "rm" {
		tb.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return string(res.Stdout)
}

func dockerTestBackend(tb testing.TB, image string, opts DockerOptions) *Docker {
	o := DefaultDockerOptions()
	o.Image, o.CPUs, o.StateDir = image, "1", tb.TempDir()
	o.Network, o.Transport, o.ReadOnlyRoot = opts.Network, opts.Transport, opts.ReadOnlyRoot
	o.InsecureHostNetwork = opts.Network == "host"
	if o.Transport == "port" || o.Transport == "socket" || o.Transport == "auto" {
		o.Relay = testenv.Relay(tb)
	}
	return NewDocker(&Exec{Timeout: 60 * time.Second}, o)
}

func TestDockerEngineExecTransport(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none"})
	name, ws := dockerTestName(t), t.TempDir()
	ctx := t.Context()

	start := time.Now()
	info, err := d.Create(ctx, Spec{Name: name, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("create → running: %v", time.Since(start))
	got, err := d.Get(ctx, name)
	if err != nil || got.Status != StatusRunning || !got.Managed || !slices.Equal(got.Workspaces, []string{ws}) ||
		got.Template != image || got.Backend != "docker" || got.Created.IsZero() {
		t.Errorf("Get = %+v, %v (Create said %+v)", got, err, info)
	}
	if all, err := d.List(ctx); err != nil || !slices.ContainsFunc(all, func(i Info) bool { return i.Name == name }) {
		t.Errorf("List = %+v, %v; want it to hold %s", all, err, name)
	}

	exec := func(spec ExecSpec) (string, error) {
		start := time.Now()
		res, err := d.Exec(ctx, name, spec)
		t.Logf("exec %q: %v", spec.Args, time.Since(start))
		return string(res.Stdout), err
	}
	if out, err := exec(ExecSpec{Args: []string{"echo", "hi"}}); out != "hi\n" || err != nil {
		t.Errorf("echo hi = %q, %v", out, err)
	}
	if out, err := exec(ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("abc")}); out != "abc" || err != nil {
		t.Errorf("cat with stdin = %q, %v", out, err)
	}
	var ee *ExitError
	if _, err := exec(ExecSpec{Args: []string{"sh", "-c", "exit 7"}}); !errors.As(err, &ee) || ee.Code != 7 {
		t.Errorf("exit 7 = %v; want *ExitError code 7", err)
	}
	out, err := exec(ExecSpec{Args: []string{"sh", "-c", `echo "$FOO" > out.txt; id -u; pwd; echo "$HOME"`}, Env: []string{"FOO=bar"}})
	if want := fmt.Sprintf("%d\n%s\n/home/agent\n", os.Getuid(), ws); out != want || err != nil {
		t.Errorf("id/pwd/HOME = %q, %v; want %q", out, err, want)
	}
	if fi, err := os.Stat(filepath.Join(ws, "out.txt")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
		t.Errorf("out.txt written in the workspace: %v; want it owned by uid %d", err, os.Getuid())
	}

	var insp []struct {
		Config struct {
			Entrypoint, Cmd []string
			User            string
		}
		HostConfig struct {
			CapDrop, SecurityOpt                    []string
			Memory, MemorySwap, NanoCpus, PidsLimit int64
			Privileged, Init, ReadonlyRootfs        bool
		}
		Mounts []struct{ Type, Source, Destination string }
	}
	if err := json.Unmarshal([]byte(dockerCLI(t, "inspect", "--type", "container", name)), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	h, c := insp[0].HostConfig, insp[0].Config
	if !slices.Equal(h.CapDrop, []string{"ALL"}) || !slices.Equal(h.SecurityOpt, []string{"no-new-privileges"}) ||
		h.Memory != 4<<30 || h.MemorySwap != 4<<30 || h.NanoCpus != 1e9 || h.PidsLimit != 1024 || h.Privileged || !h.Init ||
		!slices.Equal(c.Entrypoint, []string{"sleep"}) || !slices.Equal(c.Cmd, []string{"infinity"}) ||
		c.User != fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()) {
		t.Errorf("security settings not applied: %+v %+v", h, c)
	}
	if m := insp[0].Mounts; len(m) != 1 || m[0].Type != "bind" || m[0].Source != ws || m[0].Destination != ws {
		t.Errorf("mounts = %+v; want one bind of %s", m, ws)
	}

	if _, err := d.Create(ctx, Spec{Name: name, Workspace: ws}); !errors.Is(err, ErrExists) {
		t.Errorf("second Create = %v; want ErrExists", err)
	}
	dockerCLI(t, "stop", name)
	if out, err := exec(ExecSpec{Args: []string{"cat"}, Stdin: strings.NewReader("again")}); out != "again" || err != nil {
		t.Errorf("exec in a stopped sandbox = %q, %v; want it started and the command run", out, err)
	}
	if err := d.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Remove = %v; want ErrNotFound", err)
	}
	if err := d.Remove(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v; want ErrNotFound", err)
	}
}

func TestDockerEngineRemovedBehindOurBack(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none", ReadOnlyRoot: true})
	name := dockerTestName(t)
	if _, err := d.Create(t.Context(), Spec{Name: name, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	// Read-only root: / refuses writes, /tmp and HOME are tmpfs.
	_, err := d.Exec(t.Context(), name, ExecSpec{Args: []string{"sh", "-c", `touch /tmp/a "$HOME/a" && ! touch /a 2>/dev/null`}})
	if err != nil {
		t.Errorf("read-only root: %v", err)
	}
	dockerCLI(t, "rm", "-f", "--", name)
	if _, err := d.Exec(t.Context(), name, ExecSpec{Args: []string{"true"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Exec = %v; want ErrNotFound", err)
	}
}

func TestDockerEngineMissingImage(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none"})
	_, err := d.Create(t.Context(), Spec{Name: dockerTestName(t), Workspace: t.TempDir(), Template: "local/does-not-exist:1"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not found locally") {
		t.Errorf("Create = %v; want ErrInvalid saying the image is not found locally", err)
	}
}

func TestDockerEnginePortTransport(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "host", Transport: "port"})
	name := dockerTestName(t)
	start := time.Now()
	if _, err := d.Create(t.Context(), Spec{Name: name, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	ep, ok, err := d.AgentEndpoint(t.Context(), name)
	if err != nil || !ok || !strings.HasPrefix(ep.URL, "http://127.0.0.1:") || len(ep.Token) != 64 {
		t.Fatalf("AgentEndpoint = %+v, %v, %v", ep, ok, err)
	}
	health := func(token string) (int, string, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ep.URL+"/v1/health", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b)), nil
	}
	code, body, err := 0, "", error(nil)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		// Until sandbox-agent listens, the relay answers 502 (or nothing yet listens at all).
		if code, body, err = health(ep.Token); err == nil && code == http.StatusOK {
			break
		}
	}
	t.Logf("create → sandbox-agent healthy: %v", time.Since(start))
	if code != http.StatusOK || body != `{"status":"ok"}` || err != nil {
		t.Fatalf("health with token = %d %s, %v; logs:\n%s", code, body, err, dockerCLI(t, "logs", name))
	}
	if code, _, err := health(""); code != http.StatusUnauthorized || err != nil {
		t.Errorf("health without token = %d, %v; want 401", code, err)
	}
	if err := d.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

func TestDockerEngineCheck(t *testing.T) {
	dockerTestEngine(t)
	path := "PATH=" + os.Getenv("PATH")
	tests := []struct {
		name string
		env  []string
		opts DockerOptions
		want error
	}{
		{"engine answers", nil, DockerOptions{}, nil},
		{"DOCKER_HOST nobody listens on", []string{path, "HOME=" + t.TempDir(), "DOCKER_HOST=unix:///nonexistent.sock"}, DockerOptions{}, ErrUnavailable},
		{"unknown context", []string{path, "HOME=" + t.TempDir()}, DockerOptions{Context: "nope"}, ErrUnavailable},
		{"CLI not installed", nil, DockerOptions{Binary: "/nonexistent/docker"}, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewDocker(&Exec{Env: tt.env, Timeout: 30 * time.Second}, tt.opts).Check(t.Context())
			if !errors.Is(err, tt.want) {
				t.Errorf("Check = %v; want %v", err, tt.want)
			}
			t.Logf("Check: %v", err)
		})
	}
}

// TestDockerEngineSocketTransport: with no network at all, the relay in the container answers on a unix
// socket in a 0700 folder of ours; sandbox-agent is on the container's own loopback, with no token, and
// nothing listens on the host. The socket folder goes with the container.
func TestDockerEngineSocketTransport(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none", Transport: "socket"})
	name := dockerTestName(t)
	if _, err := d.Create(t.Context(), Spec{Name: name, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	ep, ok, err := d.AgentEndpoint(t.Context(), name)
	if err != nil || !ok || ep.Socket == "" || ep.Token != "" || ep.URL != "" {
		t.Fatalf("AgentEndpoint = %+v, %v, %v; want a socket and no token", ep, ok, err)
	}
	fi, err := os.Stat(filepath.Dir(ep.Socket))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket folder: %v, %v; want mode 0700", fi, err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", ep.Socket)
	}}}
	var code int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get("http://sandbox-agent/v1/health")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			if code == http.StatusOK {
				break // before, 502: the relay answers while sandbox-agent is still starting
			}
		}
	}
	if code != http.StatusOK {
		t.Fatalf("health over the socket = %d; logs:\n%s", code, dockerCLI(t, "logs", name))
	}
	// The process in the container that holds the socket is the relay, and sandbox-agent runs token-less.
	if ps := dockerCLI(t, "exec", name, "ps", "-o", "args"); !strings.Contains(ps, "relay --listen unix:") ||
		!strings.Contains(ps, "sandbox-agent server --no-token") {
		t.Errorf("processes in the container:\n%s", ps)
	}
	if err := d.Remove(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(ep.Socket)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket folder after Remove: %v; want it gone", err)
	}
}
