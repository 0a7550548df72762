// Package manager is the server's domain layer: it creates sandboxes through a backend, starts
// sandbox-agent inside them, opens agent sessions over ACP, ingests their event streams into durable logs
// and answers the questions the MCP tools ask. It knows neither MCP (that is package tools) nor any CLI
// (that is package sandbox).
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Agents are the coding agents sandbox-agent 0.4 can run (its `install-agent` list).
var Agents = []string{"claude", "codex", "opencode", "amp", "pi", "cursor", "mock"}

// DefaultSecretNames are the variables passed by name to sandbox-agent (and so to the agents) when they are
// set in the server's environment: the agents' API keys.
var DefaultSecretNames = []string{
	"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "OPENAI_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY",
	"GOOGLE_API_KEY", "OPENROUTER_API_KEY", "AMP_API_KEY", "CURSOR_API_KEY",
}

// Config is what New needs.
type Config struct {
	// Backends by name ("sbx", "docker-sandbox", "docker"), and the one used when a call names none:
	// a name from Backends or "auto" (Auto, which detects lazily).
	Backends       map[string]sandbox.Backend
	Auto           sandbox.Backend
	DefaultBackend string
	Store          *state.Store
	// AgentPort is the port sandbox-agent listens on inside a sandbox (on its loopback).
	AgentPort int
	// ACPTimeout is handed to sandbox-agent as SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS: how long it waits for
	// the agent's reply to one request. 0.4.2's default of 120 s would cut long turns.
	ACPTimeout time.Duration
	// SecretNames are passed by name (values never in argv) when Getenv reports them set.
	SecretNames []string
	Getenv      func(string) string
	// DefaultTemplate is used when create_sandbox names none; DefaultAgent is the sandbox's agent kind.
	DefaultTemplate string
	// AllowedTemplates are the image and template references (path.Match patterns) a caller may choose
	// and have pulled; DefaultTemplate is always allowed. Any other reference is created with pulls
	// disabled: only a copy already on this machine can be used. See templateAllowed.
	AllowedTemplates []string
	DefaultAgent     string
	// Policy decides which workspaces may be mounted.
	Policy WorkspacePolicy
	// WritableGit mounts the workspace's .git read-write like the rest (opt-in, unsafe: see SECURITY.md);
	// by default it is mounted read-only over the workspace.
	WritableGit bool
	Version     string
	Logger      *slog.Logger
	// AutoPermission answers agents' permission requests by policy (AutoPermission* constants).
	AutoPermission string
	// StartupTimeout bounds waiting for sandbox-agent's health check after starting it.
	StartupTimeout time.Duration
	// Redact removes secret values from an SSE envelope before it is appended to the durable event log,
	// so no state file holds a key an agent printed. It must return valid JSON for valid JSON. nil keeps
	// envelopes as they are.
	Redact func([]byte) []byte
	// DefaultBudget limits every turn, and caps what create_session may ask for (budget.go).
	DefaultBudget state.Budget
	// Secrets redacts text streamed in pieces (live/chunks.go), progress messages and merged text before it
	// is cut. When Redact is nil, Secrets.Bytes takes its place.
	Secrets *redact.Redactor
	// MaxEnvelope caps one envelope from the agent (bytes; default acp.DefaultMaxEvent): a bigger one is
	// read past and logged as an error event. MaxLogBytes caps one session's event log (default
	// live.DefaultMaxLogBytes): past it, content is dropped (live/logcap.go).
	MaxEnvelope int
	MaxLogBytes int64
	// CloneTransport is how a Docker sandbox in clone mode gets its clone: CloneMount (default) or
	// CloneBundle (no host folder mounted: for remote engines). See isolation.go.
	CloneTransport string
}

// Manager implements the tools' operations. It is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sess     *live.Config             // what every live session shares
	sessions map[string]*live.Session // key sandbox/session
	sandbox  map[string]*sync.Mutex
	closed   bool
	// ctx is cancelled by Close; wg counts every goroutine the manager starts (spawn), which Close joins.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	idle   idleTracker     // last use of each sandbox, for the idle janitor (ttl.go)
	claims workspaceClaims // workspaces being created, for the overlap check (workspace_live.go)
	// installed: sandbox/agent pairs whose agent install was checked or done (setup.go).
	installedMu sync.Mutex
	installed   map[string]bool
}

// New builds a Manager. It runs nothing: MCP initialize must never wait on Docker.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AgentPort == 0 {
		cfg.AgentPort = 2468
	}
	if cfg.ACPTimeout == 0 {
		cfg.ACPTimeout = 2 * time.Hour
	}
	if cfg.StartupTimeout == 0 {
		cfg.StartupTimeout = 20 * time.Second
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Redact == nil && !cfg.Secrets.Empty() {
		cfg.Redact = cfg.Secrets.Bytes
	}
	if cfg.Redact == nil {
		cfg.Redact = func(b []byte) []byte { return b }
	}
	if cfg.MaxEnvelope <= 0 {
		cfg.MaxEnvelope = acp.DefaultMaxEvent
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = live.DefaultMaxLogBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, log: cfg.Logger, sessions: map[string]*live.Session{}, sandbox: map[string]*sync.Mutex{},
		ctx: ctx, cancel: cancel}
	m.sess = &live.Config{Store: cfg.Store, Logger: cfg.Logger, Redact: cfg.Redact, Secrets: cfg.Secrets,
		MaxEnvelope: cfg.MaxEnvelope, MaxLogBytes: cfg.MaxLogBytes, AutoPermission: cfg.AutoPermission,
		Workspace: m.sessionWorkspace, SandboxGone: m.sandboxGone, Spawn: m.spawn}
	return m
}

// sessionWorkspace is the folder of a sandbox's work as its agent sees it ("" when the sandbox is
// unknown): what --auto-permission edits allows.
func (m *Manager) sessionWorkspace(name string) string {
	rec, err := m.cfg.Store.GetSandbox(name)
	if err != nil {
		return ""
	}
	return m.insideDir(rec)
}

// Close stops every event stream and every other goroutine the manager started (recovery, the janitor,
// prompt deliveries, record writes) and waits for them all. Sandboxes keep running: they belong to the user
// until destroy_sandbox, and a restarted server resumes their streams.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.cancel()
	ls := make([]*live.Session, 0, len(m.sessions))
	for _, l := range m.sessions {
		ls = append(ls, l)
	}
	m.mu.Unlock()
	for _, l := range ls {
		l.Stop()
	}
	m.wg.Wait()
	// Backends that hold processes for their sandboxes (sbx's held sandbox-agent exec) let them go.
	for _, b := range m.cfg.Backends {
		if c, ok := b.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// spawn runs fn in a goroutine the manager owns, with a context Close cancels, and reports whether it did:
// once Close has begun it starts nothing, so no goroutine outlives Close and the wait group is never added
// to while Close waits on it.
func (m *Manager) spawn(fn func(ctx context.Context)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn(m.ctx)
	}()
	return true
}

// StartRecovery runs Recover in the background, owned by the manager: Close cancels and joins it.
func (m *Manager) StartRecovery() {
	m.spawn(m.Recover)
}

// StartJanitor runs RunJanitor(ttl, every) in the background when ttl is positive, owned by the manager:
// Close cancels and joins it.
func (m *Manager) StartJanitor(ttl, every time.Duration) {
	if ttl > 0 {
		m.spawn(func(ctx context.Context) { m.RunJanitor(ctx, ttl, every) })
	}
}

// lockSandbox serialises create/destroy/session creation per sandbox name.
func (m *Manager) lockSandbox(name string) func() {
	m.mu.Lock()
	mu := m.sandbox[name]
	if mu == nil {
		mu = &sync.Mutex{}
		m.sandbox[name] = mu
	}
	m.mu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// backend resolves a backend name ("" means the configured default).
func (m *Manager) backend(name string) (sandbox.Backend, error) {
	if name == "" {
		name = m.cfg.DefaultBackend
	}
	if name == "" || name == "auto" {
		if m.cfg.Auto == nil {
			return nil, sandbox.Errorf(sandbox.Unavailable, "no backend configured")
		}
		return m.cfg.Auto, nil
	}
	b, ok := m.cfg.Backends[name]
	if !ok {
		return nil, invalidf("unknown backend %q: use one of %s", name, strings.Join(m.BackendNames(), ", "))
	}
	return b, nil
}

// BackendNames lists the configured backends, sorted.
func (m *Manager) BackendNames() []string {
	names := make([]string, 0, len(m.cfg.Backends))
	for n := range m.cfg.Backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sandboxRecord finds our record of a sandbox, with an error that tells the model what to do.
func (m *Manager) sandboxRecord(name string) (state.Sandbox, error) {
	if err := sandbox.ValidateName("sandbox", name); err != nil {
		return state.Sandbox{}, err
	}
	rec, err := m.cfg.Store.GetSandbox(name)
	if errors.Is(err, state.ErrNotFound) {
		return rec, remedy.Errorf(sandbox.NotFound, remedy.CreateSandbox, "unknown sandbox %q", name)
	}
	return rec, err
}

// invalidf builds an ErrInvalid error with a message for the model.
func invalidf(format string, args ...any) error {
	return sandbox.Errorf(sandbox.Invalid, format, args...)
}

// secretEnv lists the secret names that are set, to pass by name.
func (m *Manager) secretEnv() []string {
	var env []string
	for _, n := range m.cfg.SecretNames {
		if m.cfg.Getenv(n) != "" {
			env = append(env, n)
		}
	}
	return env
}

// agentEnv is sandbox-agent's environment: our settings by value, the secrets by name.
func (m *Manager) agentEnv() []string {
	env := []string{fmt.Sprintf("SANDBOX_AGENT_ACP_REQUEST_TIMEOUT_MS=%d", m.cfg.ACPTimeout.Milliseconds())}
	return append(env, m.secretEnv()...)
}
