package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dockerTokenVar carries the port transport's token to the relay, by name (`docker run -e NAME`).
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
	dockerHexRE     = regexp.MustCompile(`^[0-9a-f]+$`)
)

// Validate checks the options. The error wraps ErrInvalid and names the flag's field.
func (o DockerOptions) Validate() error {
	o.fill()
	bad := func(field, v string) error {
		return Errorf(Invalid, "docker option %s %q is not valid", field, truncate(v, 60))
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
	case o.Transport != "exec" && o.Transport != "port" && o.Transport != "socket" && o.Transport != "auto":
		return bad("Transport", o.Transport)
	case o.Network == "host" && !o.InsecureHostNetwork:
		return Errorf(Invalid, "docker option Network \"host\" would put sandbox-agent on the host's loopback, open to every local user "+
			"(or its token in argv): use the default network or none, or opt in with --docker-insecure-host-network")
	case o.Relay != "" && dockerCheckWorkspace(o.Relay) != nil:
		return bad("Relay", o.Relay)
	case o.Transport == "port" && o.Network == "none":
		return Errorf(Invalid, "docker option Transport \"port\" needs a network (Network is \"none\")")
	case o.AgentsVolume != "" && !dockerWordRE.MatchString(o.AgentsVolume):
		return bad("AgentsVolume", o.AgentsVolume)
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
		return Errorf(Invalid, "workspace %q must be a clean absolute path without ',', '\"' or control characters",
			truncate(ws, 80))
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
	if len(spec.StaticMCP) > 0 { // sbx's MCP gateway has no Docker Engine counterpart (sbx_mcp.go)
		return Info{}, Errorf(Invalid, "%s: sbx MCP registrations exist only on the sbx backend", op)
	}
	if dockerHexRE.MatchString(spec.Name) {
		return Info{}, Errorf(Invalid, "%s: a Docker sandbox name of hex digits only could also match another container's id: "+
			"add a '-' or a letter after f", op)
	}
	if err := dockerCheckWorkspace(spec.Workspace); err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := dockerCheckWorkspace(cmp.Or(spec.Mount, spec.Workspace)); err != nil { // isolation: the clone
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := dockerCheckReadOnly(spec); err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	if !dockerImageRE.MatchString(image) || len(image) > 255 {
		return Info{}, Errorf(Invalid, "%s: image %q is not a valid reference", op, truncate(image, 80))
	}
	if spec.Agent != "" && !dockerWordRE.MatchString(spec.Agent) {
		return Info{}, Errorf(Invalid, "%s: agent %q is not valid", op, truncate(spec.Agent, 40))
	}
	p, err := d.plan(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	prov, err := d.provision(ctx, p)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	cmd, token, err := d.runCmdWith(spec, image, prov)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	t0 := time.Now()
	_, err = d.r.Run(ctx, cmd)
	if err != nil && d.pullsOnFirstUse(image, spec) && strings.Contains(dockerStderr(err), "No such image") {
		// The default image's first use: pulled here, with progress, then run again.
		if err := d.pull(ctx, image); err != nil {
			return Info{}, fmt.Errorf("%s: %w", op, err)
		}
		t0 = time.Now()
		_, err = d.r.Run(ctx, cmd)
	}
	if err != nil {
		return Info{}, d.createErr(ctx, op, spec.Name, image, spec.NoPull, err)
	}
	Step(ctx, "docker run", time.Since(t0))
	if token != "" {
		if err := d.saveToken(spec.Name, token); err != nil {
			_, _ = d.r.Run(context.WithoutCancel(ctx), Cmd{Args: d.argv("rm", "-f", "--", spec.Name)})
			return Info{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	if ep, ok := d.freshEndpoint(spec.Name, cmd, token); ok {
		d.mu.Lock()
		d.fresh[spec.Name] = ep
		d.mu.Unlock()
	}
	// What `docker run -d` just made, from what we asked for: no inspect round trip (it exited 0, so the
	// container exists and its main process started).
	info := Info{Name: spec.Name, Backend: "docker", Status: StatusRunning, Agent: spec.Agent, Template: image,
		Created: prov.created, Managed: true, Workspaces: []string{spec.Workspace}, AgentsVolume: prov.volume}
	if prov.bin != "" {
		info.AgentBin, info.AgentVersion = dockerAgentTarget, prov.version
	}
	return info, nil
}

// runCmd builds the `docker run` command and, in port transport, the relay's token it passes by name.
// Create resolves the plan first.
func (d *Docker) runCmd(spec Spec, image string) (Cmd, string, error) {
	return d.runCmdWith(spec, image, dockerProvision{created: d.opts.Now()})
}

func (d *Docker) runCmdWith(spec Spec, image string, prov dockerProvision) (Cmd, string, error) {
	o, ws := d.opts, spec.Workspace
	d.mu.Lock()
	p := dockerPlan{transport: "exec"}
	if d.planned != nil {
		p = *d.planned
	}
	d.mu.Unlock()
	a := d.argv("run", "-d", "--init", "--name", spec.Name, "--hostname", spec.Name,
		"--label", dockerLabelManaged+"=true",
		"--label", dockerLabelWorkspace+"="+ws,
		"--label", dockerLabelCreated+"="+prov.created.UTC().Format(time.RFC3339),
		"--label", dockerLabelVersion+"="+o.ServerVersion,
		"--label", dockerLabelTransport+"="+p.transport)
	if spec.Agent != "" {
		a = append(a, "--label", dockerLabelAgent+"="+spec.Agent)
	}
	// Isolation (docs/isolation.md): the server-owned clone is mounted at the workspace's path, or
	// nothing is (bundle path); direct mode mounts the workspace itself, with its .git read-only over it.
	if !spec.NoMount {
		a = append(a, "--mount", "type=bind,source="+cmp.Or(spec.Mount, ws)+",target="+ws)
		for _, p := range spec.ReadOnly {
			if spec.Mount != "" {
				break // the overlays are the user's folders: never over a clone
			}
			// Mounted over the read-write workspace: the agent sees the same path, read-only (the .git).
			a = append(a, "--mount", "type=bind,source="+p+",target="+p+",readonly")
		}
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
	// The default image, when missing, is pulled by Create itself (with progress) and the run retried.
	a = append(a, "--pull", map[bool]string{false: "never", true: "missing"}[o.Pull && !spec.NoPull])
	if o.ReadOnlyRoot {
		// HOME is where sandbox-agent installs agents and their launchers, so its tmpfs must allow exec
		// (Docker's tmpfs default is noexec) and be writable whatever uid runs the container.
		a = append(a, "--read-only", "--tmpfs", "/tmp", "--tmpfs", o.Home+":exec,mode=1777")
	}
	if prov.bin != "" {
		a = append(a, "--label", dockerLabelAgentBin+"="+dockerAgentTarget, "--label", dockerLabelAgentVersion+"="+prov.version,
			"--mount", "type=bind,source="+prov.bin+",target="+dockerAgentTarget+",readonly")
	}
	if prov.volume != "" {
		a = append(a, "--label", dockerLabelAgentsVolume+"="+prov.volume,
			"--mount", "type=volume,source="+prov.volume+",target="+dockerAgentsTarget+",readonly")
	}
	if p.transport == "exec" {
		// sleep(1) of busybox and of coreutils both accept "infinity"; --init makes it stop at once.
		return Cmd{Args: append(a, "--entrypoint", "sleep", image, "infinity")}, "", nil
	}
	return d.relayCmd(a, spec, image, p, prov)
}

// dockerCheckEnv accepts NAME=VALUE or a bare NAME (passed by name from the CLI's environment).
func dockerCheckEnv(e string) error {
	name, _, _ := strings.Cut(e, "=")
	if !dockerEnvNameRE.MatchString(name) {
		return Errorf(Invalid, "environment entry %q does not start with a valid NAME", truncate(name, 40))
	}
	return nil
}

// createErr maps a failed `docker run`. A container left in "created" state (the daemon created it but
// could not start it) is removed, so that a retry does not meet ErrExists.
func (d *Docker) createErr(ctx context.Context, op, name, image string, noPull bool, err error) error {
	stderr := dockerStderr(err)
	switch {
	case stderr == "":
		return dockerErr(op, name, err)
	case strings.Contains(stderr, "is already in use"):
		// "Conflict. The container name "/X" is already in use by container "…"".
		return Errorf(Exists, "%s: a container named %s exists already", op, name)
	case dockerUnreachable(stderr):
		return dockerErr(op, name, err)
	case noPull && strings.Contains(stderr, "No such image"):
		return Errorf(Invalid, "%s: image %s is not on this machine, and sandbox-mcp pulls only the images the operator allowed "+
			"(--allowed-templates): use the default image, or pull or build that one yourself first", op, image)
	case !d.opts.Pull && strings.Contains(stderr, "No such image"):
		return Errorf(Invalid, "%s: image %s not found locally: build it (see README) or pass --docker-pull", op, image)
	case d.opts.Pull && strings.Contains(stderr, "Unable to find image"):
		return Errorf(Invalid, "%s: image %s not found locally and could not be pulled (%s)", op, image, tail(stderr, 200))
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if c, ierr := d.inspectName(bg, name); ierr == nil && c.State.Status == "created" && c.ID != "" &&
		c.Config.Labels[dockerLabelManaged] == "true" {
		_, _ = d.r.Run(bg, Cmd{Args: d.argv("rm", "-f", "--", c.ID)})
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
