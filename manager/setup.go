package manager

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Step is one long first step of a call and how long it took, so a result can say what took the time
// (pulling an image, fetching sandbox-agent, installing an agent).
type Step struct {
	What    string  `json:"what"`
	Seconds float64 `json:"seconds"`
}

// setupReporter collects a call's steps and passes its messages on as progress (sandbox.Reporter).
type setupReporter struct {
	progress func(string)
	mu       sync.Mutex
	steps    []Step
}

func (r *setupReporter) Say(msg string) {
	if r.progress != nil {
		r.progress(msg)
	}
}

func (r *setupReporter) Step(what string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps = append(r.steps, Step{What: what, Seconds: math.Round(took.Seconds()*1000) / 1000})
}

func (r *setupReporter) Steps() []Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Step(nil), r.steps...)
}

// withSetup returns ctx carrying a reporter that sends progress to progress (may be nil).
func withSetup(ctx context.Context, progress func(string)) (context.Context, *setupReporter) {
	r := &setupReporter{progress: progress}
	return sandbox.WithReporter(ctx, r), r
}

// agentInstaller is a backend that installs agents into a store shared by its sandboxes (the Docker
// backend's volume) before a session needs them.
type agentInstaller interface {
	InstallAgent(ctx context.Context, name, agent string) (installed bool, err error)
}

// installAgent makes sure the session's agent is installed where the sandbox finds it, once per sandbox
// and agent in this process: the first session of an agent in the first sandbox installs it; the next
// sandboxes find it in place.
func (m *Manager) installAgent(ctx context.Context, rec state.Sandbox, agent string) error {
	b, err := m.backend(rec.Backend)
	if err != nil {
		return err
	}
	inst, ok := b.(agentInstaller)
	if !ok {
		return nil
	}
	key := rec.Name + "\x00" + agent
	m.installedMu.Lock()
	done := m.installed[key]
	m.installedMu.Unlock()
	if done {
		return nil
	}
	installed, err := inst.InstallAgent(ctx, rec.Name, agent)
	if err != nil {
		return fmt.Errorf("install the %s agent for sandbox %q: %w", agent, rec.Name, err)
	}
	if installed {
		m.log.Info("agent installed into the shared volume", "sandbox", rec.Name, "agent", agent)
	}
	m.installedMu.Lock()
	if m.installed == nil {
		m.installed = map[string]bool{}
	}
	m.installed[key] = true
	m.installedMu.Unlock()
	return nil
}

// SetupText is " Took: a 41.2 s, b 3.1 s." for a result's text, or "" when no step was long.
func SetupText(steps []Step) string {
	if len(steps) == 0 {
		return ""
	}
	s := " Took:"
	for i, st := range steps {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(" %s %.1f s", st.What, st.Seconds)
	}
	return s + "."
}
