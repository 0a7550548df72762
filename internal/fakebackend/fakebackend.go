// Package fakebackend is a sandbox.Backend held in memory, for hermetic tests of the manager: its sandboxes
// are map entries, and each one's sandbox-agent is a fakeagent.Agent reached through
// sandbox.AgentServer's Endpoint (its in-memory HTTP client), the way the Docker backend's published port
// is reached. Exec answers the few commands the manager runs inside a sandbox (sandbox-agent --version, the
// git probes) and records every call.
//
// Like the Docker backend's container (docs/backends.md), a sandbox runs sandbox-agent as its main process:
// Stop kills it (Agent.Die: every connection refused), and the next Exec or AgentEndpoint starts the
// sandbox again with a fresh sandbox-agent that knows no server id from before (Agent.Start). The sandboxes
// share the one Agent, so stopping any of them stops it for all: a test that stops a sandbox uses one.
package fakebackend

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Name is the backend's name in the manager's Backends map.
const Name = "fake"

// Backend is the fake backend. Agent serves every sandbox's sandbox-agent. It is safe for concurrent use.
type Backend struct {
	Agent *fakeagent.Agent
	// Version is what `sandbox-agent --version` prints (default "sandbox-agent 0.4.2").
	Version string
	// ExecHook, when set, answers Exec before the defaults; handled=false falls through to them.
	ExecHook func(name string, spec sandbox.ExecSpec) (res sandbox.Result, handled bool, err error)
	// CheckErr is what Check returns.
	CheckErr error
	// StopDelay is how long Stop takes (a VM's shutdown), on the bubble's clock in a synctest test: the
	// sandbox stops, and its sandbox-agent dies, at its end. Set it before the manager uses the backend.
	StopDelay time.Duration

	mu          sync.Mutex
	sandboxes   map[string]*sandbox.Info
	execs       []Call
	transitions []Transition
}

// Transition is a sandbox's change of status (sandbox.StatusRunning at Create and at every start,
// sandbox.StatusStopped at Stop) and when it happened: the bubble's fake clock in a synctest test.
type Transition struct {
	Sandbox, Status string
	At              time.Time
}

// Call is one Exec the backend received.
type Call struct {
	Sandbox string
	Args    []string
}

// New returns a backend whose sandboxes run agent.
func New(agent *fakeagent.Agent) *Backend {
	return &Backend{Agent: agent, sandboxes: map[string]*sandbox.Info{}}
}

var (
	_ sandbox.Backend     = (*Backend)(nil)
	_ sandbox.AgentServer = (*Backend)(nil)
)

// Name implements sandbox.Backend.
func (b *Backend) Name() string { return Name }

// Check implements sandbox.Backend.
func (b *Backend) Check(context.Context) error { return b.CheckErr }

// Create implements sandbox.Backend.
func (b *Backend) Create(_ context.Context, spec sandbox.Spec) (sandbox.Info, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.sandboxes[spec.Name]; ok {
		return sandbox.Info{}, sandbox.Errorf(sandbox.Exists, "create %s", spec.Name)
	}
	info := &sandbox.Info{Name: spec.Name, Backend: Name, Status: sandbox.StatusRunning, Agent: spec.Agent,
		Workspaces: []string{spec.Workspace}, Template: spec.Template, Created: time.Now().UTC(), Managed: true}
	b.sandboxes[spec.Name] = info
	b.transitions = append(b.transitions, Transition{spec.Name, sandbox.StatusRunning, info.Created})
	return *info, nil
}

// Get implements sandbox.Backend.
func (b *Backend) Get(_ context.Context, name string) (sandbox.Info, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	info, ok := b.sandboxes[name]
	if !ok {
		return sandbox.Info{}, sandbox.Errorf(sandbox.NotFound, "sandbox %s", name)
	}
	return *info, nil
}

// List implements sandbox.Backend.
func (b *Backend) List(context.Context) ([]sandbox.Info, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []sandbox.Info
	for _, info := range b.sandboxes {
		out = append(out, *info)
	}
	slices.SortFunc(out, func(x, y sandbox.Info) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// Exec implements sandbox.Backend: sandbox-agent --version prints Version, the git probes find no
// repository, anything else exits 127 (not found) unless ExecHook handles it.
func (b *Backend) Exec(ctx context.Context, name string, spec sandbox.ExecSpec) (sandbox.Result, error) {
	b.mu.Lock()
	_, ok := b.sandboxes[name]
	if ok {
		b.startLocked(name) // exec starts a stopped sandbox, as the real backends do
	}
	b.execs = append(b.execs, Call{Sandbox: name, Args: slices.Clone(spec.Args)})
	hook := b.ExecHook
	b.mu.Unlock()
	if !ok {
		return sandbox.Result{}, sandbox.Errorf(sandbox.NotFound, "exec in %s", name)
	}
	if err := ctx.Err(); err != nil {
		return sandbox.Result{}, err
	}
	if hook != nil {
		if res, handled, err := hook(name, spec); handled {
			return res, err
		}
	}
	switch {
	case slices.Equal(spec.Args, []string{"sandbox-agent", "--version"}):
		v := b.Version
		if v == "" {
			v = "sandbox-agent 0.4.2"
		}
		return sandbox.Result{Stdout: []byte(v + "\n")}, nil
	case len(spec.Args) > 0 && spec.Args[0] == "sh": // the .git fingerprint script (manager/gitsafe.go)
		return sandbox.Result{Stdout: []byte("absent\n")}, nil
	case len(spec.Args) > 0 && spec.Args[0] == "git":
		return sandbox.Result{}, &sandbox.ExitError{Args: spec.Args, Code: 128, Stderr: "fatal: not a git repository"}
	}
	return sandbox.Result{}, &sandbox.ExitError{Args: spec.Args, Code: 127, Stderr: spec.Args[0] + ": not found"}
}

// Remove implements sandbox.Backend.
func (b *Backend) Remove(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.sandboxes[name]; !ok {
		return sandbox.Errorf(sandbox.NotFound, "remove %s", name)
	}
	delete(b.sandboxes, name)
	return nil
}

// Stop implements sandbox.Backend: every process in the sandbox dies, sandbox-agent with them. Stopping a
// stopped sandbox is a success.
func (b *Backend) Stop(ctx context.Context, name string) error {
	if b.StopDelay > 0 {
		select {
		case <-time.After(b.StopDelay):
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", name, ctx.Err())
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	info, ok := b.sandboxes[name]
	if !ok {
		return sandbox.Errorf(sandbox.NotFound, "stop %s", name)
	}
	if info.Status != sandbox.StatusStopped {
		info.Status = sandbox.StatusStopped
		b.transitions = append(b.transitions, Transition{name, sandbox.StatusStopped, time.Now()})
		b.Agent.Die()
	}
	return nil
}

// startLocked starts a stopped sandbox, and its sandbox-agent with it. The caller holds b.mu.
func (b *Backend) startLocked(name string) {
	info := b.sandboxes[name]
	if info.Status == sandbox.StatusRunning {
		return
	}
	info.Status = sandbox.StatusRunning
	b.transitions = append(b.transitions, Transition{name, sandbox.StatusRunning, time.Now()})
	b.Agent.Start()
}

// AgentEndpoint implements sandbox.AgentServer: every sandbox's sandbox-agent is Agent, in memory. Like
// the Docker backend's, it starts a stopped sandbox first.
func (b *Backend) AgentEndpoint(_ context.Context, name string) (sandbox.Endpoint, bool, error) {
	b.mu.Lock()
	_, ok := b.sandboxes[name]
	if ok {
		b.startLocked(name)
	}
	b.mu.Unlock()
	if !ok {
		return sandbox.Endpoint{}, false, sandbox.Errorf(sandbox.NotFound, "sandbox %s", name)
	}
	return sandbox.Endpoint{URL: fakeagent.URL, Token: b.Agent.Token(), Client: b.Agent.Client()}, true, nil
}

// Transitions lists the status changes of the sandboxes, in order.
func (b *Backend) Transitions() []Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.transitions)
}

// Execs lists the Exec calls received, in order.
func (b *Backend) Execs() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.execs)
}

// Forget removes a sandbox behind the manager's back (a user's `docker rm`).
func (b *Backend) Forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.sandboxes, name)
}
