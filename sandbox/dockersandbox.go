package sandbox

// The docker-sandbox backend drives the legacy `docker sandbox` plugin (docs/upstream/docker-sandboxes.md §1–§12).
// It exists only in Docker Desktop 4.58–4.79 on macOS and Windows: 4.80 replaced it with a stub that fails
// every command. It is kept for users on those versions; Check tells the others to move to sbx.

import (
	"cmp"
	"context"
	"strings"
)

// DockerSandboxOptions configures NewDockerSandbox. Zero values select the defaults.
type DockerSandboxOptions struct {
	// Binary is the docker executable; default "docker".
	Binary string
	// Template is passed as `-t` when Spec.Template is empty; empty lets the plugin pick the agent's template.
	Template string
	// PullTemplate is the `--pull-template` policy for create: always, missing or never. Default "missing",
	// the plugin's own default (§7), stated explicitly so both backends behave alike; `never` is for
	// locally built templates.
	PullTemplate string
	// Agent is the agent kind used when Spec.Agent is empty; default "claude".
	Agent string
	// Provision, when set, streams the pinned sandbox-agent into sandboxes that lack it (sbx_provision.go).
	Provision *Provision
}

const (
	dockerSandboxMissingHint = "the docker sandbox plugin is not installed (it shipped with Docker Desktop 4.58-4.79); install the sbx CLI instead"
	dockerSandboxRemovedHint = "docker sandbox was removed in Docker Desktop 4.80; install the sbx CLI (brew install docker/tap/sbx, winget install Docker.sbx, or apt package docker-sbx)"
	dockerSandboxInstallHint = "docker sandbox needs Docker Desktop 4.58-4.79 running; otherwise install the sbx CLI"
)

// classifyDockerSandboxVersion recognises the two shapes of "no plugin" (§2, §9): the plugin binary missing
// (`docker: 'sandbox' is not a docker command.` from older CLIs, `docker: unknown command: docker sandbox`
// from 28.x) and the DD ≥ 4.80 stub (`"docker sandbox" is deprecated and has been removed.`, exit 1, §1).
func classifyDockerSandboxVersion(stderr string) (string, bool) {
	switch {
	case strings.Contains(stderr, "has been removed"):
		return dockerSandboxRemovedHint, true
	case strings.Contains(stderr, "unknown command: docker sandbox"), strings.Contains(stderr, "'sandbox' is not a docker command"):
		return dockerSandboxMissingHint, true
	}
	return "", false
}

// DockerSandbox is the "docker-sandbox" Backend. It is safe for concurrent use.
type DockerSandbox struct {
	c      cli
	stream *agentStreamer // --provision-agent (sbx_provision.go)
}

// NewDockerSandbox returns the docker-sandbox backend running its commands through r. It runs nothing itself.
func NewDockerSandbox(r Runner, opts DockerSandboxOptions) *DockerSandbox {
	return &DockerSandbox{stream: &agentStreamer{cfg: opts.Provision}, c: cli{
		r: r,
		d: dialect{
			name:            "docker-sandbox",
			prefix:          []string{cmp.Or(opts.Binary, "docker"), "sandbox"},
			pullFlag:        "--pull-template",
			needsWorkspace:  true, // `create AGENT WORKSPACE` (§5, §7)
			hint:            dockerSandboxInstallHint,
			classifyVersion: classifyDockerSandboxVersion,
		},
		ver:      &cliVersion{},
		template: opts.Template,
		pull:     cmp.Or(opts.PullTemplate, "missing"),
		agent:    cmp.Or(opts.Agent, "claude"),
	}}
}

// Name returns "docker-sandbox".
func (d *DockerSandbox) Name() string { return d.c.d.name }

// Check runs `docker sandbox version`, the one reliable probe (`--help` exits 0 without the plugin, §7).
// It returns an error wrapping ErrUnavailable with a hint when docker or the plugin is missing, when the
// plugin is the removed stub of Docker Desktop ≥ 4.80, or when it fails otherwise.
func (d *DockerSandbox) Check(ctx context.Context) error { return d.c.check(ctx) }

// Create runs `docker sandbox create` and returns the new sandbox as listed. It returns ErrExists if the
// name is taken (the leaked daemon `Conflict` text, §4), ErrInvalid for a refused name, agent or missing
// workspace; template and pull failures keep the plugin's own text.
func (d *DockerSandbox) Create(ctx context.Context, spec Spec) (Info, error) {
	return d.c.create(ctx, spec)
}

// Get returns the sandbox from `docker sandbox ls`, or ErrNotFound.
func (d *DockerSandbox) Get(ctx context.Context, name string) (Info, error) {
	return d.c.get(ctx, name)
}

// List returns every sandbox `docker sandbox ls` reports.
func (d *DockerSandbox) List(ctx context.Context) ([]Info, error) { return d.c.list(ctx) }

// Exec runs `docker sandbox exec`. A non-zero exit of the command is an *ExitError with the inner exit code;
// a missing sandbox is ErrNotFound; a zombie VM is an error saying to remove and recreate the sandbox.
func (d *DockerSandbox) Exec(ctx context.Context, name string, spec ExecSpec) (Result, error) {
	return d.c.exec(ctx, name, spec)
}

// Remove runs `docker sandbox rm`, which also removes a running sandbox without asking (§7). It returns
// ErrNotFound if the sandbox is gone.
func (d *DockerSandbox) Remove(ctx context.Context, name string) error { return d.c.remove(ctx, name) }

// Stop runs `docker sandbox stop NAME`; exec starts the VM again (§6). It returns ErrNotFound if it is gone.
func (d *DockerSandbox) Stop(ctx context.Context, name string) error { return d.c.stop(ctx, name) }
