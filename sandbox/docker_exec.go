package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// dockerNotRunningRE matches exec's refusal for a stopped container, as the daemon words it (20.10.24):
// "Error response from daemon: Container <id> is not running". Anchored at a line start, so a command's own
// stderr is unlikely to be mistaken for it: the retry runs the command a second time.
var dockerNotRunningRE = regexp.MustCompile(`(?m)^Error response from daemon: Container [a-zA-Z0-9_.-]+ is not running`)

// Exec implements Backend: `docker exec`. A stopped container is started once and the command retried;
// when the command reads a stdin that cannot be rewound (not an io.Seeker), the container is started but
// the command is not retried, and the error says so. A missing container is ErrNotFound; a non-zero exit
// of the command is returned as the *ExitError itself, with the command's exit code.
func (d *Docker) Exec(ctx context.Context, name string, spec ExecSpec) (Result, error) {
	op := "docker exec " + name
	if err := ValidateName("sandbox", name); err != nil {
		return Result{}, err
	}
	if len(spec.Args) == 0 {
		return Result{}, Errorf(Invalid, "%s: no command", op)
	}
	a := d.argv("exec")
	if spec.Stdin != nil {
		a = append(a, "-i")
	}
	if spec.Detach {
		a = append(a, "-d")
	}
	if spec.User != "" {
		if !dockerUserRE.MatchString(spec.User) {
			return Result{}, Errorf(Invalid, "%s: user %q is not valid", op, truncate(spec.User, 40))
		}
		a = append(a, "-u", spec.User)
	}
	if spec.Workdir != "" {
		if !path.IsAbs(spec.Workdir) || strings.ContainsRune(spec.Workdir, 0) {
			return Result{}, Errorf(Invalid, "%s: workdir %q is not an absolute path", op, truncate(spec.Workdir, 80))
		}
		a = append(a, "-w", spec.Workdir)
	}
	for _, e := range spec.Env {
		if err := dockerCheckEnv(e); err != nil {
			return Result{}, fmt.Errorf("%s: %w", op, err)
		}
		a = append(a, "-e", e)
	}
	// exec stops parsing its own flags at the container name, so spec.Args are passed untouched.
	c := Cmd{Args: append(append(a, name), spec.Args...), Stdin: spec.Stdin, Stdout: spec.Stdout, Timeout: spec.Timeout}

	var offset int64
	seeker, canRewind := spec.Stdin.(io.Seeker)
	if canRewind {
		var err error
		if offset, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			canRewind = false
		}
	}
	res, err := d.r.Run(ctx, c)
	if dockerNotRunningRE.MatchString(dockerStderr(err)) {
		if err := d.start(ctx, name, nil); err != nil {
			return Result{}, err
		}
		if spec.Stdin != nil && !canRewind {
			return Result{}, fmt.Errorf("%s: the sandbox was stopped and has been started again; run the command again", op)
		}
		if canRewind {
			if _, err := seeker.Seek(offset, io.SeekStart); err != nil {
				return Result{}, fmt.Errorf("%s: rewinding stdin: %w", op, err)
			}
		}
		res, err = d.r.Run(ctx, c)
	}
	var ee *ExitError
	if err != nil && errors.As(err, &ee) && !dockerNoSuch(ee.Stderr, name) && !dockerUnreachable(ee.Stderr) {
		return res, ee // the command's own exit status (or exec's 126/127 for a missing program)
	}
	if err != nil {
		return res, dockerErr(op, name, err)
	}
	return res, nil
}

// start starts a stopped container; known is its inspect output when the caller has it (else it is read).
func (d *Docker) start(ctx context.Context, name string, known *dockerContainer) error {
	// Docker resolves bind sources again at every start: check them first (docker_mounts.go).
	if err := d.checkMounts(ctx, name, known); err != nil {
		return err
	}
	if _, err := d.r.Run(ctx, Cmd{Args: d.argv("start", "--", name)}); err != nil {
		return dockerErr("docker start "+name, name, err)
	}
	return nil
}

// AgentEndpoint implements AgentServer. For a port-transport sandbox it returns sandbox-agent's URL on
// 127.0.0.1 and its token, starting the container first if it is stopped (its published port may then
// change, so the URL is read afresh on every call). It returns ok=false for exec-transport sandboxes,
// ErrNotFound when the container is gone, and ErrUnavailable when the token is lost (no StateDir and a
// server restart since Create): remove and recreate the sandbox then.
func (d *Docker) AgentEndpoint(ctx context.Context, name string) (Endpoint, bool, error) {
	if err := ValidateName("sandbox", name); err != nil {
		return Endpoint{}, false, err
	}
	op := "docker agent endpoint " + name
	d.mu.Lock()
	ep, fresh := d.fresh[name]
	delete(d.fresh, name)
	d.mu.Unlock()
	if fresh {
		return ep, true, nil // right after our own `docker run`: nothing to ask the engine
	}
	c, err := d.inspectName(ctx, name)
	if err != nil {
		return Endpoint{}, false, err
	}
	switch c.Config.Labels[dockerLabelTransport] {
	case "socket":
		return d.socketEndpoint(ctx, op, name, c)
	case "port":
	default:
		return Endpoint{}, false, nil
	}
	port := c.Config.Labels[dockerLabelAgentPort]
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Endpoint{}, true, Errorf(Invalid, "%s: label %s=%q is not a port", op, dockerLabelAgentPort, port)
	}
	token, err := d.loadToken(name)
	if err != nil {
		return Endpoint{}, true, fmt.Errorf("%s: %w", op, err)
	}
	if !c.State.Running {
		if err := d.start(ctx, name, &c); err != nil {
			return Endpoint{}, true, err
		}
	}
	if c.HostConfig.NetworkMode != "host" {
		res, err := d.r.Run(ctx, Cmd{Args: d.argv("port", "--", name, port+"/tcp")})
		if err != nil {
			return Endpoint{}, true, dockerErr("docker port "+name, name, err)
		}
		if port, err = dockerParsePort(res.Stdout); err != nil {
			return Endpoint{}, true, fmt.Errorf("docker port %s: %w", name, err)
		}
	}
	return Endpoint{URL: "http://127.0.0.1:" + port, Token: token}, true, nil
}

// socketEndpoint is AgentEndpoint for the socket transport: the relay's socket in the folder we made for
// this sandbox (and nowhere else, whatever the label says), made again if it is gone so the container can
// start.
func (d *Docker) socketEndpoint(ctx context.Context, op, name string, c dockerContainer) (Endpoint, bool, error) {
	if d.opts.StateDir == "" || c.Config.Labels[dockerLabelSocket] != d.socketDir(name) {
		return Endpoint{}, true, Errorf(Unavailable, "%s: its socket folder %q is not this server's (%s): was it created with another --state-dir? "+
			"Remove and recreate the sandbox", op, c.Config.Labels[dockerLabelSocket], d.socketDir(name))
	}
	dir, err := d.makeSocketDir(name)
	if err != nil {
		return Endpoint{}, true, fmt.Errorf("%s: %w", op, err)
	}
	if !c.State.Running {
		if err := d.start(ctx, name, &c); err != nil {
			return Endpoint{}, true, err
		}
	}
	return Endpoint{Socket: filepath.Join(dir, dockerSocketName)}, true, nil
}

// freshEndpoint is the endpoint of a container Create has just started, when it is known without asking
// the engine: the socket transport's socket, or the port transport's port on the host network. The
// first AgentEndpoint after Create takes it; every later one inspects (the container may have stopped).
func (d *Docker) freshEndpoint(name string, cmd Cmd, token string) (Endpoint, bool) {
	var listen string
	for i, a := range cmd.Args {
		if a == "--listen" && i+1 < len(cmd.Args) {
			listen = cmd.Args[i+1]
		}
	}
	switch {
	case strings.HasPrefix(listen, "unix:"):
		return Endpoint{Socket: filepath.Join(d.socketDir(name), dockerSocketName)}, true
	case strings.HasPrefix(listen, "tcp:127.0.0.1:") && token != "":
		return Endpoint{URL: "http://" + strings.TrimPrefix(listen, "tcp:"), Token: token}, true
	}
	return Endpoint{}, false
}

// dockerParsePort reads `docker port` output ("127.0.0.1:49153", one binding a line) and returns the
// host port bound on 127.0.0.1.
func dockerParsePort(out []byte) (string, error) {
	for _, line := range strings.Fields(string(out)) {
		host, port, err := net.SplitHostPort(line)
		if err == nil && host == "127.0.0.1" {
			return port, nil
		}
	}
	return "", fmt.Errorf("no port bound on 127.0.0.1 in %q", truncate(string(out), 80))
}

func (d *Docker) tokenPath(name string) string { return filepath.Join(d.opts.StateDir, name+".token") }

// saveToken keeps the token in memory and, with a StateDir, in a 0600 file written atomically.
func (d *Docker) saveToken(name, token string) error {
	d.mu.Lock()
	d.tokens[name] = token
	d.mu.Unlock()
	if d.opts.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(d.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("saving sandbox-agent token: %w", err)
	}
	f, err := os.CreateTemp(d.opts.StateDir, name+".token.*") // created 0600
	if err != nil {
		return fmt.Errorf("saving sandbox-agent token: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.tokenPath(name))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving sandbox-agent token: %w", err)
	}
	return nil
}

func (d *Docker) loadToken(name string) (string, error) {
	d.mu.Lock()
	token, ok := d.tokens[name]
	d.mu.Unlock()
	if ok {
		return token, nil
	}
	if d.opts.StateDir != "" {
		b, err := os.ReadFile(d.tokenPath(name))
		if err == nil && strings.TrimSpace(string(b)) != "" {
			token = strings.TrimSpace(string(b))
			d.mu.Lock()
			d.tokens[name] = token
			d.mu.Unlock()
			return token, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("reading sandbox-agent token: %w", err)
		}
	}
	return "", Errorf(Unavailable, "the sandbox-agent token of %s is lost (its token file under the state directory is gone): "+
		"remove and recreate the sandbox", name)
}

func (d *Docker) forgetToken(name string) error {
	d.mu.Lock()
	delete(d.tokens, name)
	delete(d.fresh, name)
	d.mu.Unlock()
	if d.opts.StateDir == "" {
		return nil
	}
	if err := os.Remove(d.tokenPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing sandbox-agent token: %w", err)
	}
	return nil
}
