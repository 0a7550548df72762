package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Labels put on every container the Docker backend creates. List filters on the first; the others let Get
// rebuild Info (and AgentEndpoint its URL) after a server restart, with no state of our own.
const (
	dockerLabelManaged   = "org.sandbox-mcp.managed"
	dockerLabelWorkspace = "org.sandbox-mcp.workspace"
	dockerLabelCreated   = "org.sandbox-mcp.created"
	dockerLabelVersion   = "org.sandbox-mcp.version"
	dockerLabelTransport = "org.sandbox-mcp.transport"
	dockerLabelAgent     = "org.sandbox-mcp.agent"
	// dockerLabelAgentPort is sandbox-agent's port inside the container (port transport only).
	dockerLabelAgentPort = "org.sandbox-mcp.agent-port"
	// dockerLabelAgentBin and dockerLabelAgentVersion: sandbox-agent was provisioned, at that path.
	dockerLabelAgentBin     = "org.sandbox-mcp.agent-bin"
	dockerLabelAgentVersion = "org.sandbox-mcp.agent-version"
	// dockerLabelAgentsVolume names the volume of shared agent installs the sandbox reads.
	dockerLabelAgentsVolume = "org.sandbox-mcp.agents-volume"
)

// DefaultDockerImage is the Docker backend's default image: public, and built on buildpack-deps (git,
// curl, CA certificates) with node and npm, which sandbox-agent's agent installs use.
const DefaultDockerImage = "node:22-bookworm"

// AgentProvider returns the host path of a static sandbox-agent for linux/arch and its version.
type AgentProvider func(ctx context.Context, arch string) (path, version string, err error)

// DockerOptions configures the plain Docker Engine backend. Each field becomes a server flag; the zero value
// of a field means its default as documented, except User (see there). DefaultDockerOptions returns them.
type DockerOptions struct {
	// Binary is the docker CLI, looked up on PATH. Default "docker".
	Binary string
	// Context, when set, is passed as `--context X` before every subcommand. Default "": the CLI's current
	// context, or DOCKER_HOST when it is in the runner's environment.
	Context string
	// Image is used when Spec.Template is empty, and pulled on its first use when it is missing (with
	// progress). Default "node:22-bookworm": a public stock image with node, npm, git, curl and CA
	// certificates; sandbox-agent is provisioned, not taken from the image (ProvideAgent).
	Image string
	// Pull false (default) runs other allowed images with `--pull never`: a missing image fails at once
	// instead of reaching out to a registry. True runs them with `--pull missing`. The default Image is
	// always pulled when missing.
	Pull bool
	// ProvideAgent, when set, gives a static sandbox-agent for linux/<arch> on the host (package
	// provision). It is bind-mounted read-only at /opt/sandbox-mcp/sandbox-agent and run from there, so the
	// image needs none of its own. Nil: the image's sandbox-agent, on PATH.
	ProvideAgent AgentProvider
	// AgentsVolume, when set with a relay transport and ProvideAgent, is the prefix of the named volume
	// "<AgentsVolume>-<arch>" that keeps agent installs across sandboxes (docker_agents.go). "": none.
	AgentsVolume string
	// Network is passed as `--network`. Default "": Docker's default bridge. Also "none" (exec transport
	// only) or "host"; any other network name is passed as is.
	Network string
	// Memory is the memory limit, also used as --memory-swap so the sandbox gets no swap. Default "4g".
	Memory string
	// CPUs is passed as --cpus. Default "2" (Docker refuses more than the host has).
	CPUs string
	// PidsLimit is passed as --pids-limit. Default 1024; negative means no limit.
	PidsLimit int
	// CapAdd lists capabilities added back after `--cap-drop ALL`. Default none; "ALL" is refused.
	CapAdd []string
	// ReadOnlyRoot runs with --read-only, plus tmpfs on /tmp and on Home. Default false.
	ReadOnlyRoot bool
	// User is passed as --user. DefaultDockerOptions sets the server's own uid:gid, so files the agent
	// writes in the workspace belong to the user; "" keeps the image's USER.
	User string
	// Home is set as HOME inside the sandbox. Default "/home/agent".
	Home string
	// ServerVersion is recorded in the org.sandbox-mcp.version label. Default "dev".
	ServerVersion string
	// Transport says how the server reaches sandbox-agent: "exec" (default: through `docker exec`), or
	// through `sandbox-mcp relay` as the container's main process (docker_relay.go): "socket" (a unix
	// socket in a 0700 host folder) or "port" (TCP published on 127.0.0.1, with a bearer token); "auto"
	// picks socket, else port (Docker Desktop), else exec when the relay cannot run (see AgentEndpoint).
	Transport string
	// AgentPort is the port inside the container of sandbox-agent (exec, socket) or of the relay (port,
	// with sandbox-agent on the next one). Default 2468. With Network "host" free loopback ports are
	// picked instead.
	AgentPort int
	// Relay is the executable run in port- and socket-transport containers as `relay`: a static Linux
	// build of sandbox-mcp. Default "": the server's own executable.
	Relay string
	// InsecureHostNetwork allows Network "host". There the container's loopback is the host's, and no
	// transport can keep sandbox-agent 0.4.2 both off argv and away from other local users (see
	// SECURITY.md), so Validate refuses "host" without it.
	InsecureHostNetwork bool
	// Logger receives the one notice when auto falls back to exec. Default: discard.
	Logger *slog.Logger
	// StateDir keeps one file per port-transport sandbox, "<StateDir>/<name>.token" (mode 0600, directory
	// 0700), holding its sandbox-agent token, so AgentEndpoint still works after a server restart.
	// Default "": tokens live in memory only.
	StateDir string
	// BaseEnv is the docker CLI's environment when the backend must set Cmd.Env itself (port transport
	// passes the token by name). It should be the runner's own base environment; nil means os.Environ().
	BaseEnv []string
	// Now stamps the created label. Default time.Now.
	Now func() time.Time
}

// DefaultDockerOptions returns every default, with User set to the server's own uid:gid.
func DefaultDockerOptions() DockerOptions {
	o := DockerOptions{User: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())}
	o.fill()
	return o
}

func (o *DockerOptions) fill() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Binary, "docker")
	def(&o.Image, DefaultDockerImage)
	def(&o.Memory, "4g")
	def(&o.CPUs, "2")
	def(&o.Home, "/home/agent")
	def(&o.ServerVersion, "dev")
	def(&o.Transport, "exec")
	if o.PidsLimit == 0 {
		o.PidsLimit = 1024
	}
	if o.AgentPort == 0 {
		o.AgentPort = 2468
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Docker is the plain Docker Engine backend: one long-lived container per sandbox, driven through the
// docker CLI. It is safe for concurrent use.
type Docker struct {
	r    Runner
	opts DockerOptions

	mu      sync.Mutex
	tokens  map[string]string   // sandbox name → sandbox-agent token (port transport)
	planned *dockerPlan         // resolved transport (docker_relay.go)
	engine  string              // `docker version` platform answer, "os/arch|name", once asked
	fresh   map[string]Endpoint // sandboxes just created by us, reachable without an inspect (docker_exec.go)
	install sync.Mutex          // one agent install into the shared volume at a time (docker_agents.go)
	// freePort picks the host port in port transport with host networking; tests replace it.
	freePort func() (int, error)
	// checkRelay is relay.CheckExecutable; tests replace it.
	checkRelay func(path, engineOS, arch string) error
}

// NewDocker returns the Docker backend. Options are checked by each Create (and by DockerOptions.Validate,
// which the server calls at start-up), so a bad flag surfaces as ErrInvalid rather than a panic.
func NewDocker(r Runner, opts DockerOptions) *Docker {
	opts.fill()
	return &Docker{r: r, opts: opts, tokens: map[string]string{}, fresh: map[string]Endpoint{},
		freePort: dockerFreePort, checkRelay: checkRelayDefault}
}

// Name implements Backend.
func (d *Docker) Name() string { return "docker" }

// argv is the docker command line for one subcommand, with the global flags first.
func (d *Docker) argv(sub string, args ...string) []string {
	a := []string{d.opts.Binary}
	if d.opts.Context != "" {
		a = append(a, "--context", d.opts.Context)
	}
	return append(append(a, sub), args...)
}

// Check implements Backend: it asks the engine for its version. It returns ErrUnavailable, with a hint, when
// the CLI is missing or no engine answers.
func (d *Docker) Check(ctx context.Context) error {
	res, err := d.r.Run(ctx, Cmd{Args: d.argv("version", "--format", "{{.Server.Version}}")})
	var ee *ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrUnavailable) && !errors.As(err, &ee):
		return Errorf(Unavailable, "docker version: %s is not installed or not on PATH: install Docker Engine "+
			"(https://docs.docker.com/engine/install/) or pass --docker-bin with the CLI's path", d.opts.Binary)
	case errors.As(err, &ee):
		first, _, _ := strings.Cut(strings.TrimSpace(ee.Stderr), "\n")
		return Errorf(Unavailable, "docker version: no Docker Engine answers (%s): start Docker, set DOCKER_HOST or pass --docker-context",
			truncate(first, 200))
	case err != nil:
		return Errorf(Unavailable, "docker version: %w", err)
	case strings.TrimSpace(string(res.Stdout)) == "":
		return Errorf(Unavailable, "docker version: the engine reported no version")
	}
	return nil
}

// Get implements Backend. It returns ErrNotFound when no container has that name; a container not created
// by sandbox-mcp is returned with Managed false.
func (d *Docker) Get(ctx context.Context, name string) (Info, error) {
	if err := ValidateName("sandbox", name); err != nil {
		return Info{}, err
	}
	c, err := d.inspectName(ctx, name)
	if err != nil {
		return Info{}, err
	}
	return c.info(), nil
}

// List implements Backend: the containers labelled as ours, running or not.
func (d *Docker) List(ctx context.Context) ([]Info, error) {
	res, err := d.r.Run(ctx, Cmd{Args: d.argv("ps", "-a", "-q", "--filter", "label="+dockerLabelManaged+"=true")})
	if err != nil {
		return nil, dockerErr("docker ps", "", err)
	}
	ids := strings.Fields(string(res.Stdout))
	if len(ids) == 0 {
		return []Info{}, nil
	}
	// Labels come from inspect's JSON, never from `ps --format`: workspace paths may hold commas.
	cs, err := d.inspect(ctx, ids...)
	if errors.Is(err, ErrNotFound) {
		return []Info{}, nil // all of them were removed between ps and inspect
	}
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(cs))
	for _, c := range cs {
		infos = append(infos, c.info())
	}
	return infos, nil
}

// Remove implements Backend: `docker rm -f`, then forgets the sandbox's token. It returns ErrNotFound when
// the container is already gone.
func (d *Docker) Remove(ctx context.Context, name string) error {
	if err := ValidateName("sandbox", name); err != nil {
		return err
	}
	op := "docker rm " + name
	// Look first: `docker rm -f -- NAME` exits 0 and prints nothing for a missing container (CLI 28.2.2
	// against engine 20.10), and a container we did not create must never be removed.
	// Removed by its full id, the very container whose labels were just read: a name can also resolve to
	// another container (an id prefix), and a full id matches only itself.
	c, err := d.inspectName(ctx, name)
	if err != nil {
		return err
	}
	if !c.info().Managed || c.ID == "" {
		return Errorf(Invalid, "%s: container %q was not created by sandbox-mcp; refusing to remove it", op, name)
	}
	res, err := d.r.Run(ctx, Cmd{Args: d.argv("rm", "-f", "--", c.ID)})
	if err != nil {
		return dockerErr(op, c.ID, err)
	}
	if err := d.forgetToken(name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if dir := c.Config.Labels[dockerLabelSocket]; dir != "" && d.opts.StateDir != "" && dir == d.socketDir(name) {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("%s: removing its socket folder: %w", op, err)
		}
	}
	// Both the 28.x and the 20.10 CLI print "No such container" but exit 0 for `rm -f` of a missing
	// container (cli/command/container/rm.go ignores not-found errors with --force).
	if dockerNoSuch(string(res.Stderr), c.ID) {
		return Errorf(NotFound, "%s: no such container", op)
	}
	return nil
}

// dockerStopGrace is `docker stop -t`: seconds between SIGTERM and SIGKILL. The main process is
// `sleep infinity` or sandbox-agent under --init, which both stop at once on SIGTERM; agents get a moment
// to exit on their own.
const dockerStopGrace = "5"

// Stop implements Backend: `docker stop -t 5 -- NAME`, only for a container sandbox-mcp created. Exec and
// AgentEndpoint start it again; its sandbox-agent token is kept, since the container keeps its environment.
// It returns ErrNotFound when the container is gone and ErrInvalid for a container we did not create.
func (d *Docker) Stop(ctx context.Context, name string) error {
	if err := ValidateName("sandbox", name); err != nil {
		return err
	}
	op := "docker stop " + name
	// Look first, as Remove does: a container we did not create must never be touched.
	info, err := d.Get(ctx, name)
	if err != nil {
		return err
	}
	if !info.Managed {
		return Errorf(Invalid, "%s: container %q was not created by sandbox-mcp; refusing to stop it", op, name)
	}
	// Stopping a stopped container exits 0; a container removed since inspect gives "No such container".
	if _, err := d.r.Run(ctx, Cmd{Args: d.argv("stop", "-t", dockerStopGrace, "--", name)}); err != nil {
		return dockerErr(op, name, err)
	}
	return nil
}

// dockerContainer is the part of `docker inspect --type container` output we read.
type dockerContainer struct {
	ID      string `json:"Id"`
	Name    string
	Created time.Time
	State   struct {
		Status  string
		Running bool
	}
	Config struct {
		Image  string
		Labels map[string]string
	}
	HostConfig struct {
		NetworkMode string
	}
	Mounts []struct{ Type, Source, Destination string } // checked before every start (docker_mounts.go)
}

func (c dockerContainer) info() Info {
	l := c.Config.Labels
	info := Info{
		Name:     strings.TrimPrefix(c.Name, "/"),
		Backend:  "docker",
		Status:   StatusStopped,
		Agent:    l[dockerLabelAgent],
		Template: c.Config.Image,
		Created:  c.Created,
		Managed:  l[dockerLabelManaged] == "true",
	}
	if c.State.Status == "running" {
		info.Status = StatusRunning
	}
	// Our created label, when there is one, is when sandbox-mcp created it: prune goes by it.
	if t, err := time.Parse(time.RFC3339, l[dockerLabelCreated]); err == nil && info.Managed {
		info.Created = t
	}
	if ws := l[dockerLabelWorkspace]; ws != "" {
		info.Workspaces = []string{ws}
	}
	if info.Managed && l[dockerLabelAgentBin] == dockerAgentTarget {
		info.AgentBin, info.AgentVersion = dockerAgentTarget, l[dockerLabelAgentVersion]
	}
	if info.Managed {
		info.AgentsVolume = l[dockerLabelAgentsVolume]
	}
	return info
}

// inspectName returns the container named exactly name. `docker inspect NAME` also matches a container
// whose id starts with NAME when none is named so: that one is not ours to report (ErrNotFound).
func (d *Docker) inspectName(ctx context.Context, name string) (dockerContainer, error) {
	cs, err := d.inspect(ctx, name)
	if err != nil {
		return dockerContainer{}, err
	}
	if cs[0].Name != "/"+name {
		return dockerContainer{}, Errorf(NotFound, "docker inspect %s: no container of that name (%s matches another container's id)",
			name, name)
	}
	return cs[0], nil
}

// inspect returns the containers named or identified by refs. It returns ErrNotFound when none exists;
// with several refs, the ones that do exist are returned (docker prints them and exits 1).
func (d *Docker) inspect(ctx context.Context, refs ...string) ([]dockerContainer, error) {
	op := "docker inspect " + strings.Join(refs, " ")
	res, err := d.r.Run(ctx, Cmd{Args: d.argv("inspect", append([]string{"--type", "container", "--"}, refs...)...)})
	var cs []dockerContainer
	if jerr := json.Unmarshal(res.Stdout, &cs); jerr != nil && err == nil {
		return nil, fmt.Errorf("%s: parsing output: %w", op, jerr)
	}
	if err != nil && (len(cs) == 0 || !dockerNoSuch(dockerStderr(err), "")) {
		return nil, dockerErr(op, "", err)
	}
	if len(cs) == 0 {
		return nil, Errorf(NotFound, "%s: no such container", op)
	}
	return cs, nil
}
