package cli

import (
	"fmt"
	"log/slog"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/provision"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// backendWiring is what the backends need beyond the flags: where they run commands and keep files, and
// where they log. The server, prune and doctor all build their backends with newBackends, so doctor
// probes exactly what the server would use.
type backendWiring struct {
	// runner gives each backend its command runner by name; doctor wraps each in a recorder of its own.
	runner   func(name string) sandbox.Runner
	baseEnv  []string // the CLIs' environment
	stateDir string   // the server's state folder: each backend keeps its own files in a subfolder
	logger   *slog.Logger
}

// newBackends builds the three backends in the order auto prefers them: Docker Sandboxes (microVMs:
// stronger isolation) first, then the legacy plugin, then plain containers.
func newBackends(cfg config, getenv func(string) string, w backendWiring) []sandbox.Backend {
	logger := w.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dockerOpts := cfg.docker
	dockerOpts.ServerVersion = Version
	dockerOpts.StateDir = w.stateDir + "/docker"
	dockerOpts.BaseEnv = w.baseEnv
	dockerOpts.Logger = logger.With("component", "docker")
	var prov *sandbox.Provision // sbx and the plugin stream it in (sandbox/sbx_provision.go)
	if cfg.provisionAgent {
		// No cache folder (no HOME) is not fatal at start-up: only a create that needs the binary needs one, and says so.
		fetcher, err := cfg.fetcher(getenv)
		dockerOpts.ProvideAgent = provideAgent(fetcher, err, logger.With("component", "provision"))
		prov = &sandbox.Provision{Version: provision.Version, Provide: dockerOpts.ProvideAgent}
	}
	return []sandbox.Backend{
		sandbox.NewSbx(w.runner("sbx"), sandbox.SbxOptions{Binary: cfg.sbxBin, Template: cfg.template, Agent: cfg.sandboxAgentKind,
			AgentPort: cfg.agentPort, StateDir: w.stateDir + "/sbx", BaseEnv: w.baseEnv,
			AgentEnv:  []string{fmt.Sprintf("SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS=%d", cfg.acpTimeout.Milliseconds())},
			AgentKeys: manager.DefaultSecretNames, PassKeys: cfg.sbxPassKeys,
			Warn: func(msg string) { logger.Warn(msg, "component", "sbx") }, Provision: prov}),
		sandbox.NewDockerSandbox(w.runner("docker-sandbox"), sandbox.DockerSandboxOptions{Binary: cfg.dockerBin, Template: cfg.template, Agent: cfg.sandboxAgentKind,
			Provision: prov}),
		sandbox.NewDocker(w.runner("docker"), dockerOpts),
	}
}
