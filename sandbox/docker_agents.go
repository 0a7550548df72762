package sandbox

// A first turn with nothing to build: the Docker backend provisions sandbox-agent itself (a static binary
// from package provision, bind-mounted read-only), pulls the default stock image on its first use, and keeps
// agent installs in a named volume shared by the sandboxes of one architecture.
//
// The shared volume is mounted read-only in every sandbox: an agent in one sandbox (perhaps prompt-injected)
// must not plant a launcher that agents in later sandboxes would run. Installs are written by a short-lived
// installer container instead (InstallAgent), which runs only sandbox-agent's own `install-agent` with the
// volume writable, never a model's agent. The relay links sandbox-agent's bin folder in the sandbox's own
// data dir to the volume (relay.LinkAgents), so the rest of that data dir (logs) stays writable.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

const (
	dockerAgentTarget  = "/opt/sandbox-mcp/sandbox-agent" // provisioned sandbox-agent inside (read-only)
	dockerAgentsTarget = "/opt/sandbox-mcp/agents"        // the shared installs volume: XDG_DATA_HOME of installs
)

// dockerProvision is what Create puts into a new container besides the image.
type dockerProvision struct {
	created time.Time
	bin     string // host path of the provisioned sandbox-agent, "" for the image's own
	version string // its version
	volume  string // the shared installs volume, "" for none
}

// provision resolves the provisioned sandbox-agent and the installs volume for a new container.
func (d *Docker) provision(ctx context.Context, p dockerPlan) (dockerProvision, error) {
	prov := dockerProvision{created: d.opts.Now()}
	if d.opts.ProvideAgent == nil {
		return prov, nil
	}
	if p.arch == "" {
		return prov, Errorf(Unavailable, "provisioning sandbox-agent: the engine did not report its architecture")
	}
	t0 := time.Now()
	bin, version, err := d.opts.ProvideAgent(ctx, p.arch)
	if err != nil {
		return prov, fmt.Errorf("provisioning sandbox-agent for linux/%s: %w: check the network or --npm-registry, "+
			"or pass --provision-agent=false to use the image's own sandbox-agent", p.arch, err)
	}
	if took := time.Since(t0); took > 100*time.Millisecond {
		Step(ctx, "sandbox-agent "+version+" for linux/"+p.arch+" (fetched once, then cached)", took)
	}
	if err := dockerCheckWorkspace(bin); err != nil { // it goes into --mount's CSV
		return prov, fmt.Errorf("provisioned sandbox-agent: %w", err)
	}
	prov.bin, prov.version = bin, version
	if d.opts.AgentsVolume != "" && p.transport != "exec" {
		prov.volume = d.opts.AgentsVolume + "-" + p.arch
	}
	return prov, nil
}

// pullsOnFirstUse: the configured default image may be pulled by Create when it is missing.
func (d *Docker) pullsOnFirstUse(image string, spec Spec) bool {
	return image == d.opts.Image && !spec.NoPull
}

// pull runs `docker pull IMAGE`, reporting its progress lines (at most one a second) and its duration.
func (d *Docker) pull(ctx context.Context, image string) error {
	Say(ctx, "pulling image "+image+" (first use; later sandboxes start from the local copy)")
	t0 := time.Now()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		last := time.Time{}
		for sc.Scan() {
			if time.Since(last) >= time.Second {
				last = time.Now()
				Say(ctx, "pulling "+image+": "+truncate(strings.TrimSpace(sc.Text()), 120))
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	_, err := d.r.Run(ctx, Cmd{Args: d.argv("pull", "--", image), Stdout: pw, Timeout: 30 * time.Minute})
	pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("pulling the default image %s: %w", image, dockerErr("docker pull", "", err))
	}
	Step(ctx, "pull of image "+image, time.Since(t0))
	return nil
}

// dockerAgentRE is a sandbox-agent agent id (claude, codex, opencode, amp, pi, cursor, mock).
var dockerAgentRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// dockerInstalledCheck exits 0 when the agent is installed in the shared volume, 3 when the sandbox does not
// use the volume (the image keeps its own installs: the relay left them), 1 otherwise. Fixed text: the
// agent id and paths come as arguments.
const dockerInstalledCheck = `linked=
for d in "${XDG_DATA_HOME:-$HOME/.local/share}" /tmp/sandbox-mcp-home/.local/share; do
  [ -L "$d/sandbox-agent/bin" ] && linked=1
done
[ -n "$linked" ] || exit 3
[ -f "$1/.installed/$2" ] && exit 0
exit 1`

// dockerInstallScript runs in the installer container: sandbox-agent's install-agent, then a marker that
// the install completed (an interrupted install leaves no marker and is run again).
const dockerInstallScript = `set -e
"$1" install-agent "$2"
mkdir -p "$XDG_DATA_HOME/.installed"
: > "$XDG_DATA_HOME/.installed/$2"`

// InstallAgent makes sure agent is installed in the shared volume the sandbox reads, installing it through
// a short-lived installer container when it is not. installed says whether this call installed it. A
// sandbox without the volume, or whose image keeps its own installs, needs nothing: (false, nil).
func (d *Docker) InstallAgent(ctx context.Context, name, agent string) (installed bool, err error) {
	if !dockerAgentRE.MatchString(agent) {
		return false, Errorf(Invalid, "agent %q is not a sandbox-agent agent id", truncate(agent, 40))
	}
	c, err := d.inspectName(ctx, name)
	if err != nil {
		return false, err
	}
	info := c.info()
	if info.AgentsVolume == "" || info.AgentBin == "" || d.agentSource(c) == "" {
		return false, nil
	}
	d.install.Lock() // one install into a volume at a time; a second waiter then finds the marker
	defer d.install.Unlock()
	_, err = d.Exec(ctx, name, ExecSpec{Args: []string{"sh", "-c", dockerInstalledCheck, "sh", dockerAgentsTarget, agent},
		Timeout: 30 * time.Second})
	var ee *ExitError
	switch {
	case err == nil:
		return false, nil
	case asExit(err, &ee) && ee.Code == 3:
		return false, nil
	case asExit(err, &ee) && ee.Code == 1:
	default:
		return false, fmt.Errorf("checking the installs of %s: %w", name, err)
	}
	Say(ctx, "installing the "+agent+" agent into the shared volume "+info.AgentsVolume+" (once for all sandboxes)")
	t0 := time.Now()
	a := d.argv("run", "--rm", "--pull", "never", "--label", dockerLabelInstaller+"="+name,
		// root in the installer only: the volume's folder is root's; the sandboxes read it as their user.
		"--user", "0:0", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--memory", d.opts.Memory, "--memory-swap", d.opts.Memory, "--cpus", d.opts.CPUs)
	if d.opts.PidsLimit > 0 {
		a = append(a, "--pids-limit", fmt.Sprint(d.opts.PidsLimit))
	}
	if c.HostConfig.NetworkMode != "" && c.HostConfig.NetworkMode != "default" {
		a = append(a, "--network", c.HostConfig.NetworkMode)
	}
	a = append(a, "-e", "XDG_DATA_HOME="+dockerAgentsTarget, "-e", "HOME=/tmp",
		"--mount", "type=volume,source="+info.AgentsVolume+",target="+dockerAgentsTarget,
		"--mount", "type=bind,source="+d.agentSource(c)+",target="+dockerAgentTarget+",readonly",
		"--entrypoint", "sh", c.Config.Image, "-c", dockerInstallScript, "sh", dockerAgentTarget, agent)
	if _, err := d.r.Run(ctx, Cmd{Args: a, Timeout: 15 * time.Minute}); err != nil {
		return false, fmt.Errorf("installing the %s agent (sandbox-agent install-agent %s in image %s): %w",
			agent, agent, c.Config.Image, dockerErr("docker run", "", err))
	}
	Step(ctx, "install of the "+agent+" agent (once per volume)", time.Since(t0))
	return true, nil
}

func asExit(err error, ee **ExitError) bool { return errors.As(err, ee) }

// agentSource is the host path bind-mounted as the provisioned sandbox-agent in container c.
func (d *Docker) agentSource(c dockerContainer) string {
	for _, m := range c.Mounts {
		if m.Destination == dockerAgentTarget {
			return m.Source
		}
	}
	return ""
}

// dockerLabelInstaller marks installer containers (removed by --rm; the label names the sandbox).
const dockerLabelInstaller = "org.sandbox-mcp.installer"
