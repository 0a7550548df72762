package manager

// Network policy for agent installs on backends with a host allowlist (sbx, sandbox/sbx_policy.go). The
// first session of an agent makes sandbox-agent fetch the agent's ACP adapter and the agent; each agent's
// hosts are allowed for the sandbox before its session starts, and a host the proxy still blocks becomes
// one line naming the host and the command that allows it.

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// installHosts are the hosts sandbox-agent 0.4 reaches to install an agent: the ACP registry CDN and the
// npm registry for every adapter, Google's storage for Claude Code's native build, GitHub release assets
// for codex and opencode (docs/upstream/sbx.md). The mock agent is built in and needs none.
var installHosts = map[string][]string{
	"claude":   {"cdn.agentclientprotocol.com", "registry.npmjs.org", "storage.googleapis.com"},
	"codex":    {"cdn.agentclientprotocol.com", "registry.npmjs.org", "github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"},
	"opencode": {"cdn.agentclientprotocol.com", "registry.npmjs.org", "github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"},
	"amp":      {"cdn.agentclientprotocol.com", "registry.npmjs.org"},
	"pi":       {"cdn.agentclientprotocol.com", "registry.npmjs.org"},
	"cursor":   {"cdn.agentclientprotocol.com", "registry.npmjs.org"},
}

// blockedText begins the body of sbx's proxy's HTTP 403 for a host the policy does not allow
// (docker/sbx-releases#611: "Blocked by network policy: domain example.com:443").
const blockedText = "Blocked by network policy"

// allowInstallHosts allows agent's install hosts for the sandbox when its backend has a network policy.
// A failure is logged, not returned: the install may not need the network (a preinstalled agent), and a
// blocked host is reported by blockedError with what to do.
func (m *Manager) allowInstallHosts(ctx context.Context, b sandbox.Backend, sandboxName, agent string) {
	np, ok := b.(sandbox.NetworkPolicy)
	hosts := installHosts[agent]
	if !ok || len(hosts) == 0 {
		return
	}
	if err := np.AllowHosts(ctx, sandboxName, hosts); err != nil {
		m.log.Warn("allowing the agent's install hosts failed", "sandbox", sandboxName, "agent", agent, "err", err)
	}
}

var (
	urlRE = regexp.MustCompile(`https?://[^\s"'<>()]+`)
	// domainRE is the host in sbx's 403 body, "Blocked by network policy: domain HOST:PORT".
	domainRE = regexp.MustCompile(`Blocked by network policy: domain ([^\s:]+)`)
)

// blockedError rewrites an agent start failure caused by the proxy's network policy into one line naming
// the blocked host and the command that allows it; other errors are returned as they are.
//
// sbx's proxy terminates TLS, so a blocked download gets its 403 "Blocked by network policy" inside the
// tunnel (docs/upstream/sbx.md). sandbox-agent 0.4.2 does not pass that body on: its install failure says
// only "download failed: https://HOST/…" (measured through the double's proxy, which answers as sbx's
// does). So an install failure naming a URL is a policy block exactly when sbx's own policy check denies
// that host (`sbx policy check network`, sandbox.NetworkPolicy.HostAllowed); when it allows the host, or
// cannot tell, the error is returned as it is.
func blockedError(ctx context.Context, b sandbox.Backend, sandboxName, agent string, err error) error {
	np, ok := b.(sandbox.NetworkPolicy)
	if !ok || err == nil {
		return err
	}
	msg := err.Error()
	host := ""
	if m := domainRE.FindStringSubmatch(msg); m != nil {
		host = m[1]
	} else if u, perr := url.Parse(urlRE.FindString(msg)); perr == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	var pe *acp.ProblemError
	switch {
	case strings.Contains(msg, blockedText):
	case host != "" && errors.As(err, &pe) && pe.Kind() == "install_failed":
		if allowed, known := np.HostAllowed(ctx, sandboxName, host); allowed || !known {
			return err
		}
	default:
		return err
	}
	if host == "" {
		return sandbox.Errorf(sandbox.Invalid, "installing the %s agent was blocked by the sandbox's network policy (HTTP 403): allow the host it needs with `%s`, then try again",
			agent, np.AllowCommand(sandboxName, "HOST"))
	}
	return sandbox.Errorf(sandbox.Invalid, "installing the %s agent was blocked by the sandbox's network policy (HTTP 403 for %s): allow it with `%s`, then try again",
		agent, host, np.AllowCommand(sandboxName, host))
}
