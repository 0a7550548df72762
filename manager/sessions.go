package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// CreateSessionRequest is create_session's input after binding.
type CreateSessionRequest struct {
	Sandbox, Agent, Name, Cwd, Model, Mode string
	// Budget limits each turn (merged with the server's --max-turn-* limits).
	Budget *state.Budget
	// MCPServers are the agent's own MCP servers (mcp.go).
	MCPServers []state.MCPServer
	// Continue names an ended or failed session to continue in place; Fork names a session whose context
	// a new session starts with (continue.go).
	Continue, Fork string
	// Progress, when set, hears about long first steps while they run (an agent install).
	Progress func(string)
}

// SessionResult describes an open agent session.
type SessionResult struct {
	Sandbox   string          `json:"sandbox"`
	Name      string          `json:"name"`
	Agent     string          `json:"agent"`
	Cwd       string          `json:"cwd"`
	Status    string          `json:"status"`
	AgentInfo json.RawMessage `json:"agent_info,omitempty"`
	Modes     json.RawMessage `json:"modes,omitempty"`
	Models    json.RawMessage `json:"models,omitempty"`
	Budget    *state.Budget   `json:"budget,omitempty"`
	Continued string          `json:"continued,omitempty"`
	Forked    string          `json:"forked_from,omitempty"`
	Turn      string          `json:"turn,omitempty"`
	Setup     []Step          `json:"setup,omitempty"`
}

// initTimeout bounds initialize, which may install the agent's adapter first (npm) inside the sandbox.
// It stays under the ~60 s hosts give a tool call.
const initTimeout = 50 * time.Second

// CreateSession opens an ACP session: initialize (spawning the agent), session/new with the agent's MCP
// servers, and mode/model when asked. The session's event stream starts at once. With Continue it
// continues an ended session instead, and with Fork the new session is primed with another's context
// (continue.go).
func (m *Manager) CreateSession(ctx context.Context, req CreateSessionRequest) (SessionResult, error) {
	if req.Continue != "" {
		return m.continueSession(ctx, req)
	}
	res, primer, err := m.createSession(ctx, req)
	if err != nil || primer == "" {
		return res, err
	}
	return m.prime(ctx, res, primer)
}

// createSession opens a new session; for a fork it also returns the summary to prime it with, which the
// caller sends once the sandbox lock is released.
func (m *Manager) createSession(ctx context.Context, req CreateSessionRequest) (SessionResult, string, error) {
	if !slices.Contains(Agents, req.Agent) {
		return SessionResult{}, "", invalidf("unknown agent %q: use one of %s", req.Agent, strings.Join(Agents, ", "))
	}
	rec, err := m.sandboxRecord(req.Sandbox)
	if err != nil {
		return SessionResult{}, "", err
	}
	if req.Name != "" {
		if err := sandbox.ValidateName("session", req.Name); err != nil {
			return SessionResult{}, "", err
		}
	}
	cwd := req.Cwd
	if cwd == "" {
		cwd = m.insideDir(rec) // the workspace, or where its clone is inside (isolation.go)
	}
	if !filepath.IsAbs(cwd) || filepath.Clean(cwd) != cwd || strings.ContainsRune(cwd, 0) {
		return SessionResult{}, "", invalidf("cwd %q must be a clean absolute path inside the sandbox (default: the workspace)", cwd)
	}
	for _, v := range []struct{ name, value string }{{"model", req.Model}, {"mode", req.Mode}} {
		if v.value != "" && !idRE.MatchString(v.value) {
			return SessionResult{}, "", invalidf("%s %q is not valid", v.name, v.value)
		}
	}
	budget, err := m.sessionBudget(req.Budget)
	if err != nil {
		return SessionResult{}, "", err
	}
	if err := m.validateMCP(req.MCPServers, rec.Workspace); err != nil {
		return SessionResult{}, "", err
	}
	var primer string
	if req.Fork != "" {
		if primer, err = m.forkPrimer(rec.Name, req.Fork); err != nil {
			return SessionResult{}, "", err
		}
	}
	defer m.use(ctx, rec.Name)() // a use, for --idle-ttl (ttl.go)
	defer m.lockSandbox(rec.Name)()
	name, err := m.sessionName(rec.Name, req.Name, req.Agent)
	if err != nil {
		return SessionResult{}, "", err
	}
	srec := state.Session{Sandbox: rec.Name, Name: name, Agent: req.Agent, Cwd: cwd, Model: req.Model, Mode: req.Mode,
		Created: time.Now().UTC(), State: events.NewState(), Budget: budget, MCPServers: req.MCPServers, ForkedFrom: req.Fork}
	sctx, setup := withSetup(ctx, req.Progress)
	if err := m.installAgent(sctx, rec, req.Agent); err != nil {
		return SessionResult{}, "", err
	}
	client, init, err := m.startAgent(ctx, rec, &srec)
	if err != nil {
		return SessionResult{}, "", err
	}
	servers, err := m.acpMCPServers(req.MCPServers, init.MCP)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	newRes, err := client.Request(ctx, acp.Request{ID: acp.NumberID(1), Method: acp.MethodNew,
		Params: acp.SessionParams{Cwd: cwd, MCPServers: servers}}, "", initTimeout)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", fmt.Errorf("open a %s session in %q: %w", req.Agent, rec.Name, err)
	}
	var sn agentSession
	if err := json.Unmarshal(newRes, &sn); err != nil || sn.SessionID == "" {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", fmt.Errorf("%s agent returned no session id: %s", req.Agent, truncate(string(newRes), 200))
	}
	srec.SessionID, srec.Modes, srec.Models = sn.SessionID, sn.Modes, sn.Models
	if err := m.configure(ctx, client, &srec, sn.Modes, sn.Models, sn.ConfigOptions); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	// From here a failure must close the client: sandbox-agent would otherwise keep the agent process
	// running for a session nobody can reach.
	if err := m.cfg.Store.PutSession(srec); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", fmt.Errorf("store session %q of sandbox %q: %w", srec.Name, rec.Name, err)
	}
	l, err := m.open(srec, client)
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return SessionResult{}, "", err
	}
	res := sessionResult(l.Snapshot())
	res.Setup = setup.Steps()
	return res, primer, nil
}

func sessionResult(s state.Session) SessionResult {
	return SessionResult{Sandbox: s.Sandbox, Name: s.Name, Agent: s.Agent, Cwd: s.Cwd, Status: s.State.Status,
		AgentInfo: s.AgentInfo, Modes: s.Modes, Models: s.Models, Budget: s.Budget, Forked: s.ForkedFrom}
}

// agentInit is what initialize told us about the agent.
type agentInit struct {
	LoadSession bool
	MCP         mcpCaps
}

// startAgent makes a client with a fresh server id for srec and sends initialize, which spawns the agent
// (starting sandbox-agent, or the stopped sandbox, again first when it does not answer). It sets
// srec.ServerID, AgentInfo and LoadSession.
func (m *Manager) startAgent(ctx context.Context, rec state.Sandbox, srec *state.Session) (*acp.Client, agentInit, error) {
	b, err := m.backend(rec.Backend)
	if err != nil {
		return nil, agentInit{}, err
	}
	t, _, err := m.transport(ctx, b, rec)
	if err != nil {
		return nil, agentInit{}, gone(rec.Name, err)
	}
	m.allowInstallHosts(ctx, b, rec.Name, srec.Agent) // sbx: the agent's install hosts (netpolicy.go)
	client := &acp.Client{T: t, ServerID: "smcp-" + srec.Name + "-" + randomHex(4)}
	initialize := func() (json.RawMessage, error) {
		return client.Request(ctx, acp.Request{ID: acp.NumberID(0), Method: acp.MethodInitialize, Params: acp.InitializeParams{
			ProtocolVersion: 1,
			ClientInfo:      acp.Implementation{Name: "sandbox-mcp", Version: m.cfg.Version},
		}}, srec.Agent, initTimeout)
	}
	initRes, err := initialize()
	if errors.Is(err, acp.ErrUnreachable) || errors.Is(err, acp.ErrNoClient) {
		// sandbox-agent died, or the sandbox was stopped (idle TTL) since create_sandbox: start it again
		// and retry. Checked only on failure: the version check and health probe would cost two more
		// execs (~40 ms on the sbx double) on every session.
		info, _ := b.Get(ctx, rec.Name) // where the backend put sandbox-agent, if it did
		if _, err := m.ensureAgent(ctx, b, rec, info); err != nil {
			return nil, agentInit{}, gone(rec.Name, err)
		}
		initRes, err = initialize()
	}
	if err != nil {
		client.Close(context.WithoutCancel(ctx))
		return nil, agentInit{}, blockedError(ctx, b, rec.Name, srec.Agent, agentStartError(srec.Agent, err))
	}
	var init struct {
		AgentInfo         json.RawMessage `json:"agentInfo"`
		AgentCapabilities struct {
			LoadSession     bool    `json:"loadSession"`
			MCPCapabilities mcpCaps `json:"mcpCapabilities"`
		} `json:"agentCapabilities"`
	}
	_ = json.Unmarshal(initRes, &init)
	srec.ServerID, srec.AgentInfo = client.ServerID, init.AgentInfo
	srec.LoadSession = init.AgentCapabilities.LoadSession
	// Agents that advertise an API-key auth method (codex-acp) refuse session/new until authenticated.
	if err := m.authenticate(ctx, client, srec.Agent, initRes); err != nil {
		client.Close(context.WithoutCancel(ctx))
		return nil, agentInit{}, err
	}
	return client, agentInit{LoadSession: init.AgentCapabilities.LoadSession, MCP: init.AgentCapabilities.MCPCapabilities}, nil
}

// agentSession is what session/new and session/load answer: the agent's session id and what it offers.
type agentSession struct {
	SessionID     string          `json:"sessionId"`
	Modes         json.RawMessage `json:"modes"`
	Models        json.RawMessage `json:"models"`
	ConfigOptions json.RawMessage `json:"configOptions"`
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$`)

// configure sets mode and model when asked, checking them against what the agent offers.
func (m *Manager) configure(ctx context.Context, c *acp.Client, s *state.Session, modes, models, configOptions json.RawMessage) error {
	if s.Mode != "" {
		var av struct {
			AvailableModes []struct {
				ID string `json:"id"`
			} `json:"availableModes"`
		}
		_ = json.Unmarshal(modes, &av)
		var ids []string
		for _, md := range av.AvailableModes {
			ids = append(ids, md.ID)
		}
		// OpenCode 1.18 reports its modes only as a config option (category mode), set with
		// session/set_config_option; agents with ACP modes take session/set_mode.
		opt := ""
		if len(ids) == 0 {
			opt, ids = categoryOption(configOptions, "mode"), optionValues(configOptions, "mode")
		}
		if !slices.Contains(ids, s.Mode) {
			return invalidf("mode %q is not offered by the %s agent: use one of [%s]", s.Mode, s.Agent, strings.Join(ids, ", "))
		}
		req := acp.Request{ID: acp.NumberID(2), Method: acp.MethodSetMode, Params: acp.SetModeParams{SessionID: s.SessionID, ModeID: s.Mode}}
		if opt != "" {
			req.Method, req.Params = acp.MethodSetConfigOption, acp.SetConfigOptionParams{SessionID: s.SessionID, ConfigID: opt, Value: s.Mode}
		}
		if _, err := c.Request(ctx, req, "", 30*time.Second); err != nil {
			return fmt.Errorf("set mode %q: %w", s.Mode, err)
		}
	}
	if s.Model != "" {
		ids := modelIDs(models, configOptions)
		if len(ids) > 0 && !slices.Contains(ids, s.Model) {
			return invalidf("model %q is not offered by the %s agent: use one of [%s]", s.Model, s.Agent, strings.Join(ids, ", "))
		}
		if err := m.setModel(ctx, c, s.SessionID, s.Model, configOptions); err != nil {
			return fmt.Errorf("set model %q: %w", s.Model, err)
		}
	}
	return nil
}

// agentStartError explains the usual reasons an agent does not start.
func agentStartError(agent string, err error) error {
	var pe *acp.ProblemError
	if errors.As(err, &pe) && pe.Kind() == "install_failed" {
		return fmt.Errorf("sandbox-agent could not install the %s agent (the sandbox needs network access to its registry, or a template with the agent preinstalled): %w", agent, err)
	}
	if errors.Is(err, acp.ErrTimeout) {
		return fmt.Errorf("the %s agent did not answer initialize within %s (it may still be installing; try again): %w", agent, initTimeout, err)
	}
	return fmt.Errorf("start the %s agent: %w", agent, err)
}

// sessionName validates a requested name or picks "<agent>-<n>".
func (m *Manager) sessionName(sandboxName, name, agent string) (string, error) {
	if name != "" {
		if _, err := m.cfg.Store.GetSession(sandboxName, name); err == nil {
			return "", sandbox.Errorf(sandbox.Exists, "session %q already exists in sandbox %q: choose another name", name, sandboxName)
		}
		return name, nil
	}
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s-%d", agent, i)
		if _, err := m.cfg.Store.GetSession(sandboxName, n); errors.Is(err, state.ErrNotFound) {
			return n, nil
		}
	}
}

// open registers a live session, opens its log and starts its stream.
func (m *Manager) open(rec state.Session, client *acp.Client) (*live.Session, error) {
	lg, err := eventlog.Open(m.cfg.Store.LogPath(rec.Sandbox, rec.Name))
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l := live.Open(m.sess, rec, lg, client)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		lg.Close()
		return nil, errors.New("server is shutting down")
	}
	m.sessions[l.Key()] = l
	// Not spawn: m.mu is held, and closed was checked under it just above.
	l.Start(m.ctx, func(fn func()) {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); fn() }()
	})
	return l, nil
}

// session finds a live session, loading it from the state directory after a restart.
func (m *Manager) session(ctx context.Context, sandboxName, name string) (*live.Session, error) {
	if err := sandbox.ValidateName("session", name); err != nil {
		return nil, err
	}
	rec, err := m.sandboxRecord(sandboxName)
	if err != nil {
		return nil, err
	}
	if l := m.cached(sandboxName, name); l != nil {
		return l, nil
	}
	defer m.lockSandbox(sandboxName)()
	return m.load(ctx, rec, name)
}

func (m *Manager) cached(sandboxName, name string) *live.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[sandboxName+"/"+name]
}

// load opens a session from its record. The caller holds the sandbox lock.
func (m *Manager) load(ctx context.Context, rec state.Sandbox, name string) (*live.Session, error) {
	if l := m.cached(rec.Name, name); l != nil {
		return l, nil
	}
	srec, err := m.cfg.Store.GetSession(rec.Name, name)
	if errors.Is(err, state.ErrNotFound) {
		return nil, remedy.Errorf(sandbox.NotFound, remedy.CreateSession, "unknown session %q in sandbox %q", name, rec.Name)
	}
	if err != nil {
		return nil, err
	}
	b, err := m.backend(rec.Backend)
	if err != nil {
		return nil, err
	}
	t, _, err := m.transport(ctx, b, rec)
	if err != nil {
		return nil, err
	}
	return m.open(srec, &acp.Client{T: t, ServerID: srec.ServerID})
}

// closeSessions cancels running turns, closes every session of a sandbox and forgets them.
func (m *Manager) closeSessions(ctx context.Context, rec state.Sandbox) int {
	recs, _ := m.cfg.Store.ListSessions(rec.Name)
	n := 0
	for _, sr := range recs {
		l, err := m.load(ctx, rec, sr.Name)
		if err != nil {
			continue
		}
		if l.End(ctx) {
			n++
		}
	}
	m.forgetSessions(rec.Name)
	return n
}

// forgetSessions stops the streams of a sandbox's sessions and drops them from memory.
func (m *Manager) forgetSessions(sandboxName string) {
	m.mu.Lock()
	var ls []*live.Session
	for k, l := range m.sessions {
		if strings.HasPrefix(k, sandboxName+"/") {
			ls = append(ls, l)
			delete(m.sessions, k)
		}
	}
	m.mu.Unlock()
	for _, l := range ls {
		l.Stop()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
