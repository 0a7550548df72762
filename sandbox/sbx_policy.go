package sandbox

// Network policy. sbx denies outbound traffic by default ("Default deny", presets Open/Balanced/Locked
// Down), and the first session of an agent makes sandbox-agent download the agent's ACP adapter and the
// agent itself (docs/upstream/sbx.md). The server allows exactly those hosts for the sandbox with
// `sbx policy allow network SANDBOX "h1,h2"` before the session starts; a request to any other host gets
// the proxy's HTTP 403 "Blocked by network policy", which the manager reports as one line naming the host
// and the command that allows it (manager/netpolicy.go).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NetworkPolicy is implemented by backends whose sandboxes have a host allowlist (sbx).
type NetworkPolicy interface {
	// AllowHosts allows the sandbox to reach hosts. It is idempotent.
	AllowHosts(ctx context.Context, name string, hosts []string) error
	// AllowCommand is the command line an operator runs to allow host for the sandbox.
	AllowCommand(name, host string) string
	// HostAllowed asks the backend whether its policy lets the sandbox reach host; known is false when
	// it cannot tell.
	HostAllowed(ctx context.Context, name, host string) (allowed, known bool)
}

// AllowHosts runs `sbx policy allow network NAME "h1,h2"` for the hosts not yet allowed by this server.
func (s *Sbx) AllowHosts(ctx context.Context, name string, hosts []string) error {
	s.agents.mu.Lock()
	var todo []string
	for _, h := range hosts {
		if !slices.Contains(s.allowed[name], h) {
			todo = append(todo, h)
		}
	}
	s.agents.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	op := s.c.op("policy allow network", name)
	if _, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("policy", "allow", "network", name, strings.Join(todo, ","))}); err != nil {
		return fmt.Errorf("%s: %w", op, s.c.mapExec(op, name, err))
	}
	s.agents.mu.Lock()
	s.allowed[name] = append(s.allowed[name], todo...)
	s.agents.mu.Unlock()
	return nil
}

// AllowCommand is the sbx command that allows host for sandbox name.
func (s *Sbx) AllowCommand(name, host string) string {
	return fmt.Sprintf("sbx policy allow network %s %s", name, host)
}

// sbxPolicyCheckVersion is the first sbx with `sbx policy check network` (docs/upstream/sbx-cli.json).
const sbxPolicyCheckVersion = "0.35.0"

// HostAllowed runs `sbx policy check network --sandbox NAME HOST`: exit 0 is Allowed, exit 1 Denied
// ("A denied check returns exit status 1"). Anything else (an older sbx, a daemon error) is unknown.
// A bare host is checked on port 443, where sandbox-agent's downloads go.
func (s *Sbx) HostAllowed(ctx context.Context, name, host string) (allowed, known bool) {
	if _, ok := s.c.ver.atLeast(sbxPolicyCheckVersion); !ok {
		return false, false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("policy", "check", "network", "--sandbox", name, host)})
	var ee *ExitError
	switch {
	case err == nil:
		return true, true
	case errors.As(err, &ee) && ee.Code == 1 && !strings.Contains(ee.Stderr, "ERROR:"):
		return false, true
	}
	return false, false
}

var _ NetworkPolicy = (*Sbx)(nil)
