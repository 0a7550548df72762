// Package cli is the sandbox-mcp command: flags and environment (config), the MCP server over stdio or
// Streamable HTTP, and the doctor and prune subcommands. The main package at the repository root only calls
// Run, so that `go install <module>@latest` builds the command while the code lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/lmittmann/tint"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/prompts"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
	"github.com/sandbox-mcp/sandbox-mcp/relay"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
	"github.com/sandbox-mcp/sandbox-mcp/tools"
)

// Version is the server's version, reported to MCP hosts, in logs and by --version. The command at the
// repository root sets it from its own ldflags-stamped variable (-ldflags "-X main.version=…").
var Version = "0.1.0-dev"

// Run is the whole program with its dependencies as parameters, so tests run it in-process over pipes.
// It serves MCP over stdin/stdout until stdin closes or ctx ends. Nothing touches a backend before the
// first tool call: hosts give initialize only seconds.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "relay":
			// Not for people: the Docker backend runs this inside containers (package relay).
			return relay.Main(ctx, args[1:], stderr)
		case "prune":
			return runPrune(ctx, args[1:], getenv, stdout, stderr)
		case "doctor":
			cfg, err := parseConfig(args[1:], getenv, stderr)
			if err != nil {
				return err
			}
			if !runDoctor(ctx, cfg, getenv, stdout) {
				return errNotReady
			}
			return nil
		}
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintln(stdout, "sandbox-mcp", Version)
		return nil
	}
	// --http: the token is read and checked before anything is built, so a bad one fails at once.
	var token string
	if cfg.httpAddr != "" {
		if token, err = loadHTTPToken(getenv, cfg.httpTokenFile); err != nil {
			return err
		}
		if err := checkHTTPToken(token); err != nil {
			return err
		}
	}
	// The secrets' values, from our own environment, are redacted from everything we write or return;
	// with --http, the token too.
	red := redact.FromEnv(append(slices.Clone(cfg.passEnv), httpTokenEnv), func(n string) string {
		if n == httpTokenEnv {
			return token
		}
		return getenv(n)
	})
	logger := newLogger(cfg, getenv, stderr, red)
	srv, mgr, err := newServer(cfg, getenv, logger, red)
	if err != nil {
		return err
	}
	defer mgr.Close()
	// Resume the streams of sessions that were running when the server last stopped, in the background:
	// it calls backends, which initialize must not wait for. Both goroutines belong to the manager, whose
	// Close (deferred above) stops and joins them.
	mgr.StartRecovery()
	mgr.StartJanitor(cfg.idleTTL, 0)
	if cfg.httpAddr != "" {
		return serveHTTP(ctx, srv, cfg.httpAddr, token, httpOptions{AllowedOrigins: cfg.httpAllowedOrigins},
			logger.With("component", "http"), nil)
	}
	logger.Info("serving MCP on stdio", "version", Version, "backend", cfg.backend, "state_dir", cfg.stateDir)
	stdio := server.NewStdioServer(srv)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	// Long polls and slow CLI calls must not starve quick calls: mcp-go runs only 5 tool calls at once by
	// default.
	server.WithWorkerPoolSize(cfg.workers)(stdio)
	err = stdio.Listen(ctx, stdin, stdout)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// newManager wires backends and state into the manager. red keeps the secrets out of the event logs and
// out of every result. prune uses it alone; the server adds the MCP layer (newMCPServer).
func newManager(cfg config, getenv func(string) string, logger *slog.Logger, red *redact.Redactor) (*manager.Manager, error) {
	store, err := state.Open(cfg.stateDir)
	if err != nil {
		return nil, err
	}
	store.Redact = red.Bytes // no record on disk holds a key, whatever the agent reported
	runner := &sandbox.Exec{Env: cfg.childEnv(getenv), Timeout: cfg.execTimeout, Logger: logger.With("component", "exec")}
	list := newBackends(cfg, getenv, backendWiring{
		runner: func(string) sandbox.Runner { return runner }, baseEnv: runner.Env, stateDir: store.Dir(), logger: logger})
	backends := make(map[string]sandbox.Backend, len(list))
	for _, b := range list {
		backends[b.Name()] = b
	}
	return manager.New(manager.Config{
		Backends: backends, Auto: sandbox.NewLazy(list...), DefaultBackend: cfg.backend, Store: store,
		AgentPort: cfg.agentPort, ACPTimeout: cfg.acpTimeout, SecretNames: cfg.passEnv, Getenv: getenv,
		DefaultAgent: cfg.sandboxAgentKind, AutoPermission: cfg.autoPermission, DefaultBudget: cfg.budget, WritableGit: cfg.writableGit,
		// The configured image and template are defaults too: allowed to be pulled.
		AllowedTemplates: append(slices.Clone(cfg.allowedTemplates), cfg.docker.Image, cfg.template),
		Policy:           manager.WorkspacePolicy{Home: getenv("HOME"), AllowedRoots: cfg.allowedRoots, StateDir: store.Dir(), Getenv: getenv},
		Version:          Version, Logger: logger.With("component", "manager"), Redact: red.Bytes, Secrets: red,
		MaxEnvelope: int(cfg.maxEnvelope), MaxLogBytes: int64(cfg.maxSessionLog),
		CloneTransport: cfg.cloneTransport,
	}), nil
}

// newServer wires the manager, tools and prompts into an MCP server. red keeps the secrets out of every
// tool result, resource and prompt.
func newServer(cfg config, getenv func(string) string, logger *slog.Logger, red *redact.Redactor) (*server.MCPServer, *manager.Manager, error) {
	mgr, err := newManager(cfg, getenv, logger, red)
	if err != nil {
		return nil, nil, err
	}
	return newMCPServer(mgr, logger, red), mgr, nil
}

// newMCPServer is the MCP layer over mgr: tools, resources and prompts, each result redacted.
func newMCPServer(mgr *manager.Manager, logger *slog.Logger, red *redact.Redactor) *server.MCPServer {
	srv := server.NewMCPServer("sandbox-mcp", Version,
		server.WithToolCapabilities(false),
		server.WithPromptCapabilities(false),
		server.WithResourceCapabilities(false, false),
		// Outermost, so that it also sees what the recovery middleware makes of a panic.
		server.WithToolHandlerMiddleware(tools.RedactTools(red)),
		server.WithResourceHandlerMiddleware(tools.RedactResources(red)),
		server.WithPromptHandlerMiddleware(tools.RedactPrompts(red)),
		server.WithRecovery(),
		server.WithInstructions("Delegate coding work to agents in isolated sandboxes: create_sandbox over a project folder, "+
			"create_session with an agent, send_message (returns at once), then get_events with the cursor until the session is idle. "+
			"Answer permission requests with respond_permission; destroy_sandbox when done."),
	)
	srv.AddTools(tools.All(mgr, logger.With("component", "tools"))...)
	resources, templates := tools.Resources(mgr)
	srv.AddResources(resources...)
	srv.AddResourceTemplates(templates...)
	srv.AddPrompts(prompts.All(tools.PromptSource{Svc: mgr})...)
	return srv
}

// newLogger logs to stderr only: stdout belongs to the protocol. Colour only on a terminal, never with
// NO_COLOR, so host log files do not fill with escape codes. Every line goes through red.
func newLogger(cfg config, getenv func(string) string, stderr io.Writer, red *redact.Redactor) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	if cfg.logFormat == "json" {
		return slog.New(red.Handler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})))
	}
	return slog.New(red.Handler(tint.NewTextHandler(stderr, &tint.Options{Level: level, NoColor: !useColor(stderr, getenv)})))
}

// useColor: stderr is a terminal and NO_COLOR (https://no-color.org) is unset or empty in the server's
// environment, as getenv reads it (not the process's: tests and embedders pass their own).
func useColor(stderr io.Writer, getenv func(string) string) bool {
	f, ok := stderr.(*os.File)
	if !ok || getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
