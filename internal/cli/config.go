package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/provision"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// config is everything the flags and environment set. Every flag has an environment variable
// (SANDBOX_MCP_<NAME>), because hosts start the server with an env block more easily than with arguments.
type config struct {
	backend, stateDir, logLevel, logFormat string
	template, sandboxAgentKind             string
	agentPort                              int
	acpTimeout, execTimeout                time.Duration
	passEnv, cliEnv, allowedRoots          []string
	allowedTemplates                       []string
	sbxBin, dockerBin                      string
	cloneTransport                         string // --docker-clone (isolation)
	sbxPassKeys                            bool   // pass agent keys sbx does not hold into its VMs by value
	docker                                 sandbox.DockerOptions
	workers                                int
	httpAddr, httpTokenFile                string
	httpAllowedOrigins                     []string
	idleTTL                                time.Duration
	autoPermission                         string
	budget                                 state.Budget // --max-turn-*: default and ceiling of every turn's budget
	maxTurnTime                            time.Duration
	writableGit                            bool
	version                                bool
	maxEnvelope, maxSessionLog             byteSize
	provisionAgent                         bool   // --provision-agent: put our pinned sandbox-agent into Docker sandboxes
	cacheDir, npmRegistry                  string // where it is cached, and fetched from
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	return parseConfigWith("sandbox-mcp", args, getenv, stderr, nil)
}

// parseConfigWith parses the server's flags plus those extra defines (a subcommand's own), then applies
// the environment (applyEnv) and validates. --version returns before the environment is read, so it works
// with no configuration at all.
func parseConfigWith(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (config, error) {
	var c config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var passEnv, cliEnv, roots, capAdd, origins, allowedTemplates string
	dd := sandbox.DefaultDockerOptions()
	c.maxEnvelope, c.maxSessionLog = byteSize(acp.DefaultMaxEvent), byteSize(live.DefaultMaxLogBytes)
	fs.StringVar(&c.backend, "backend", "auto", "sandbox backend: auto, sbx, docker-sandbox or docker")
	fs.StringVar(&c.stateDir, "state-dir", defaultStateDir(getenv), "where sessions and event logs are kept")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json; logs go to stderr")
	fs.StringVar(&c.template, "template", "", "default template for sbx/docker-sandbox: an image with sandbox-agent 0.4 and curl")
	fs.StringVar(&c.sandboxAgentKind, "sandbox-agent-kind", "claude", "agent kind given to sbx/docker sandbox create")
	fs.IntVar(&c.agentPort, "agent-port", 2468, "sandbox-agent's port inside sandboxes")
	fs.DurationVar(&c.acpTimeout, "acp-timeout", 2*time.Hour, "longest agent turn sandbox-agent waits for")
	fs.DurationVar(&c.execTimeout, "exec-timeout", 2*time.Minute, "deadline of one backend CLI call")
	fs.StringVar(&passEnv, "pass-env", "", "extra variable names passed to agents, comma-separated, besides the agents' API keys")
	fs.StringVar(&cliEnv, "cli-env", "", "extra variable names passed to the backend CLIs, comma-separated")
	fs.StringVar(&roots, "allowed-roots", "", "if set, workspaces must be inside one of these folders, separated by "+string(os.PathListSeparator))
	fs.StringVar(&allowedTemplates, "allowed-templates", "", "images/templates create_sandbox may pull besides the defaults, "+
		"comma-separated path.Match patterns such as ghcr.io/myorg/*:*; others are used only if already on this machine")
	fs.StringVar(&c.sbxBin, "sbx-bin", "sbx", "sbx executable")
	fs.StringVar(&c.dockerBin, "docker-bin", "docker", "docker executable")
	fs.StringVar(&c.docker.Image, "docker-image", dd.Image, "image for the docker backend")
	fs.StringVar(&c.docker.Context, "docker-context", "", "docker context for the docker backend; DOCKER_HOST also works")
	fs.BoolVar(&c.docker.Pull, "docker-pull", false, "pull a missing image instead of failing")
	fs.StringVar(&c.docker.Network, "docker-network", "", "container network: empty for Docker's default, none, host or a network name")
	fs.StringVar(&c.docker.Memory, "docker-memory", dd.Memory, "memory limit, no swap")
	// Docker refuses --cpus above the host's count, so a one-CPU machine gets 1.
	fs.StringVar(&c.docker.CPUs, "docker-cpus", strconv.Itoa(min(2, runtime.NumCPU())), "CPU limit")
	fs.IntVar(&c.docker.PidsLimit, "docker-pids-limit", dd.PidsLimit, "process limit, negative for none")
	fs.StringVar(&capAdd, "docker-cap-add", "", "capabilities added back after dropping all, comma-separated")
	fs.BoolVar(&c.docker.ReadOnlyRoot, "docker-read-only", false, "read-only root filesystem with tmpfs /tmp and HOME")
	fs.StringVar(&c.docker.User, "docker-user", dd.User, "container user; default your uid:gid so workspace files stay yours")
	fs.StringVar(&c.cloneTransport, "docker-clone", "auto", "how a docker sandbox in clone mode gets its clone: auto, mount (a server-owned clone bind-mounted) or bundle (copied in, no host folder mounted; auto picks it for a remote engine)")
	fs.StringVar(&c.docker.Transport, "docker-transport", "auto", "how to reach sandbox-agent in docker sandboxes: auto, socket, port or exec")
	fs.StringVar(&c.docker.Relay, "docker-relay", "", "static linux build of sandbox-mcp run in containers as the socket/port transports' relay; default this executable")
	fs.BoolVar(&c.provisionAgent, "provision-agent", true, "fetch the pinned sandbox-agent once (npm registry, verified, cached) and mount it "+
		"into Docker sandboxes (sbx and docker sandbox: copy it in when the template lacks that version), so any image or template with a shell works; "+
		"false uses the image's own sandbox-agent")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "cache folder for the fetched sandbox-agent; default <user cache dir>/sandbox-mcp")
	fs.StringVar(&c.npmRegistry, "npm-registry", provision.DefaultRegistry, "npm registry sandbox-agent is fetched from")
	fs.StringVar(&c.docker.AgentsVolume, "docker-agents-volume", "sandbox-mcp-agents", "prefix of the Docker volume (<prefix>-<arch>) that keeps "+
		"agent installs for every sandbox, read-only in them; empty turns it off")
	fs.BoolVar(&c.docker.InsecureHostNetwork, "docker-insecure-host-network", false,
		"allow --docker-network host, which exposes sandbox-agent on the host's loopback to every local user")
	fs.StringVar(&c.autoPermission, "auto-permission", live.AutoPermissionOff, "answer agents' permission requests by policy: off, edits (reads and edits inside the sandbox's workspace) or all")
	fs.BoolVar(&c.writableGit, "writable-git", false, "let agents write the workspace's .git (commit, branch); unsafe: an agent can then plant hooks or config that git on the host runs")
	fs.IntVar(&c.workers, "workers", 32, "tool calls served at once over stdio")
	fs.StringVar(&c.httpAddr, "http", "", "serve MCP over Streamable HTTP at http://ADDR/mcp instead of stdio; :PORT binds 127.0.0.1; "+
		"needs a bearer token in SANDBOX_MCP_HTTP_TOKEN or --http-token-file")
	fs.StringVar(&c.httpTokenFile, "http-token-file", "", "file holding the bearer token for --http; "+
		"must not be readable by other users")
	fs.StringVar(&origins, "http-allowed-origins", "", "browser origins allowed to reach --http besides the server's own loopback ones, comma-separated "+
		"scheme://host[:port] (e.g. a TLS proxy's https origin); requests without Origin are always allowed")
	fs.DurationVar(&c.idleTTL, "idle-ttl", 0, "stop sandboxes no tool call has used for this long (sandbox-agent and its agents stop with them; "+
		"create_session starts them again); 0 turns it off")
	fs.Int64Var(&c.budget.MaxTokens, "max-turn-tokens", 0, "default and most tokens one agent turn may use; 0 for no limit")
	fs.Float64Var(&c.budget.MaxCostUSD, "max-turn-cost", 0, "default and most one agent turn may cost, in USD as the agent reports it; 0 for no limit")
	fs.DurationVar(&c.maxTurnTime, "max-turn-time", 0, "default and longest wall time of one agent turn; 0 for no limit")
	fs.Var(&c.maxEnvelope, "max-envelope", "largest message kept from an agent; a bigger one is dropped with an error event")
	fs.Var(&c.maxSessionLog, "max-session-log", "size of one session's event log past which agent output is dropped, turn ends and errors kept")
	fs.BoolVar(&c.sbxPassKeys, "sbx-pass-keys", false, "sbx: pass agent API keys that sbx does not hold as stored secrets into the sandbox by value; by default only `sbx secret` keys are used, through sbx's proxy")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sandbox-mcp [flags]          serve MCP on stdio (or --http)\n"+
			"       sandbox-mcp doctor [flags]   check backends, image, keys and state dir\n"+
			"       sandbox-mcp prune [--older-than 24h] [--dry-run] [flags]   remove our old sandboxes\n\nflags:\n")
		fs.PrintDefaults()
	}
	if extra != nil {
		extra(fs)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !noEnvFlags[f.Name] {
			f.Usage += " (env " + flagEnvName(f.Name) + ")"
		}
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.version {
		return c, nil
	}
	if err := applyEnv(fs, getenv); err != nil {
		return c, err
	}
	c.passEnv = append(slices.Clone(manager.DefaultSecretNames), splitList(passEnv, ",")...)
	c.cliEnv = splitList(cliEnv, ",")
	c.allowedRoots = splitList(roots, string(os.PathListSeparator))
	c.docker.CapAdd = splitList(capAdd, ",")
	c.allowedTemplates = splitList(allowedTemplates, ",")
	c.httpAllowedOrigins = splitList(origins, ",")
	c.docker.Binary = c.dockerBin
	if c.maxTurnTime > 0 {
		c.budget.MaxTurnSeconds = int(max(1, c.maxTurnTime.Round(time.Second)/time.Second))
	}
	// Isolation (docs/isolation.md): a remote engine cannot mount a host folder, so clones travel as bundles.
	if host := getenv("DOCKER_HOST"); c.cloneTransport == "auto" {
		c.cloneTransport = "mount"
		if c.docker.Context != "" || (host != "" && !strings.HasPrefix(host, "unix://")) {
			c.cloneTransport = "bundle"
		}
	}
	if c.docker.Transport == "auto" {
		// A remote engine (DOCKER_HOST other than a local socket, or a --docker-context): our folders and
		// its 127.0.0.1 are not there, so exec it is. Otherwise the backend decides at the first create
		// (socket, else port, else exec: docker_relay.go), because that needs to ask the engine.
		host := getenv("DOCKER_HOST")
		if c.docker.Context != "" || (host != "" && !strings.HasPrefix(host, "unix://")) {
			c.docker.Transport = "exec"
		}
	}
	return c, c.validate()
}

// noEnvFlags have no variable: --version only ever makes sense on a command line.
var noEnvFlags = map[string]bool{"version": true}

// flagEnvName is the variable of a flag: SANDBOX_MCP_ and the name in capitals, '-' as '_'
// (--idle-ttl: SANDBOX_MCP_IDLE_TTL).
func flagEnvName(name string) string {
	return "SANDBOX_MCP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets every flag the command line did not set from its variable, when that is set and not empty,
// through the flag's own parser: a value the flag would refuse is refused here too, naming the variable,
// rather than silently replaced by the default. The command line wins. Every bad variable is reported at
// once.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || noEnvFlags[f.Name] {
			return
		}
		name := flagEnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a valid value for --%s: %w", name, truncateValue(v), f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// truncateValue keeps a bad value short in an error message, without splitting a character (a split one
// would show as a \x escape under %q).
func truncateValue(v string) string {
	if len(v) > 64 {
		return textcut.Head(v, 64) + "…"
	}
	return v
}

func (c config) validate() error {
	var errs []error
	if !slices.Contains([]string{"mount", "bundle"}, c.cloneTransport) {
		errs = append(errs, fmt.Errorf("--docker-clone %q is unknown: use auto, mount or bundle", c.cloneTransport))
	}
	if !slices.Contains([]string{"auto", "sbx", "docker-sandbox", "docker"}, c.backend) {
		errs = append(errs, fmt.Errorf("--backend %q: use auto, sbx, docker-sandbox or docker", c.backend))
	}
	if !slices.Contains([]string{"text", "json"}, c.logFormat) {
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.logFormat))
	}
	if c.docker.Network == "host" && !c.docker.InsecureHostNetwork {
		// One line: the option check below says the same in its own words.
		errs = append(errs, errors.New("--docker-network host puts sandbox-agent on the host's loopback, open to every local user: "+
			"use the default network or none, or opt in with --docker-insecure-host-network (see README)"))
	} else if err := c.docker.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("docker options: %w", err))
	}
	if !slices.Contains([]string{"auto", "socket", "port", "exec"}, c.docker.Transport) {
		errs = append(errs, fmt.Errorf("--docker-transport %q: use auto, socket, port or exec", c.docker.Transport))
	}
	if c.docker.Transport == "port" && c.docker.Network == "none" {
		errs = append(errs, errors.New("--docker-transport port needs a network: drop --docker-network none or use --docker-transport exec"))
	}
	for _, p := range c.allowedTemplates {
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("--allowed-templates pattern %q: %v", p, err))
		}
	}
	if !slices.Contains(live.AutoPermissionPolicies, c.autoPermission) {
		errs = append(errs, fmt.Errorf("--auto-permission %q: use off, edits or all", c.autoPermission))
	}
	if c.agentPort <= 0 || c.agentPort > 65535 {
		errs = append(errs, fmt.Errorf("--agent-port %d is not a port", c.agentPort))
	}
	if c.stateDir == "" || !filepath.IsAbs(c.stateDir) {
		errs = append(errs, fmt.Errorf("--state-dir %q must be an absolute path", c.stateDir))
	}
	if c.httpAddr != "" {
		if _, err := httpListenAddr(c.httpAddr); err != nil {
			errs = append(errs, err)
		}
	} else if c.httpTokenFile != "" {
		errs = append(errs, errors.New("--http-token-file is only used with --http"))
	}
	if c.budget.MaxTokens < 0 || c.budget.MaxCostUSD < 0 || c.budget.MaxCostUSD != c.budget.MaxCostUSD || c.maxTurnTime < 0 {
		errs = append(errs, errors.New("--max-turn-tokens, --max-turn-cost and --max-turn-time must not be negative: use 0 for no limit"))
	}
	for _, o := range c.httpAllowedOrigins {
		if _, ok := normalOrigin(o); !ok {
			errs = append(errs, fmt.Errorf("--http-allowed-origins: %q is not an origin: use scheme://host[:port], e.g. https://mcp.example.com", o))
		}
	}
	if c.idleTTL < 0 {
		errs = append(errs, fmt.Errorf("--idle-ttl %s is negative: use 0 to turn it off", c.idleTTL))
	}
	if c.maxEnvelope < 1<<10 || c.maxEnvelope > 1<<30 {
		errs = append(errs, fmt.Errorf("--max-envelope %s: use 1KiB to 1GiB", &c.maxEnvelope))
	}
	if c.maxSessionLog < 1<<20 {
		errs = append(errs, fmt.Errorf("--max-session-log %s: use at least 1MiB", &c.maxSessionLog))
	}
	if c.workers < 1 || c.workers > 100 {
		errs = append(errs, fmt.Errorf("--workers %d: use 1 to 100", c.workers))
	}
	for _, n := range append(slices.Clone(c.passEnv), c.cliEnv...) {
		if !envNameOK(n) {
			errs = append(errs, fmt.Errorf("variable name %q is not valid", n))
		}
	}
	return errors.Join(errs...)
}

func envNameOK(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// defaultStateDir follows the XDG base directory spec: $XDG_STATE_HOME/sandbox-mcp, else
// ~/.local/state/sandbox-mcp.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sandbox-mcp")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "sandbox-mcp")
	}
	return ""
}

// cliEnvNames are the variables the backend CLIs may need from our environment. Everything else stays
// out of their environment: a CLI has no business with the rest of it.
var cliEnvNames = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "XDG_RUNTIME_DIR",
	"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG",
	"DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION", "SSH_AUTH_SOCK", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"}

// childEnv builds the backend CLIs' environment: the allowlist, the extra names, and the secrets (which
// `exec -e NAME` reads by name, so their values never appear in argv).
func (c config) childEnv(getenv func(string) string) []string {
	var env []string
	seen := map[string]bool{}
	for _, names := range [][]string{cliEnvNames, c.cliEnv, c.passEnv} {
		for _, n := range names {
			if v := getenv(n); v != "" && !seen[n] {
				seen[n] = true
				env = append(env, n+"="+v)
			}
		}
	}
	return env
}
