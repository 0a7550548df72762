package sandbox

// sandbox-agent for the sbx and legacy plugin backends, provisioned by the server (--provision-agent).
// Neither CLI can bind-mount a host file into a sandbox, so the pinned binary is streamed in through
// `exec -i` (InstallAgentByExec) to $HOME/.local/bin/sandbox-agent, where it stays: a stopped sandbox keeps
// its disk ("Packages, images, config, history and agent login survive", docs/upstream/docker-sandboxes.md
// §6), and a removed one takes it along. Before sandbox-agent is started, one exec asks the sandbox its
// architecture and which sandbox-agent it has (a fixed script, agentProbeScript); only a sandbox without the
// pinned version gets the binary, for its own architecture (uname -m), not the host's: a Mac's microVM is
// linux/arm64. The template's own sandbox-agent is used when it is the pinned version, so a template that
// brings one costs no copy.
//
// The path reaches sandbox-agent's start as data, never as shell text: the held sbx exec gets it in its
// environment (sbxBinVar, read by the fixed sbxAgentScript), the plugin's `exec -d` as its argv[0].

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Provision configures the sbx and plugin backends to provide sandbox-agent themselves.
type Provision struct {
	// Version is the pinned release (provision.Version): a sandbox that has it already gets no copy.
	Version string
	// Provide returns the host path of the static binary for linux/ARCH, fetching it once.
	Provide AgentProvider
}

// AgentProvisioner is a backend that puts sandbox-agent into a sandbox itself before it is started
// (sbx and the legacy plugin with --provision-agent). bin is its path inside the sandbox ("" for the
// template's own on PATH) and version its version; both empty when the backend does not provision.
type AgentProvisioner interface {
	ProvisionAgent(ctx context.Context, name string) (bin, version string, err error)
}

// sbxBinVar carries the provisioned path to sbxAgentScript; unset, the script runs the template's own.
const sbxBinVar = "SANDBOX_MCP_AGENT_BIN"

// agentProbeScript prints the sandbox's architecture, where the provisioned copy goes, and the version
// lines of that copy and of a sandbox-agent on PATH. Fixed text: nothing from a caller is in it.
const agentProbeScript = `b="$HOME/.local/bin/sandbox-agent"
printf 'arch=%s\n' "$(uname -m 2>/dev/null)"
printf 'bin=%s\n' "$b"
if [ -x "$b" ]; then printf 'ours=%s\n' "$("$b" --version 2>/dev/null)"; fi
if command -v sandbox-agent >/dev/null 2>&1; then printf 'path=%s\n' "$(sandbox-agent --version 2>/dev/null)"; fi
exit 0`

var probeVersionRE = regexp.MustCompile(`^sandbox-agent\s+v?(\d+\.\d+\.\d+)\s*$`)

// agentProbe is what agentProbeScript reported.
type agentProbe struct {
	arch      string // Docker's name: amd64 or arm64; "" when uname said something else
	uname     string // uname -m as printed
	bin       string // $HOME/.local/bin/sandbox-agent
	ours, own string // versions of the provisioned copy and of the one on PATH; "" if none
}

func parseAgentProbe(out []byte) agentProbe {
	var p agentProbe
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		version := func() string {
			if m := probeVersionRE.FindStringSubmatch(v); m != nil {
				return m[1]
			}
			return ""
		}
		switch k {
		case "arch":
			p.uname = v
			switch v {
			case "x86_64", "amd64":
				p.arch = "amd64"
			case "aarch64", "arm64":
				p.arch = "arm64"
			}
		case "bin":
			p.bin = v
		case "ours":
			p.ours = version()
		case "path":
			p.own = version()
		}
	}
	return p
}

// agentStreamer provisions sandbox-agent into sandboxes of one backend.
type agentStreamer struct {
	cfg *Provision
	mu  sync.Mutex
	// fresh holds the path ProvisionAgent just found or installed, for the start that follows it, which
	// then needs no second probe. Any later start probes again (the sandbox may have been recreated).
	fresh map[string]string
}

// ensure makes sure the pinned sandbox-agent is in sandbox name, streaming it in when it is not, and
// returns its path inside ("" for the template's own) and version. b runs the execs.
func (a *agentStreamer) ensure(ctx context.Context, b Backend, name string) (string, string, error) {
	if a == nil || a.cfg == nil || a.cfg.Provide == nil {
		return "", "", nil
	}
	res, err := b.Exec(ctx, name, ExecSpec{Args: []string{"sh", "-c", agentProbeScript}, Timeout: 30 * time.Second})
	if err != nil {
		return "", "", fmt.Errorf("check sandbox-agent version in %q: %w", name, err)
	}
	p := parseAgentProbe(res.Stdout)
	switch {
	case p.own != "" && p.own == a.cfg.Version:
		return "", p.own, nil // the template brings the pinned version
	case p.ours != "" && p.ours == a.cfg.Version && validSandboxPath(p.bin):
		return p.bin, p.ours, nil // provisioned before (a stopped sandbox keeps its disk)
	case p.arch == "":
		return "", "", Errorf(Invalid, "provisioning sandbox-agent into %s: the sandbox reports architecture %q, and sandbox-agent is published for x86_64 and aarch64 only: use a template with sandbox-agent %s, or another machine",
			name, truncate(p.uname, 40), a.cfg.Version)
	}
	t0 := time.Now()
	host, version, err := a.cfg.Provide(ctx, p.arch)
	if err != nil {
		return "", "", fmt.Errorf("provisioning sandbox-agent for linux/%s: %w: check the network or --npm-registry, "+
			"or pass --provision-agent=false to use the template's own sandbox-agent", p.arch, err)
	}
	if took := time.Since(t0); took > 100*time.Millisecond {
		Step(ctx, "sandbox-agent "+version+" for linux/"+p.arch+" (fetched once, then cached)", took)
	}
	Say(ctx, "copying sandbox-agent "+version+" for linux/"+p.arch+" into "+name)
	bin, err := InstallAgentByExec(ctx, b, name, host)
	if err != nil {
		return "", "", err
	}
	return bin, version, nil
}

// provisioned runs ensure and remembers its path for the start that follows (ProvisionAgent).
func (a *agentStreamer) provisioned(ctx context.Context, b Backend, name string) (string, string, error) {
	bin, version, err := a.ensure(ctx, b, name)
	if err == nil && version != "" {
		a.mu.Lock()
		if a.fresh == nil {
			a.fresh = map[string]string{}
		}
		a.fresh[name] = bin
		a.mu.Unlock()
	}
	return bin, version, err
}

// forStart returns the path to start sandbox-agent from: the one ProvisionAgent just found, else a new
// probe's (after a stop or a server restart).
func (a *agentStreamer) forStart(ctx context.Context, b Backend, name string) (string, error) {
	if a == nil || a.cfg == nil {
		return "", nil
	}
	a.mu.Lock()
	bin, ok := a.fresh[name]
	delete(a.fresh, name)
	a.mu.Unlock()
	if ok {
		return bin, nil
	}
	bin, _, err := a.ensure(ctx, b, name)
	return bin, err
}

// validSandboxPath: an absolute path on one line, safe to pass as an exec argument or variable value.
func validSandboxPath(p string) bool {
	return path.IsAbs(p) && !strings.ContainsAny(p, "\n\r\x00")
}

// ProvisionAgent implements AgentProvisioner: with Provision set, the pinned sandbox-agent is in the
// sandbox afterwards (streamed in when missing), and the next start of sandbox-agent uses it.
func (s *Sbx) ProvisionAgent(ctx context.Context, name string) (string, string, error) {
	return s.stream.provisioned(ctx, s, name)
}

// ProvisionAgent implements AgentProvisioner for the legacy plugin; its `exec -d` start gets the path.
func (d *DockerSandbox) ProvisionAgent(ctx context.Context, name string) (string, string, error) {
	return d.stream.ensure(ctx, d, name)
}

// sbxAgentBinEnv is the held exec's variable naming the provisioned sandbox-agent, if there is one.
func (s *Sbx) sbxAgentBinEnv(ctx context.Context, name string) ([]string, error) {
	bin, err := s.stream.forStart(ctx, s, name)
	if err != nil || bin == "" {
		return nil, err
	}
	if !validSandboxPath(bin) {
		return nil, errors.New("provisioned sandbox-agent path is not a clean absolute path")
	}
	return []string{sbxBinVar + "=" + bin}, nil
}

var (
	_ AgentProvisioner = (*Sbx)(nil)
	_ AgentProvisioner = (*DockerSandbox)(nil)
)
