package sandbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dockerAgentScript is the port transport's main process. It is a fixed string: host, port and token reach
// it through the environment, so no value (and never the token) appears in any argv we spawn.
const dockerAgentScript = `exec sandbox-agent server --no-telemetry -H "$SANDBOX_MCP_AGENT_HOST" ` +
	`-p "$SANDBOX_MCP_AGENT_PORT" --token "$SANDBOX_MCP_AGENT_TOKEN"`

const dockerTokenVar = "SANDBOX_MCP_AGENT_TOKEN"

// Validation of everything that reaches docker's argv. None of these can start with '-', so no value can
// become a flag; the image reference follows the distribution reference grammar (lowercase repository path,
// optional registry host[:port], tag and sha256 digest).
var (
	dockerImageRE = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?` +
		`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*` +
		`(?::[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`)
	dockerWordRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]{0,127}$`) // context, network, agent
	dockerSizeRE    = regexp.MustCompile(`^[0-9]+[bkmgBKMG]?$`)
	dockerCPUsRE    = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)
	dockerCapRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z_]*$`)
	dockerUserRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]*(?::[a-zA-Z0-9_][a-zA-Z0-9_.-]*)?$`)
	dockerHomeRE    = regexp.MustCompile(`^/[a-zA-Z0-9._/-]*$`)
	dockerEnvNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the options. The error wraps ErrInvalid and names the flag's field.
func (o DockerOptions) Validate() error {
	o.fill()
	bad := func(field, v string) error {
		return fmt.Errorf("docker option %s %q is not valid: %w", field, truncate(v, 60), ErrInvalid)
	}
	switch {
	case o.Binary == "" || strings.HasPrefix(o.Binary, "-"):
		return bad("Binary", o.Binary)
	case o.Context != "" && !dockerWordRE.MatchString(o.Context):
		return bad("Context", o.Context)
	case !dockerImageRE.MatchString(o.Image) || len(o.Image) > 255:
		return bad("Image", o.Image)
	case o.Network != "" && !dockerWordRE.MatchString(o.Network):
		return bad("Network", o.Network)
	case !dockerSizeRE.MatchString(o.Memory):
		return bad("Memory", o.Memory)
	case !dockerCPUsRE.MatchString(o.CPUs):
		return bad("CPUs", o.CPUs)
	case o.User != "" && !dockerUserRE.MatchString(o.User):
		return bad("User", o.User)
	case !dockerHomeRE.MatchString(o.Home):
		return bad("Home", o.Home)
	case o.Transport != "exec" && o.Transport != "port":
		return bad("Transport", o.Transport)
	case o.Transport == "port" && o.Network == "none":
		return fmt.Errorf("docker option Transport \"port\" needs a network (Network is \"none\"): %w", ErrInvalid)
	case o.AgentPort < 1 || o.AgentPort > 65535:
		return bad("AgentPort", strconv.Itoa(o.AgentPort))
	}
	for _, c := range o.CapAdd {
		if !dockerCapRE.MatchString(c) || strings.EqualFold(c, "ALL") {
			return bad("CapAdd", c)
		}
	}
	return nil
}

// dockerCheckWorkspace refuses paths --mount cannot carry: its value is CSV, so a comma would split the
// field, a quote is a CSV syntax error and a newline ends the record.
func dockerCheckWorkspace(ws string) error {
	if !filepath.IsAbs(ws) || filepath.Clean(ws) != ws || strings.ContainsAny(ws, ",\"") ||
		strings.ContainsFunc(ws, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("workspace %q must be a clean absolute path without ',', '\"' or control characters: %w",
			truncate(ws, 80), ErrInvalid)
	}
	return nil
}

// Create implements Backend: `docker run -d` of a long-lived, locked-down container named spec.Name with
// the workspace bind-mounted at the same path. It returns ErrExists if the name is taken, ErrInvalid for a
// bad spec or option or a missing image, and ErrUnavailable when no engine answers.
func (d *Docker) Create(ctx context.Context, spec Spec) (Info, error) {
	op := "docker run " + spec.Name
	image := cmp.Or(spec.Template, d.opts.Image)
	if err := d.opts.Validate(); err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := ValidateName("sandbox", spec.Name); err != nil {
		return Info{}, err
	}
	if err := dockerCheckWorkspace(spec.Workspace); err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := dockerCheckWorkspace(cmp.Or(spec.Mount, spec.Workspace)); err != nil { // isolation: the clone
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if !dockerImageRE.MatchString(image) || len(image) > 255 {
		return Info{}, fmt.Errorf("%s: image %q is not a valid reference: %w", op, truncate(image, 80), ErrInvalid)
	}
	if spec.Agent != "" && !dockerWordRE.MatchString(spec.Agent) {
		return Info{}, fmt.Errorf("%s: agent %q is not valid: %w", op, truncate(spec.Agent, 40), ErrInvalid)
	}
	cmd, token, err := d.runCmd(spec, image)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if _, err := d.r.Run(ctx, cmd); err != nil {
		return Info{}, d.createErr(ctx, op, spec.Name, image, err)
	}
	if token != "" {
		if err := d.saveToken(spec.Name, token); err != nil {
			_, _ = d.r.Run(context.WithoutCancel(ctx), Cmd{Args: d.argv("rm", "-f", "--", spec.Name)})
			return Info{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	return d.Get(ctx, spec.Name)
}

// runCmd builds the `docker run` command and, in port transport, the sandbox-agent token it passes by name.
func (d *Docker) runCmd(spec Spec, image string) (Cmd, string, error) {
	o, ws := d.opts, spec.Workspace
	a := d.argv("run", "-d", "--init", "--name", spec.Name, "--hostname", spec.Name,
		"--label", dockerLabelManaged+"=true",
		"--label", dockerLabelWorkspace+"="+ws,
		"--label", dockerLabelCreated+"="+o.Now().UTC().Format(time.RFC3339),
		"--label", dockerLabelVersion+"="+o.ServerVersion,
		"--label", dockerLabelTransport+"="+o.Transport)
	if spec.Agent != "" {
		a = append(a, "--label", dockerLabelAgent+"="+spec.Agent)
	}
	// Isolation (docs/isolation.md): the server-owned clone is mounted at the workspace's path, or
	// nothing is (bundle path); direct mode mounts the workspace itself.
	if !spec.NoMount {
		a = append(a, "--mount", "type=bind,source="+cmp.Or(spec.Mount, ws)+",target="+ws)
	}
	a = append(a, "-w", ws)
	if o.User != "" {
		a = append(a, "--user", o.User)
	}
	a = append(a, "-e", "HOME="+o.Home, "--cap-drop", "ALL")
	for _, c := range o.CapAdd {
		a = append(a, "--cap-add", c)
	}
	a = append(a, "--security-opt", "no-new-privileges", "--memory", o.Memory, "--memory-swap", o.Memory, "--cpus", o.CPUs)
	if o.PidsLimit > 0 {
		a = append(a, "--pids-limit", strconv.Itoa(o.PidsLimit))
	}
	if o.Network != "" {
		a = append(a, "--network", o.Network)
	}
	a = append(a, "--pull", map[bool]string{false: "never", true: "missing"}[o.Pull])
	if o.ReadOnlyRoot {
		// HOME is where sandbox-agent installs agents and their launchers, so its tmpfs must allow exec
		// (Docker's tmpfs default is noexec) and be writable whatever uid runs the container.
		a = append(a, "--read-only", "--tmpfs", "/tmp", "--tmpfs", o.Home+":exec,mode=1777")
	}
	if o.Transport != "port" {
		// sleep(1) of busybox and of coreutils both accept "infinity"; --init makes it stop at once.
		return Cmd{Args: append(a, "--entrypoint", "sleep", image, "infinity")}, "", nil
	}

	host, port := "0.0.0.0", o.AgentPort
	if o.Network == "host" {
		p, err := d.freePort()
		if err != nil {
			return Cmd{}, "", err
		}
		host, port = "127.0.0.1", p
	}
	a = append(a, "--label", dockerLabelAgentPort+"="+strconv.Itoa(port),
		"-e", "SANDBOX_MCP_AGENT_HOST="+host, "-e", "SANDBOX_MCP_AGENT_PORT="+strconv.Itoa(port), "-e", dockerTokenVar)
	if o.Network != "host" {
		a = append(a, "-p", "127.0.0.1::"+strconv.Itoa(port))
	}
	for _, e := range spec.AgentEnv {
		if err := dockerCheckEnv(e); err != nil {
			return Cmd{}, "", err
		}
		a = append(a, "-e", e)
	}
	a = append(a, "--entrypoint", "sh", image, "-c", dockerAgentScript)

	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	token := hex.EncodeToString(b)
	env := o.BaseEnv
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, dockerTokenVar+"=") })
	return Cmd{Args: a, Env: append(env, dockerTokenVar+"="+token)}, token, nil
}

// dockerCheckEnv accepts NAME=VALUE or a bare NAME (passed by name from the CLI's environment).
func dockerCheckEnv(e string) error {
	name, _, _ := strings.Cut(e, "=")
	if !dockerEnvNameRE.MatchString(name) {
		return fmt.Errorf("environment entry %q does not start with a valid NAME: %w", truncate(name, 40), ErrInvalid)
	}
	return nil
}

// createErr maps a failed `docker run`. A container left in "created" state (the daemon created it but
// could not start it) is removed, so that a retry does not meet ErrExists.
func (d *Docker) createErr(ctx context.Context, op, name, image string, err error) error {
	stderr := dockerStderr(err)
	switch {
	case stderr == "":
		return dockerErr(op, name, err)
	case strings.Contains(stderr, "is already in use"):
		// "Conflict. The container name "/X" is already in use by container "…"".
		return fmt.Errorf("%s: a container named %s exists already: %w", op, name, ErrExists)
	case dockerUnreachable(stderr):
		return dockerErr(op, name, err)
	case !d.opts.Pull && strings.Contains(stderr, "No such image"):
		return fmt.Errorf("%s: image %s not found locally: build it (see README) or pass --docker-pull: %w", op, image, ErrInvalid)
	case d.opts.Pull && strings.Contains(stderr, "Unable to find image"):
		return fmt.Errorf("%s: image %s not found locally and could not be pulled (%s): %w", op, image, tail(stderr, 200), ErrInvalid)
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if cs, ierr := d.inspect(bg, name); ierr == nil && cs[0].State.Status == "created" &&
		cs[0].Config.Labels[dockerLabelManaged] == "true" {
		_, _ = d.r.Run(bg, Cmd{Args: d.argv("rm", "-f", "--", name)})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// dockerFreePort asks the kernel for a free loopback port. Another process may take it before the
// container binds it; then sandbox-agent exits and the health wait reports it.
func dockerFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
