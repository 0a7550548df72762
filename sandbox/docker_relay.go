package sandbox

// The relay transports. sandbox-agent 0.4.2 takes its token only in argv, which every local user of a Linux
// host reads in /proc, container processes included. So no container of ours runs sandbox-agent with a
// token: it runs with --no-token on the container's own loopback, behind `sandbox-mcp relay` (package
// relay), the server's own executable bind-mounted read-only and run as the container's main process:
//
//   - socket: the relay listens on a unix socket in a host folder only the server's user can enter
//     (<StateDir>/sockets/<name>, 0700), bind-mounted into the container. No token, no port.
//   - port: the relay listens on TCP, published on the host's 127.0.0.1, and wants a bearer token that
//     reaches it only through the environment (`-e NAME` by name), never through argv.
//
// Our executable can serve only when it is a static Linux ELF of the engine's architecture (the image has
// none of our libraries); else auto falls back to exec, once logged, and an explicit port or socket fails.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/relay"
)

const (
	dockerRelayTarget  = "/opt/sandbox-mcp/relay"       // the relay executable inside the container (read-only)
	dockerSocketTarget = "/opt/sandbox-mcp/run"         // the socket folder inside the container
	dockerSocketName   = "agent.sock"                   // the relay's socket in that folder
	dockerLabelSocket  = "org.sandbox-mcp.agent-socket" // host folder of the socket (socket transport)
)

// dockerPlan is how new containers are reached, resolved once per backend from the options and the engine.
type dockerPlan struct {
	transport string // "exec", "port" or "socket"
	relay     string // the relay executable on the host (port and socket)
	arch      string // the engine's architecture (Docker's names: amd64, arm64); "" when not asked
}

// plan resolves Transport "auto" and checks that port and socket have a relay. It asks the engine for its
// platform once; a failed probe is not cached.
func (d *Docker) plan(ctx context.Context) (dockerPlan, error) {
	d.mu.Lock()
	if d.planned != nil {
		p := *d.planned
		d.mu.Unlock()
		return p, nil
	}
	d.mu.Unlock()
	p, err := d.resolvePlan(ctx)
	if err != nil {
		return dockerPlan{}, err
	}
	d.mu.Lock()
	d.planned = &p
	d.mu.Unlock()
	return p, nil
}

func (d *Docker) resolvePlan(ctx context.Context) (dockerPlan, error) {
	t := d.opts.Transport
	if t == "exec" {
		if d.opts.ProvideAgent == nil {
			return dockerPlan{transport: "exec"}, nil
		}
		_, arch, _, err := d.platform(ctx)
		return dockerPlan{transport: "exec", arch: arch}, err
	}
	path, desktop, why := d.relayExecutable(ctx)
	// The socket folder is 0700 and ours: the relay must run as our uid to make its socket there.
	socketOK := runtime.GOOS == "linux" && !desktop && d.ownUser()
	switch {
	case t == "auto" && why != nil && errors.Is(why, ErrUnavailable):
		return dockerPlan{}, why
	case t == "auto" && why != nil:
		// Never silently: exec is safe (sandbox-agent on the container's own loopback) but slower.
		d.opts.Logger.Warn("docker: using the exec transport, because the relay cannot be used", "reason", why.Error())
		_, arch, _, err := d.platform(ctx)
		return dockerPlan{transport: "exec", arch: arch}, err
	case why != nil:
		return dockerPlan{}, fmt.Errorf("--docker-transport %s needs a relay: %w: build sandbox-mcp with CGO_ENABLED=0, "+
			"pass --docker-relay with a static linux build, or use --docker-transport exec", t, why)
	case t == "auto" && socketOK:
		t = "socket"
	case t == "auto" && d.opts.Network == "none":
		d.opts.Logger.Warn("docker: using the exec transport: the socket transport needs a Linux host, a local engine and " +
			"--docker-user of the server's own uid, and the port transport a network")
		_, arch, _, err := d.platform(ctx)
		return dockerPlan{transport: "exec", arch: arch}, err
	case t == "auto":
		// Docker Desktop (a socket in a bind-mounted folder does not cross its VM boundary), or another user.
		t = "port"
	}
	if t == "socket" && !d.ownUser() {
		return dockerPlan{}, Errorf(Invalid, "--docker-transport socket needs the container to run as the server's own uid "+
			"(--docker-user is %q): use port or exec", d.opts.User)
	}
	if t == "socket" && runtime.GOOS != "linux" {
		return dockerPlan{}, Errorf(Invalid, "--docker-transport socket needs a Linux host: use port or exec")
	}
	if t == "socket" && d.opts.StateDir == "" {
		return dockerPlan{}, Errorf(Invalid, "--docker-transport socket needs a state directory")
	}
	if t == "port" && d.opts.Network == "none" {
		return dockerPlan{}, Errorf(Invalid, "--docker-transport port needs a network (Network is \"none\")")
	}
	_, arch, _, err := d.platform(ctx)
	return dockerPlan{transport: t, relay: path, arch: arch}, err
}

// platform asks the engine for its OS, architecture and platform name, once per backend.
func (d *Docker) platform(ctx context.Context) (engineOS, arch, name string, err error) {
	d.mu.Lock()
	if d.engine != "" {
		defer d.mu.Unlock()
		platform, name, _ := strings.Cut(d.engine, "|")
		engineOS, arch, _ = strings.Cut(platform, "/")
		return engineOS, arch, name, nil
	}
	d.mu.Unlock()
	res, err := d.r.Run(ctx, Cmd{Args: d.argv("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}|{{.Server.Platform.Name}}")})
	if err != nil {
		return "", "", "", dockerErr("docker version", "", err)
	}
	out := strings.TrimSpace(string(res.Stdout))
	d.mu.Lock()
	d.engine = out
	d.mu.Unlock()
	platform, name, _ := strings.Cut(out, "|")
	engineOS, arch, _ = strings.Cut(platform, "/")
	return engineOS, arch, name, nil
}

// relayExecutable returns the relay's host path and whether the engine is Docker Desktop's, or why the
// relay cannot serve. An engine that does not answer is ErrUnavailable (the caller gives up); any other
// reason is a reason to fall back.
func (d *Docker) relayExecutable(ctx context.Context) (path string, desktop bool, err error) {
	path = d.opts.Relay
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", false, fmt.Errorf("finding our own executable: %w", err)
		}
		// A test binary is not sandbox-mcp: run as `relay` it would run tests. Tests pass Relay.
		if strings.HasSuffix(filepath.Base(exe), ".test") {
			return "", false, fmt.Errorf("%s is a test binary, not sandbox-mcp", exe)
		}
		path = exe
	}
	path, err = filepath.EvalSymlinks(path)
	if err != nil {
		return "", false, fmt.Errorf("relay executable: %w", err)
	}
	if err := dockerCheckWorkspace(path); err != nil { // it goes into --mount's CSV too
		return "", false, fmt.Errorf("relay executable: %w", err)
	}
	engineOS, arch, name, err := d.platform(ctx)
	if err != nil {
		return "", false, err
	}
	desktop = strings.Contains(name, "Desktop")
	if err := d.checkRelay(path, engineOS, arch); err != nil {
		return "", false, err
	}
	return path, desktop, nil
}

// ownUser reports whether --docker-user is the server's own uid (the socket folder is 0700, ours).
func (d *Docker) ownUser() bool {
	uid, _, _ := strings.Cut(d.opts.User, ":")
	return uid == strconv.Itoa(os.Getuid())
}

func (d *Docker) socketDir(name string) string {
	return filepath.Join(d.opts.StateDir, "sockets", name)
}

// makeSocketDir creates the sandbox's socket folder, 0700, and refuses one that is not a plain folder of
// ours (the container can write in it, never replace it: the mount is of the folder itself).
func (d *Docker) makeSocketDir(name string) (string, error) {
	dir := d.socketDir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("socket folder: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return "", Errorf(Invalid, "socket folder %s is not a folder", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("socket folder: %w", err)
	}
	return dir, nil
}

// relayCmd finishes `docker run` args a for the port and socket transports. It returns the token (port).
func (d *Docker) relayCmd(a []string, spec Spec, image string, p dockerPlan, prov dockerProvision) (Cmd, string, error) {
	o := d.opts
	a = append(a, "--mount", "type=bind,source="+p.relay+",target="+dockerRelayTarget+",readonly")
	// The relay's own flags after the transport's: where sandbox-agent is, and the shared installs.
	var extra []string
	if prov.bin != "" {
		extra = append(extra, "--agent-bin", dockerAgentTarget)
	}
	if prov.volume != "" {
		extra = append(extra, "--agents-dir", dockerAgentsTarget+"/sandbox-agent/bin")
	}
	for _, e := range spec.AgentEnv {
		if err := dockerCheckEnv(e); err != nil {
			return Cmd{}, "", err
		}
		a = append(a, "-e", e)
	}
	if p.transport == "socket" {
		inner := o.AgentPort
		if o.Network == "host" { // the container's loopback is the host's: no fixed port
			port, err := d.freePort()
			if err != nil {
				return Cmd{}, "", err
			}
			inner = port
		}
		dir, err := d.makeSocketDir(spec.Name)
		if err != nil {
			return Cmd{}, "", err
		}
		a = append(a, "--label", dockerLabelSocket+"="+dir, "--mount", "type=bind,source="+dir+",target="+dockerSocketTarget,
			"--entrypoint", dockerRelayTarget, image, "relay", "--listen", "unix:"+dockerSocketTarget+"/"+dockerSocketName,
			"--agent-port", strconv.Itoa(inner))
		return Cmd{Args: append(a, extra...)}, "", nil
	}

	// port: the relay on AgentPort, published on the host's loopback; sandbox-agent next to it.
	host, port, inner := "0.0.0.0", o.AgentPort, o.AgentPort+1
	if inner > 65535 {
		inner = port - 1
	}
	if o.Network == "host" {
		h, err := d.freePort()
		if err != nil {
			return Cmd{}, "", err
		}
		i, err := d.freePort()
		if err != nil {
			return Cmd{}, "", err
		}
		host, port, inner = "127.0.0.1", h, i
	}
	a = append(a, "--label", dockerLabelAgentPort+"="+strconv.Itoa(port), "-e", dockerTokenVar)
	if o.Network != "host" {
		a = append(a, "-p", "127.0.0.1::"+strconv.Itoa(port))
	}
	a = append(a, "--entrypoint", dockerRelayTarget, image, "relay", "--listen", "tcp:"+host+":"+strconv.Itoa(port),
		"--agent-port", strconv.Itoa(inner), "--token-env", dockerTokenVar)
	a = append(a, extra...)
	token := newToken()
	return Cmd{Args: a, Env: d.envWithToken(token)}, token, nil
}

// checkRelayDefault is relay.CheckExecutable, with its error marked as a reason to fall back.
func checkRelayDefault(path, engineOS, arch string) error {
	return relay.CheckExecutable(path, engineOS, arch)
}

// newToken is 32 random bytes in hex.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// envWithToken is the docker CLI's environment with the token (and no stale value of its variable).
func (d *Docker) envWithToken(token string) []string {
	env := d.opts.BaseEnv
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, dockerTokenVar+"=") })
	return append(env, dockerTokenVar+"="+token)
}
