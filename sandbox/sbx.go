package sandbox

// The sbx backend drives Docker's standalone Docker Sandboxes CLI (docs/upstream/docker-sandboxes.md §13), the
// successor of the `docker sandbox` plugin: it needs no Docker Desktop and runs on Linux with KVM too.

import (
	"cmp"
	"context"
	"errors"
	"sync"
)

// SbxOptions configures NewSbx. Zero values select the defaults.
type SbxOptions struct {
	// Binary is the sbx executable; default "sbx".
	Binary string
	// Template is passed as `-t` when Spec.Template is empty; empty lets sbx pick the agent's template.
	Template string
	// Pull is the `--pull` policy for create: always, missing or never. Default "missing": sbx's own
	// default is `always`, which re-pulls on every create and fails offline (§13); `never` is for
	// templates built or loaded locally.
	Pull string
	// Agent is the agent kind used when Spec.Agent is empty; default "claude".
	Agent string
	// AgentPort is sandbox-agent's port inside the sandbox. Non-zero enables the published-port transport
	// on sbx ≥ 0.37 (AgentEndpoint, sbx_agent.go).
	AgentPort int
	// StateDir keeps each sandbox's sandbox-agent token (0600) and environment across server restarts.
	StateDir string
	// BaseEnv is the sbx CLI's environment (the runner's); a held exec adds the token to it.
	BaseEnv []string
	// AgentEnv is sandbox-agent's environment for sandboxes created before this server knew it.
	AgentEnv []string
	// AgentKeys are the agents' API key variables (passed by name). One whose service sbx holds as a
	// stored secret is not passed at all; the others only with PassKeys (sbx_creds.go).
	AgentKeys []string
	// PassKeys allows agent keys that sbx does not hold to be passed into the VM by value (--sbx-pass-keys).
	PassKeys bool
	// Warn, when set, receives one-line operator warnings (a key left out).
	Warn func(string)
	// Provision, when set, streams the pinned sandbox-agent into sandboxes that lack it (sbx_provision.go).
	Provision *Provision
}

const sbxInstallHint = "install the sbx CLI (brew install docker/tap/sbx, winget install Docker.sbx, or apt package docker-sbx) and run sbx login"

// Sbx is the "sbx" Backend. It is safe for concurrent use.
type Sbx struct {
	c          cli
	opts       SbxOptions
	baseEnv    []string
	defaultEnv []string
	agents     sbxAgents
	envs       map[string][]string
	allowed    map[string][]string // hosts this server allowed per sandbox (sbx_policy.go), under agents.mu
	stream     *agentStreamer      // --provision-agent (sbx_provision.go)
}

// NewSbx returns the sbx backend running its commands through r. It runs nothing itself.
func NewSbx(r Runner, opts SbxOptions) *Sbx {
	return &Sbx{opts: opts, baseEnv: opts.BaseEnv, stream: &agentStreamer{cfg: opts.Provision}, defaultEnv: opts.AgentEnv, envs: map[string][]string{}, allowed: map[string][]string{},
		agents: sbxAgents{holds: map[string]*hold{}, eps: map[string]Endpoint{}, tokens: map[string]string{}, locks: map[string]*sync.Mutex{}},
		c: cli{
			r: r,
			d: dialect{
				name:     "sbx",
				prefix:   []string{cmp.Or(opts.Binary, "sbx")},
				pullFlag: "--pull",
				rmFlags:  []string{"-f"}, // without -f, sbx ≥ 0.29 asks for confirmation on a terminal (§13)
				hint:     sbxInstallHint,
				noDetach: true, // sbx exec refuses -d (docs/upstream/sbx-cli.json); Exec holds a foreground exec instead
			},
			ver:      &cliVersion{},
			template: opts.Template,
			pull:     cmp.Or(opts.Pull, "missing"),
			agent:    cmp.Or(opts.Agent, "claude"),
		}}
}

// Name returns "sbx".
func (s *Sbx) Name() string { return s.c.d.name }

// Check runs `sbx version`. It returns an error wrapping ErrUnavailable, with the install hint, when sbx is
// missing or fails.
func (s *Sbx) Check(ctx context.Context) error { return s.c.check(ctx) }

// Create runs `sbx create` and returns the new sandbox as listed. It returns ErrExists if the name is
// taken and ErrInvalid if sbx refuses the name, agent or workspace; template and pull failures keep
// sbx's own text.
func (s *Sbx) Create(ctx context.Context, spec Spec) (Info, error) {
	if spec.Name == "default" { // reserved by sbx (docs/upstream/sbx-cli.json "create")
		return Info{}, Errorf(Invalid, "%s: the name %q is reserved by sbx: choose another name", s.c.op("create", spec.Name), spec.Name)
	}
	info, err := s.c.create(ctx, spec)
	if err == nil && spec.AgentEnv != nil {
		s.rememberEnv(spec.Name, spec.AgentEnv)
	}
	return info, err
}

// Get returns the sandbox from `sbx ls`, or ErrNotFound.
func (s *Sbx) Get(ctx context.Context, name string) (Info, error) { return s.c.get(ctx, name) }

// List returns every sandbox `sbx ls` reports (sbx cannot tell which ones sandbox-mcp created).
func (s *Sbx) List(ctx context.Context) ([]Info, error) { return s.c.list(ctx) }

// Exec runs `sbx exec`. A non-zero exit of the command is an *ExitError with the inner exit code; a missing
// sandbox is ErrNotFound; a zombie VM is an error saying to remove and recreate the sandbox.
//
// sbx has no detached exec: with Detach, the command runs as a foreground exec the backend holds open until
// Stop, Remove or Close (sbx_agent.go); Exec returns once it has stayed up for a moment.
func (s *Sbx) Exec(ctx context.Context, name string, spec ExecSpec) (Result, error) {
	if spec.Detach {
		return Result{}, s.holdExec(ctx, name, spec, nil)
	}
	return s.c.exec(ctx, name, spec)
}

// Remove runs `sbx rm -f`, which also removes a running sandbox. It returns ErrNotFound if it is gone.
func (s *Sbx) Remove(ctx context.Context, name string) error {
	s.dropHold(name)
	err := s.c.remove(ctx, name)
	if err == nil || errors.Is(err, ErrNotFound) {
		s.forget(name)
	}
	return err
}

// Stop runs `sbx stop NAME`. sbx exec starts the sandbox again (§13). It returns ErrNotFound if it is gone.
func (s *Sbx) Stop(ctx context.Context, name string) error {
	s.dropHold(name) // the held sandbox-agent would keep it running (sbx_agent.go)
	return s.c.stop(ctx, name)
}
