package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/internal/agentversion"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// CreateSandboxRequest is create_sandbox's input after binding.
type CreateSandboxRequest struct {
	Workspace, Name, Agent, Template, Backend string
	// Roots are the host folders the MCP client shared (its file:// roots, as paths). When there are any,
	// the workspace must be inside one of them.
	Roots []string
	// Isolation (isolation.go): "clone", "direct" or "" (clone for a repository's top folder). Base is
	// the ref the clone starts from; IncludeUncommitted snapshots the user's uncommitted work into it.
	Isolation, Base    string
	IncludeUncommitted bool
	// Progress, when set, hears about long first steps while they run (an image pull, a sandbox-agent
	// fetch).
	Progress func(string)
	// SbxMCP names MCP servers the operator registered with `sbx mcp add`, for the sandbox's sbx MCP
	// gateway (sbxmcp.go). sbx only.
	SbxMCP []string
}

// SandboxResult describes a ready sandbox.
type SandboxResult struct {
	Name         string `json:"name"`
	Backend      string `json:"backend"`
	Workspace    string `json:"workspace"`
	Status       string `json:"status"`
	AgentVersion string `json:"agent_version"`
	Reused       bool   `json:"reused"`
	// Isolation says whether the sandbox works on a clone and on which branch (isolation.go).
	Isolation *IsolationInfo `json:"isolation,omitempty"`
	Setup     []Step         `json:"setup,omitempty"`
	// SbxMCP are the sbx MCP registrations attached to the sandbox's gateway by this server (sbxmcp.go).
	SbxMCP []string `json:"sbx_mcp,omitempty"`
	// Warning says what to look at although the sandbox is ready: a sandbox-agent outside the verified 0.4.x.
	Warning string `json:"warning,omitempty"`
}

// CreateSandbox creates the sandbox (or finds the existing one for the same name and workspace), makes
// sure sandbox-agent runs in it and answers its health check. A sandbox created by this call is removed
// again if sandbox-agent cannot be started, so a retry with another template starts clean.
func (m *Manager) CreateSandbox(ctx context.Context, req CreateSandboxRequest) (SandboxResult, error) {
	ws, err := m.cfg.Policy.CheckWithRoots(req.Workspace, req.Roots)
	if err != nil {
		return SandboxResult{}, err
	}
	name := req.Name
	if name == "" {
		name = sandbox.DefaultName(ws)
	}
	if err := sandbox.ValidateName("sandbox", name); err != nil {
		return SandboxResult{}, err
	}
	if req.Agent != "" && !validKind.MatchString(req.Agent) {
		return SandboxResult{}, invalidf("agent %q is not valid: use a sandbox agent kind such as claude, codex or shell", req.Agent)
	}
	if req.Template != "" && !templateRE.MatchString(req.Template) {
		return SandboxResult{}, invalidf("template %q is not a valid image reference", req.Template)
	}
	b, err := m.backend(req.Backend)
	if err != nil {
		return SandboxResult{}, err
	}
	if l, ok := b.(*sandbox.Lazy); ok {
		// --backend auto: from here on work with the backend it detects (once), so that what that backend
		// offers beyond Backend (sbx's MCP gateway, --clone, its held exec's watch) is seen at create too.
		if b, err = l.Backend(ctx); err != nil {
			return SandboxResult{}, err
		}
	}
	mcpNames, gw, err := sbxMCPRequest(b, req.SbxMCP) // names only, sbx only (sbxmcp.go)
	if err != nil {
		return SandboxResult{}, err
	}
	defer m.use(ctx, name)() // a use, for --idle-ttl (ttl.go)
	defer m.lockSandbox(name)()
	release, err := m.claimWorkspace(name, ws) // no overlap with another live sandbox (workspace_live.go)
	if err != nil {
		return SandboxResult{}, err
	}
	defer release()
	if err := b.Check(ctx); err != nil {
		return SandboxResult{}, err
	}
	if err := checkRegistered(ctx, gw, mcpNames); err != nil { // before anything is created
		return SandboxResult{}, err
	}
	ctx, setup := withSetup(ctx, req.Progress)
	res, err := m.createSandbox(ctx, b, name, ws, req, gw, mcpNames)
	res.Setup = setup.Steps()
	return res, err
}

func (m *Manager) createSandbox(ctx context.Context, b sandbox.Backend, name, ws string, req CreateSandboxRequest,
	gw sandbox.MCPGateway, mcpNames []string) (SandboxResult, error) {

	rec, recErr := m.cfg.Store.GetSandbox(name)
	if recErr == nil && rec.Workspace != ws {
		return SandboxResult{}, sandbox.Errorf(sandbox.Exists, "sandbox %q already exists for workspace %s: choose another name or destroy it first", name, rec.Workspace)
	}
	if recErr == nil && rec.Backend != b.Name() {
		return SandboxResult{}, sandbox.Errorf(sandbox.Exists, "sandbox %q already exists on backend %s: use backend %s or choose another name", name, rec.Backend, rec.Backend)
	}
	info, getErr := b.Get(ctx, name)
	switch {
	case getErr == nil && recErr == nil:
		res, err := m.reuse(ctx, b, rec, info)
		return m.attachSbxMCP(ctx, gw, mcpNames, res, err)
	case getErr == nil && slices.Contains(info.Workspaces, ws) && (info.Managed || b.Name() != "docker"):
		// Ours from a lost state dir (Docker's labels say so), or created by someone else on the same
		// workspace: adopted, used but never removed or stopped (sbx cannot tell us which, so it is that).
		rec = m.newRecord(b, name, ws, req)
		rec.Adopted = !info.Managed
		res, err := m.reuse(ctx, b, rec, info)
		return m.attachSbxMCP(ctx, gw, mcpNames, res, err)
	case getErr == nil:
		return SandboxResult{}, sandbox.Errorf(sandbox.Exists, "a sandbox named %q already exists with another workspace: choose another name", name)
	case !errors.Is(getErr, sandbox.ErrNotFound):
		return SandboxResult{}, fmt.Errorf("look up sandbox %q: %w", name, getErr)
	}
	if recErr == nil {
		// Removed behind our back: its sessions are gone with it. Start afresh under the same name.
		m.log.Warn("sandbox vanished; recreating", "sandbox", name)
		m.forgetSessions(name)
		if err := m.cfg.Store.DeleteSandbox(name); err != nil {
			return SandboxResult{}, err
		}
	}
	rec = m.newRecord(b, name, ws, req)
	readOnly, err := m.readOnlyPaths(ws)
	if err != nil {
		return SandboxResult{}, err
	}
	// Right before the mount: the path must still pass the policy and resolve to itself.
	if err := m.cfg.Policy.Recheck(ws); err != nil {
		return SandboxResult{}, err
	}
	// Isolation (isolation.go): a clone and branch of its own, prepared before the sandbox exists.
	iso, err := m.planIsolation(ctx, b, name, ws, req)
	if err != nil {
		return SandboxResult{}, err
	}
	spec := sandbox.Spec{Name: name, Workspace: ws, ReadOnly: readOnly, Agent: rec.Agent, Template: rec.Template,
		AgentEnv: m.agentEnv(), NoPull: !m.templateAllowed(rec.Template), StaticMCP: mcpNames}
	rec.SbxMCP, rec.SbxMCPStatic = mcpNames, len(mcpNames) > 0 // pinned: --static-mcp (sbxmcp.go)
	iso.apply(m, &spec)
	info, err = b.Create(ctx, spec)
	if err != nil {
		iso.discard(m)
		return SandboxResult{}, fmt.Errorf("create sandbox %q: %w", name, err)
	}
	var res SandboxResult
	if err = m.seed(ctx, b, iso); err == nil {
		res, err = m.reuse(ctx, b, rec, info)
	}
	if err != nil {
		iso.discard(m)
		// Roll back what this call created; the error is what the user must fix (template, curl…).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rmErr := b.Remove(rctx, name); rmErr != nil && !errors.Is(rmErr, sandbox.ErrNotFound) {
			m.log.Error("rollback: remove sandbox", "sandbox", name, "err", rmErr)
		}
		_ = m.cfg.Store.DeleteSandbox(name)
		return SandboxResult{}, err
	}
	res.Reused = false
	res.Isolation = m.isolationInfo(name, iso.note)
	return res, nil
}

var (
	validKind  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	templateRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$`)
)

// templateAllowed reports whether ref may be pulled: the backend's default (empty), the configured
// default, or a match of an operator's pattern. A caller (a model, perhaps prompt-injected) choosing any
// other image gets no pull: an image from a registry of its choosing would receive the API keys.
func (m *Manager) templateAllowed(ref string) bool {
	if ref == "" || ref == m.cfg.DefaultTemplate {
		return true
	}
	for _, p := range m.cfg.AllowedTemplates {
		if ok, err := path.Match(p, ref); ok && err == nil {
			return true
		}
	}
	return false
}

func (m *Manager) newRecord(b sandbox.Backend, name, ws string, req CreateSandboxRequest) state.Sandbox {
	agent, tmpl := req.Agent, req.Template
	if agent == "" {
		agent = m.cfg.DefaultAgent
	}
	if tmpl == "" {
		tmpl = m.cfg.DefaultTemplate
	}
	return state.Sandbox{Name: name, Backend: b.Name(), Workspace: ws, Agent: agent, Template: tmpl,
		AgentPort: m.cfg.AgentPort, Created: time.Now().UTC()}
}

// reuse makes sure sandbox-agent runs in an existing sandbox and saves the record.
func (m *Manager) reuse(ctx context.Context, b sandbox.Backend, rec state.Sandbox, info sandbox.Info) (SandboxResult, error) {
	if err := m.cfg.Policy.Recheck(rec.Workspace); err != nil {
		return SandboxResult{}, err
	}
	var wg sync.WaitGroup
	var base, control string
	if rec.GitControl == "" {
		// The baseline get_diff compares with (gitsafe.go): taken once, before any turn runs, and while
		// sandbox-agent starts (both only read the workspace), so create waits for the slower of the two.
		r := rec
		if m.noGitInFolder(r) {
			control = gitControlOf([]byte("absent\n")) // what the script prints in the sandbox, without two execs
		} else {
			wg.Go(func() { base = m.headCommit(ctx, b, r) })
			wg.Go(func() { control = m.gitControl(ctx, b, r) })
		}
	}
	version, err := m.ensureAgent(ctx, b, rec, info)
	wg.Wait()
	if err != nil {
		return SandboxResult{}, err
	}
	if rec.GitControl == "" {
		rec.BaseCommit, rec.GitControl = base, control
	}
	rec.AgentVersion, rec.LastUsed = version, time.Now().UTC()
	if err := m.cfg.Store.PutSandbox(rec); err != nil {
		return SandboxResult{}, err
	}
	status := info.Status
	if status == "" || status == sandbox.StatusStopped {
		status = sandbox.StatusRunning // exec started it
	}
	warning := agentVersionWarning(version)
	if warning != "" {
		m.log.Warn(warning, "sandbox", rec.Name)
	}
	return SandboxResult{Name: rec.Name, Backend: rec.Backend, Workspace: rec.Workspace, Status: status,
		AgentVersion: version, Reused: true, Isolation: m.isolationInfo(rec.Name, ""), SbxMCP: rec.SbxMCP, Warning: warning}, nil
}

// agentVersionWarning is "" for a sandbox-agent 0.4.x, the line sandbox-mcp is built and tested against,
// and a one-line warning otherwise: 0.5 is announced (docs/upstream/sandbox-agent.md §12),
// and versions before 0.4 are refused earlier or differ in ways we do not test.
func agentVersionWarning(version string) string {
	v, ok := agentversion.Parse([]byte("sandbox-agent " + version))
	if !ok || v.Tested() {
		return ""
	}
	return fmt.Sprintf("sandbox-agent %s is outside 0.4.x, the versions sandbox-mcp is verified with: it may behave differently; "+
		"use 0.4.2 (the server provides it with --provision-agent, the default)", version)
}

// ensureAgent checks sandbox-agent's version inside the sandbox, starts its server if it does not answer,
// and waits for its health check.
func (m *Manager) ensureAgent(ctx context.Context, b sandbox.Backend, rec state.Sandbox, info sandbox.Info) (string, error) {
	t0 := time.Now()
	defer func() {
		if took := time.Since(t0); took > time.Second {
			sandbox.Step(ctx, "sandbox-agent start and health check", took)
		}
	}()
	bin := cmp.Or(info.AgentBin, "sandbox-agent")
	version := info.AgentVersion // provisioned by the backend: known, no exec needed
	if p, ok := b.(sandbox.AgentProvisioner); ok && info.AgentBin == "" {
		// sbx and the plugin with --provision-agent: its one probe replaces the version check below.
		pbin, pversion, err := p.ProvisionAgent(ctx, rec.Name)
		if err != nil {
			return "", err
		}
		bin, version = cmp.Or(pbin, bin), pversion
	}
	if version == "" {
		v, err := m.agentVersion(ctx, b, rec, bin)
		if err != nil {
			return "", err
		}
		version = v
	}
	t, direct, err := m.transport(ctx, b, rec)
	if err != nil {
		return "", err
	}
	err = acp.Health(ctx, t, 5*time.Second)
	if err == nil {
		return version, nil
	}
	if errors.Is(err, acp.ErrNoClient) {
		return "", sandbox.Errorf(sandbox.Invalid, "sandbox %q has no curl, which sandbox-mcp needs to reach sandbox-agent inside it: use a template with curl (see the README)", rec.Name)
	}
	if !direct {
		m.log.Info("starting sandbox-agent", "sandbox", rec.Name, "port", rec.AgentPort)
		_, err = b.Exec(ctx, rec.Name, sandbox.ExecSpec{
			Args: []string{bin, "server", "--no-token", "--no-telemetry",
				"-H", "127.0.0.1", "-p", strconv.Itoa(rec.AgentPort)},
			Env:    m.agentEnv(),
			Detach: true, Timeout: 30 * time.Second,
		})
		if err != nil {
			return "", fmt.Errorf("start sandbox-agent in %q: %w", rec.Name, err)
		}
	}
	deadline := time.Now().Add(m.cfg.StartupTimeout)
	watch, _ := b.(sandbox.AgentWatch)
	for {
		err = acp.Health(ctx, t, 2*time.Second)
		if err == nil {
			return version, nil
		}
		// sbx holds sandbox-agent in a foreground exec: when it has ended, no wait will make it healthy.
		if watch != nil {
			if exited, xerr := watch.AgentExited(rec.Name); exited {
				return "", fmt.Errorf("sandbox-agent in %q exited before it became healthy (%w): check that the template's sandbox-agent runs (`sandbox-agent server`), then retry", rec.Name, xerr)
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("sandbox-agent in %q did not become healthy within %s: %w", rec.Name, m.cfg.StartupTimeout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// agentVersion runs `sandbox-agent --version` inside the sandbox. The version is checked, not assumed:
// 0.1.x had a different API (`api sessions`) that this server cannot drive.
func (m *Manager) agentVersion(ctx context.Context, b sandbox.Backend, rec state.Sandbox, bin string) (string, error) {
	res, err := b.Exec(ctx, rec.Name, sandbox.ExecSpec{Args: []string{bin, "--version"}, Timeout: 30 * time.Second})
	var ee *sandbox.ExitError
	if errors.As(err, &ee) && (ee.Code == 126 || ee.Code == 127) {
		tmpl := rec.Template
		if tmpl == "" {
			tmpl = "the backend's default (--template, or --docker-image for docker)"
		}
		return "", sandbox.Errorf(sandbox.UnsupportedVersion, "sandbox-agent is not installed in sandbox %q (template %s): use a template or image with sandbox-agent 0.4 (README: images/Dockerfile; or run `npm install -g @sandbox-agent/cli@0.4.2` in it)",
			rec.Name, tmpl)
	}
	if err != nil {
		return "", fmt.Errorf("check sandbox-agent version in %q: %w", rec.Name, err)
	}
	v, ok := agentversion.Parse(res.Stdout)
	if !ok {
		return "", sandbox.Errorf(sandbox.UnsupportedVersion, "sandbox-agent in %q printed an unrecognised version %q: install sandbox-agent 0.4", rec.Name, firstLine(res.Stdout))
	}
	version := v.String()
	if v.TooOld() {
		return "", sandbox.Errorf(sandbox.UnsupportedVersion, "sandbox-agent %s in %q is too old (its `api sessions` API was removed in 0.2): use a template with sandbox-agent 0.4 (npm @sandbox-agent/cli@0.4.2)", version, rec.Name)
	}
	return version, nil
}

// transport picks how to reach sandbox-agent: HTTP when the backend publishes its port, else curl over exec.
func (m *Manager) transport(ctx context.Context, b sandbox.Backend, rec state.Sandbox) (acp.Transport, bool, error) {
	if as, ok := b.(sandbox.AgentServer); ok {
		ep, ok, err := as.AgentEndpoint(ctx, rec.Name)
		if err != nil {
			return nil, false, err
		}
		if ok && ep.Client != nil {
			return &acp.HTTP{BaseURL: ep.URL, Token: ep.Token, Client: ep.Client}, true, nil
		}
		if ok && ep.Socket != "" {
			return &acp.HTTP{BaseURL: "http://sandbox-agent", Client: acp.UnixClient(ep.Socket)}, true, nil
		}
		if ok {
			return &acp.HTTP{BaseURL: ep.URL, Token: ep.Token}, true, nil
		}
	}
	name := rec.Name
	return &acp.Curl{Port: rec.AgentPort, Exec: func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
		return b.Exec(ctx, name, spec)
	}}, false, nil
}

func firstLine(b []byte) string {
	s := string(b)
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// DestroyResult says what destroy_sandbox did.
type DestroyResult struct {
	Name      string `json:"name"`
	Destroyed bool   `json:"destroyed"`
	// Landed is what land_to landed before destroying (isolation).
	Landed         *LandResult `json:"landed,omitempty"`
	AlreadyGone    bool        `json:"already_gone"`
	SessionsClosed int         `json:"sessions_closed"`
}

// DestroySandbox cancels and closes the sandbox's sessions, removes the sandbox and archives our records.
// A sandbox that is already gone is a success. A sandbox we did not create is refused.
func (m *Manager) DestroySandbox(ctx context.Context, name string, keep ...KeepWork) (DestroyResult, error) {
	if err := sandbox.ValidateName("sandbox", name); err != nil {
		return DestroyResult{}, err
	}
	defer m.lockSandbox(name)()
	res := DestroyResult{Name: name}
	rec, err := m.cfg.Store.GetSandbox(name)
	if errors.Is(err, state.ErrNotFound) {
		return m.destroyUnrecorded(ctx, name)
	}
	if err != nil {
		return res, err
	}
	b, err := m.backend(rec.Backend)
	if err != nil {
		return res, err
	}
	// Isolation (land.go): unlanded work is never lost; it is landed first, or discarded when asked.
	if res.Landed, err = m.keepWork(ctx, b, rec, keep); err != nil {
		return res, err
	}
	res.SessionsClosed = m.closeSessions(ctx, rec)
	if rec.Adopted {
		if err := m.cfg.Store.DeleteSandbox(name); err != nil {
			return res, err
		}
		return res, sandbox.Errorf(sandbox.Invalid, "sandbox %q was not created by sandbox-mcp (it existed and was adopted): its %d session(s) were closed and "+
			"sandbox-mcp forgot it, but the sandbox itself was left in place; remove it by hand with `%s` if you mean to",
			name, res.SessionsClosed, removeByHand(rec.Backend, name))
	}
	if err := m.checkOwned(ctx, b, rec); err != nil {
		return res, err
	}
	err = b.Remove(ctx, name)
	switch {
	case errors.Is(err, sandbox.ErrNotFound):
		res.AlreadyGone = true
	case err != nil:
		return res, fmt.Errorf("destroy sandbox %q: %w", name, err)
	default:
		res.Destroyed = true
	}
	if err := m.cfg.Store.DeleteSandbox(name); err != nil {
		return res, err
	}
	m.dropWork(name) // landed or discarded: the clone goes with the sandbox
	m.log.Info("sandbox destroyed", slog.String("sandbox", name), slog.Bool("gone", res.AlreadyGone))
	return res, nil
}

// checkOwned looks again, right before a removal, that the sandbox by that name is still the one we
// created: our record says we created it (not adopted) and the backend reports it on the record's
// workspace (and, for Docker, labelled as ours). A sandbox removed and re-made by someone else under the
// same name is refused. A sandbox that is gone passes: Remove then says so.
func (m *Manager) checkOwned(ctx context.Context, b sandbox.Backend, rec state.Sandbox) error {
	cur, err := m.cfg.Store.GetSandbox(rec.Name)
	if err != nil {
		return fmt.Errorf("destroy sandbox %q: re-reading our record: %w", rec.Name, err)
	}
	info, err := b.Get(ctx, rec.Name)
	switch {
	case errors.Is(err, sandbox.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("destroy sandbox %q: %w", rec.Name, err)
	case cur.Adopted, b.Name() == "docker" && !info.Managed,
		len(info.Workspaces) > 0 && !slices.Contains(info.Workspaces, m.insideDir(cur)): // a clone's folder (isolation.go)
		return sandbox.Errorf(sandbox.Invalid, "sandbox %q on %s is not the one sandbox-mcp created (workspace %s, ours %s): refusing to remove it; "+
			"remove it by hand with `%s` if you mean to", rec.Name, b.Name(), strings.Join(info.Workspaces, ","), cur.Workspace,
			removeByHand(b.Name(), rec.Name))
	}
	return nil
}

// removeByHand is the command that removes a sandbox of that backend.
func removeByHand(backend, name string) string {
	switch backend {
	case "docker":
		return "docker rm -f " + name
	case "docker-sandbox":
		return "docker sandbox rm " + name
	}
	return "sbx rm " + name
}

// destroyUnrecorded handles a name we have no record of: already destroyed, created by someone else, or
// ours from a lost state directory. Only the last is removed (the Docker backend can tell by its labels);
// a sandbox we did not create is refused, never touched.
func (m *Manager) destroyUnrecorded(ctx context.Context, name string) (DestroyResult, error) {
	res := DestroyResult{Name: name, AlreadyGone: true}
	b, err := m.backend("")
	if err != nil {
		return res, nil
	}
	info, err := b.Get(ctx, name)
	if err != nil {
		return res, nil // gone, or no backend answers: nothing of ours to remove
	}
	if !info.Managed {
		return DestroyResult{}, sandbox.Errorf(sandbox.Invalid, "sandbox %q exists on %s but was not created by sandbox-mcp (not in its records): refusing to destroy it; remove it with the backend's own CLI if you mean to",
			name, b.Name())
	}
	if err := b.Remove(ctx, name); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
		return DestroyResult{}, fmt.Errorf("destroy sandbox %q: %w", name, err)
	}
	res.AlreadyGone, res.Destroyed = false, true
	m.log.Info("sandbox destroyed (ours by its labels, not in our records)", slog.String("sandbox", name))
	return res, nil
}
