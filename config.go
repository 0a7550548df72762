package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
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
	sbxBin, dockerBin                      string
	sbxPassKeys                            bool // pass agent keys sbx does not hold into its VMs by value
	docker                                 sandbox.DockerOptions
	workers                                int
	httpAddr, httpTokenFile                string
	idleTTL                                time.Duration
	autoPermission                         string
	budget                                 state.Budget // --max-turn-*: default and ceiling of every turn's budget
	maxTurnTime                            time.Duration
	version                                bool
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("sandbox-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("SANDBOX_MCP_" + name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		n, err := strconv.Atoi(env(name, strconv.Itoa(def)))
		if err != nil {
			return def
		}
		return n
	}
	envDur := func(name string, def time.Duration) time.Duration {
		d, err := time.ParseDuration(env(name, def.String()))
		if err != nil {
			return def
		}
		return d
	}
	var passEnv, cliEnv, roots, capAdd string
	dd := sandbox.DefaultDockerOptions()
	fs.StringVar(&c.backend, "backend", env("BACKEND", "auto"), "sandbox backend: auto, sbx, docker-sandbox or docker (env SANDBOX_MCP_BACKEND)")
	fs.StringVar(&c.stateDir, "state-dir", env("STATE_DIR", defaultStateDir(getenv)), "where sessions and event logs are kept (env SANDBOX_MCP_STATE_DIR)")
	fs.StringVar(&c.logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env SANDBOX_MCP_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", env("LOG_FORMAT", "text"), "text or json; logs go to stderr (env SANDBOX_MCP_LOG_FORMAT)")
	fs.StringVar(&c.template, "template", env("TEMPLATE", ""), "default template for sbx/docker-sandbox: an image with sandbox-agent 0.4 and curl (env SANDBOX_MCP_TEMPLATE)")
	fs.StringVar(&c.sandboxAgentKind, "sandbox-agent-kind", env("SANDBOX_AGENT_KIND", "claude"), "agent kind given to sbx/docker sandbox create (env SANDBOX_MCP_SANDBOX_AGENT_KIND)")
	fs.IntVar(&c.agentPort, "agent-port", envInt("AGENT_PORT", 2468), "sandbox-agent's port inside sandboxes (env SANDBOX_MCP_AGENT_PORT)")
	fs.DurationVar(&c.acpTimeout, "acp-timeout", envDur("ACP_TIMEOUT", 2*time.Hour), "longest agent turn sandbox-agent waits for (env SANDBOX_MCP_ACP_TIMEOUT)")
	fs.DurationVar(&c.execTimeout, "exec-timeout", envDur("EXEC_TIMEOUT", 2*time.Minute), "deadline of one backend CLI call (env SANDBOX_MCP_EXEC_TIMEOUT)")
	fs.StringVar(&passEnv, "pass-env", env("PASS_ENV", ""), "extra variable names passed to agents, comma-separated, besides the agents' API keys (env SANDBOX_MCP_PASS_ENV)")
	fs.StringVar(&cliEnv, "cli-env", env("CLI_ENV", ""), "extra variable names passed to the backend CLIs, comma-separated (env SANDBOX_MCP_CLI_ENV)")
	fs.StringVar(&roots, "allowed-roots", env("ALLOWED_ROOTS", ""), "if set, workspaces must be inside one of these folders, separated by "+string(os.PathListSeparator)+" (env SANDBOX_MCP_ALLOWED_ROOTS)")
	fs.StringVar(&c.sbxBin, "sbx-bin", env("SBX_BIN", "sbx"), "sbx executable (env SANDBOX_MCP_SBX_BIN)")
	fs.StringVar(&c.dockerBin, "docker-bin", env("DOCKER_BIN", "docker"), "docker executable (env SANDBOX_MCP_DOCKER_BIN)")
	fs.StringVar(&c.docker.Image, "docker-image", env("DOCKER_IMAGE", dd.Image), "image for the docker backend (env SANDBOX_MCP_DOCKER_IMAGE)")
	fs.StringVar(&c.docker.Context, "docker-context", env("DOCKER_CONTEXT", ""), "docker context for the docker backend; DOCKER_HOST also works (env SANDBOX_MCP_DOCKER_CONTEXT)")
	fs.BoolVar(&c.docker.Pull, "docker-pull", env("DOCKER_PULL", "") == "true", "pull a missing image instead of failing (env SANDBOX_MCP_DOCKER_PULL=true)")
	fs.StringVar(&c.docker.Network, "docker-network", env("DOCKER_NETWORK", ""), "container network: empty for Docker's default, none, host or a network name (env SANDBOX_MCP_DOCKER_NETWORK)")
	fs.StringVar(&c.docker.Memory, "docker-memory", env("DOCKER_MEMORY", dd.Memory), "memory limit, no swap (env SANDBOX_MCP_DOCKER_MEMORY)")
	// Docker refuses --cpus above the host's count, so a one-CPU machine gets 1.
	fs.StringVar(&c.docker.CPUs, "docker-cpus", env("DOCKER_CPUS", strconv.Itoa(min(2, runtime.NumCPU()))), "CPU limit (env SANDBOX_MCP_DOCKER_CPUS)")
	fs.IntVar(&c.docker.PidsLimit, "docker-pids-limit", envInt("DOCKER_PIDS_LIMIT", dd.PidsLimit), "process limit, negative for none (env SANDBOX_MCP_DOCKER_PIDS_LIMIT)")
	fs.StringVar(&capAdd, "docker-cap-add", env("DOCKER_CAP_ADD", ""), "capabilities added back after dropping all, comma-separated (env SANDBOX_MCP_DOCKER_CAP_ADD)")
	fs.BoolVar(&c.docker.ReadOnlyRoot, "docker-read-only", env("DOCKER_READ_ONLY", "") == "true", "read-only root filesystem with tmpfs /tmp and HOME (env SANDBOX_MCP_DOCKER_READ_ONLY=true)")
	fs.StringVar(&c.docker.User, "docker-user", env("DOCKER_USER", dd.User), "container user; default your uid:gid so workspace files stay yours (env SANDBOX_MCP_DOCKER_USER)")
	fs.StringVar(&c.docker.Transport, "docker-transport", env("DOCKER_TRANSPORT", "auto"), "how to reach sandbox-agent in docker sandboxes: auto, port or exec (env SANDBOX_MCP_DOCKER_TRANSPORT)")
	fs.StringVar(&c.autoPermission, "auto-permission", env("AUTO_PERMISSION", manager.AutoPermissionOff), "answer agents' permission requests by policy: off, edits (reads and edits inside the session's folder) or all (env SANDBOX_MCP_AUTO_PERMISSION)")
	fs.IntVar(&c.workers, "workers", envInt("WORKERS", 32), "tool calls served at once over stdio (env SANDBOX_MCP_WORKERS)")
	fs.StringVar(&c.httpAddr, "http", env("HTTP", ""), "serve MCP over Streamable HTTP at http://ADDR/mcp instead of stdio; :PORT binds 127.0.0.1; "+
		"needs a bearer token in SANDBOX_MCP_HTTP_TOKEN or --http-token-file (env SANDBOX_MCP_HTTP)")
	fs.StringVar(&c.httpTokenFile, "http-token-file", env("HTTP_TOKEN_FILE", ""), "file holding the bearer token for --http; "+
		"must not be readable by other users (env SANDBOX_MCP_HTTP_TOKEN_FILE)")
	fs.DurationVar(&c.idleTTL, "idle-ttl", envDur("IDLE_TTL", 0), "stop sandboxes no tool call has used for this long (sandbox-agent and its agents stop with them; "+
		"create_session starts them again); 0 turns it off (env SANDBOX_MCP_IDLE_TTL)")
	fs.Int64Var(&c.budget.MaxTokens, "max-turn-tokens", int64(envInt("MAX_TURN_TOKENS", 0)), "default and most tokens one agent turn may use; 0 for no limit (env SANDBOX_MCP_MAX_TURN_TOKENS)")
	fs.Float64Var(&c.budget.MaxCostUSD, "max-turn-cost", envFloat(env("MAX_TURN_COST", "0")), "default and most one agent turn may cost, in USD as the agent reports it; 0 for no limit (env SANDBOX_MCP_MAX_TURN_COST)")
	fs.DurationVar(&c.maxTurnTime, "max-turn-time", envDur("MAX_TURN_TIME", 0), "default and longest wall time of one agent turn; 0 for no limit (env SANDBOX_MCP_MAX_TURN_TIME)")
	fs.BoolVar(&c.sbxPassKeys, "sbx-pass-keys", env("SBX_PASS_KEYS", "") == "true", "sbx: pass agent API keys that sbx does not hold as stored secrets into the sandbox by value; by default only `sbx secret` keys are used, through sbx's proxy (env SANDBOX_MCP_SBX_PASS_KEYS=true)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sandbox-mcp [flags]          serve MCP on stdio (or --http)\n"+
			"       sandbox-mcp doctor [flags]   check backends, image, keys and state dir\n"+
			"       sandbox-mcp prune [--older-than 24h] [--dry-run] [flags]   remove our old sandboxes\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.passEnv = append(slices.Clone(manager.DefaultSecretNames), splitList(passEnv, ",")...)
	c.cliEnv = splitList(cliEnv, ",")
	c.allowedRoots = splitList(roots, string(os.PathListSeparator))
	c.docker.CapAdd = splitList(capAdd, ",")
	c.docker.Binary = c.dockerBin
	if c.docker.Transport == "auto" {
		// A published port is the default because it is measured ~500× faster per request than docker
		// exec (0.15 ms against 83 ms for a health check; bench/run), and every event stream, send and
		// permission answer is a request. It needs a network to publish on; with --docker-network none
		// only exec reaches the container.
		// The published port is on the engine's host: for a remote engine (DOCKER_HOST other than a local
		// socket, or a --docker-context) 127.0.0.1 is not there, so exec it is.
		c.docker.Transport = "port"
		host := getenv("DOCKER_HOST")
		remote := c.docker.Context != "" || (host != "" && !strings.HasPrefix(host, "unix://"))
		if c.docker.Network == "none" || remote {
			c.docker.Transport = "exec"
		}
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	if !slices.Contains([]string{"auto", "sbx", "docker-sandbox", "docker"}, c.backend) {
		errs = append(errs, fmt.Errorf("--backend %q: use auto, sbx, docker-sandbox or docker", c.backend))
	}
	if !slices.Contains([]string{"text", "json"}, c.logFormat) {
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.logFormat))
	}
	if err := c.docker.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("docker options: %w", err))
	}
	if !slices.Contains([]string{"port", "exec"}, c.docker.Transport) {
		errs = append(errs, fmt.Errorf("--docker-transport %q: use auto, port or exec", c.docker.Transport))
	}
	if c.docker.Transport == "port" && c.docker.Network == "none" {
		errs = append(errs, errors.New("--docker-transport port needs a network: drop --docker-network none or use --docker-transport exec"))
	}
	if !slices.Contains(manager.AutoPermissionPolicies, c.autoPermission) {
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
	if c.maxTurnTime > 0 {
		c.budget.MaxTurnSeconds = int(max(1, c.maxTurnTime.Round(time.Second)/time.Second))
	}
	if c.idleTTL < 0 {
		errs = append(errs, fmt.Errorf("--idle-ttl %s is negative: use 0 to turn it off", c.idleTTL))
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

// envFloat parses a float flag's environment default; a malformed one is 0 (no limit), as for envInt.
func envFloat(v string) float64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return f
}
