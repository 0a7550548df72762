package sandbox

import "context"

// With --backend auto, create_sandbox holds the Lazy, not the backend it detected, while it makes sure
// sandbox-agent runs. So the Lazy passes on what the manager asks of a backend beyond Backend: where
// sandbox-agent's port is (AgentServer), and putting sandbox-agent in (AgentProvisioner). Without this, a
// sandbox that auto created on sbx had sandbox-agent started for the curl transport, and the next session,
// which asks the sbx backend itself, found a held exec it could not reach.

// AgentEndpoint implements AgentServer for the detected backend, when it is one.
func (l *Lazy) AgentEndpoint(ctx context.Context, name string) (Endpoint, bool, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return Endpoint{}, false, err
	}
	if as, ok := b.(AgentServer); ok {
		return as.AgentEndpoint(ctx, name)
	}
	return Endpoint{}, false, nil
}

// ProvisionAgent implements AgentProvisioner for the detected backend, when it is one.
func (l *Lazy) ProvisionAgent(ctx context.Context, name string) (string, string, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return "", "", err
	}
	if p, ok := b.(AgentProvisioner); ok {
		return p.ProvisionAgent(ctx, name)
	}
	return "", "", nil
}

var (
	_ AgentServer      = (*Lazy)(nil)
	_ AgentProvisioner = (*Lazy)(nil)
)
