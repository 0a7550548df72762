package cli

// `sandbox-mcp doctor` answers "will this work here?" before an MCP host is involved: which sandbox backends
// this machine has and whether they answer, whether the configured image has sandbox-agent, which agent
// keys are set, and whether the state directory is usable. It drives the same runner and backends as the
// server, so it sees what the server would see, and every external call has a deadline.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/agentversion"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

const (
	// doctorProbeTimeout bounds one `version` call of a backend CLI.
	doctorProbeTimeout = 15 * time.Second
	// doctorImageTimeout bounds one throwaway container (`docker run --rm IMAGE --version`).
	doctorImageTimeout = 60 * time.Second
	// doctorMinFree is the free space below which the state directory counts as full: event logs and
	// transcripts are small, but a full disk loses them.
	doctorMinFree = 100 << 20
)

// errNotReady is what Run returns after a doctor that found problems, so the process exits 1. The
// problems themselves are already on stdout.
var errNotReady = errors.New("not ready (see the next steps above)")

// runDoctor checks the machine for cfg and writes one line per check to stdout (✓ fine, ✗ a problem that
// stops the server from working, – information or advice), then a verdict line and numbered next steps.
// It reports ready when nothing is ✗. Environment values are never printed, only names.
func runDoctor(ctx context.Context, cfg config, getenv func(string) string, stdout io.Writer) (ready bool) {
	d := &doctor{out: stdout}
	fmt.Fprintf(stdout, "sandbox-mcp doctor %s (backend %s)\n", Version, cfg.backend)

	// The CLIs get the server's CLI environment without the agents' secrets: a version probe needs none.
	noSecrets := cfg
	noSecrets.passEnv = nil
	runner := &sandbox.Exec{Env: noSecrets.childEnv(getenv), Timeout: doctorProbeTimeout}

	probes := probeBackends(ctx, cfg, getenv, runner)
	chosen := d.backends(cfg, probes)
	agent := ""
	if chosen != nil {
		agent = d.sandboxAgent(ctx, cfg, getenv, runner, chosen)
	}
	d.agentKeys(cfg, getenv)
	if s, ok := chosenBackend(chosen).(*sandbox.Sbx); ok {
		d.sbxKeys(ctx, s, getenv)
	}
	d.stateDir(cfg.stateDir)

	fmt.Fprintln(stdout)
	if len(d.failed) == 0 {
		fmt.Fprintln(stdout, "ready: "+doctorVerdict(cfg, chosen, agent))
	} else {
		fmt.Fprintln(stdout, "not ready: "+strings.Join(d.failed, "; "))
	}
	if len(d.steps) > 0 {
		fmt.Fprintln(stdout, "next steps:")
		for i, s := range d.steps {
			fmt.Fprintf(stdout, "  %d. %s\n", i+1, s)
		}
	}
	return len(d.failed) == 0
}

// doctor collects the report: lines as they are checked, short summaries of the problems for the verdict,
// and the next steps.
type doctor struct {
	out    io.Writer
	failed []string
	steps  []string
}

func (d *doctor) ok(format string, args ...any) {
	fmt.Fprintf(d.out, "✓ "+format+"\n", args...)
}

// fail reports a problem that makes the server not ready: summary goes into the verdict, step (if any)
// into the next steps.
func (d *doctor) fail(summary, step, format string, args ...any) {
	fmt.Fprintf(d.out, "✗ "+format+"\n", args...)
	d.failed = append(d.failed, summary)
	if step != "" {
		d.steps = append(d.steps, step)
	}
}

// note reports information, or advice (step non-empty) that does not stop the server from working.
func (d *doctor) note(step, format string, args ...any) {
	fmt.Fprintf(d.out, "– "+format+"\n", args...)
	if step != "" {
		d.steps = append(d.steps, step)
	}
}

// backendProbe is the outcome of one backend's Check.
type backendProbe struct {
	backend sandbox.Backend
	err     error
	// installed: the CLI ran (whatever its exit status) or was still running at the deadline.
	installed bool
	// version is the first line the version command printed, when it succeeded.
	version string
	binary  string // the CLI it ran
}

func (p backendProbe) name() string { return p.backend.Name() }

// chosenBackend is the probe's backend, or nil without one.
func chosenBackend(p *backendProbe) sandbox.Backend {
	if p == nil {
		return nil
	}
	return p.backend
}

// describe is the probe as one line of text without its mark.
func (p backendProbe) describe() string {
	switch {
	case p.err == nil && p.name() == "docker":
		return "docker: Docker Engine " + p.version + " answers"
	case p.err == nil:
		return p.name() + ": " + p.version + ", answers"
	case errors.Is(p.err, context.DeadlineExceeded):
		return fmt.Sprintf("%s: no answer within %s", p.name(), doctorProbeTimeout)
	case !p.installed:
		where := p.binary + " not found"
		if !filepath.IsAbs(p.binary) {
			where += " on PATH"
		}
		return fmt.Sprintf("%s: not installed (%s)", p.name(), where)
	}
	return p.name() + ": not available: " + doctorReason(p.name(), p.err)
}

// probeBackends checks the three backends at once, in the order auto prefers them, built by newBackends
// as the server builds them, each over a recorder of its own commands.
func probeBackends(ctx context.Context, cfg config, getenv func(string) string, runner *sandbox.Exec) []backendProbe {
	recs := map[string]*doctorRecorder{} // filled by newBackends, one backend at a time
	backends := newBackends(cfg, getenv, backendWiring{runner: func(name string) sandbox.Runner {
		recs[name] = &doctorRecorder{r: runner}
		return recs[name]
	}, baseEnv: runner.Env, stateDir: cfg.stateDir})
	probes := make([]backendProbe, len(backends))
	var wg sync.WaitGroup
	for i, b := range backends {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, doctorProbeTimeout)
			defer cancel()
			err := b.Check(cctx)
			res, args, runErr := recs[b.Name()].last()
			var ee *sandbox.ExitError
			probes[i] = backendProbe{backend: b, err: err,
				installed: args != nil && (runErr == nil || errors.As(runErr, &ee) || errors.Is(runErr, context.DeadlineExceeded)),
				version:   doctorFirstLine(res.Stdout)}
			if args != nil {
				probes[i].binary = args[0]
			}
			if err == nil && probes[i].version == "" {
				probes[i].version = "version unknown"
			}
		})
	}
	wg.Wait()
	return probes
}

// backends prints one line per backend and returns the probe of the backend the server would use, or nil.
func (d *doctor) backends(cfg config, probes []backendProbe) *backendProbe {
	var chosen *backendProbe
	for i := range probes {
		p := &probes[i]
		switch {
		case p.err == nil:
			d.ok("%s", p.describe())
		case p.name() == cfg.backend:
			d.fail("backend "+p.name()+" does not answer", backendStep(p.name()), "%s", p.describe())
		default:
			d.note("", "%s", p.describe())
		}
		if p.err == nil && chosen == nil && (cfg.backend == "auto" || cfg.backend == p.name()) {
			chosen = p
		}
	}
	switch {
	case chosen != nil && cfg.backend == "auto":
		d.ok("backend: auto picks %s (it prefers sbx, then docker-sandbox, then docker)", chosen.name())
	case chosen != nil:
		d.ok("backend: %s (--backend %s)", chosen.name(), cfg.backend)
	case cfg.backend == "auto":
		d.fail("no sandbox backend answers",
			"install a sandbox backend: the sbx CLI (microVMs; brew install docker/tap/sbx, winget install Docker.sbx or apt "+
				"package docker-sbx, then sbx login), or Docker Engine (https://docs.docker.com/engine/install/) and start it",
			"backend: auto finds none that answers")
	}
	return chosen
}

// backendStep is the next step for a configured backend that does not answer.
func backendStep(name string) string {
	switch name {
	case "sbx":
		return "make sbx answer `sbx version`: install the sbx CLI (brew install docker/tap/sbx, winget install Docker.sbx " +
			"or apt package docker-sbx) and run sbx login, or pass --sbx-bin with its path"
	case "docker-sandbox":
		return "docker sandbox only exists in Docker Desktop 4.58-4.79 (4.80 removed it): install the sbx CLI and use --backend sbx, " +
			"or --backend docker with Docker Engine"
	}
	return "make `docker version` reach an engine: install Docker Engine (https://docs.docker.com/engine/install/) and start it, " +
		"set DOCKER_HOST or pass --docker-context, or pass --docker-bin with the CLI's path"
}

// sandboxAgent checks what the chosen backend will run sandbox-agent from, and returns its version when
// it could be read.
func (d *doctor) sandboxAgent(ctx context.Context, cfg config, getenv func(string) string, runner sandbox.Runner, chosen *backendProbe) string {
	if chosen.name() != "docker" {
		if cfg.provisionAgent {
			return d.streamedAgent(cfg, getenv) // doctor_sbxprov.go
		}
		if cfg.template == "" {
			d.fail("no --template with sandbox-agent",
				"build a template with sandbox-agent 0.4 and curl (FROM docker/sandbox-templates:claude-code, then "+
					"npm install -g @sandbox-agent/cli@0.4.2) and pass it with --template (env SANDBOX_MCP_TEMPLATE)",
				"template: none set, and %s's stock templates have no sandbox-agent", chosen.name())
			return ""
		}
		d.note("", "template %s: sandbox-agent and curl are checked by create_sandbox (creating a VM just to look is too heavy)", cfg.template)
		return ""
	}
	image := cfg.docker.Image
	if err := cfg.docker.Validate(); err != nil {
		d.fail("docker options are not valid", "fix the docker flags: "+doctorReason("", err), "docker options: %s", doctorReason("", err))
		return ""
	}
	base := []string{cfg.docker.Binary}
	if cfg.docker.Context != "" {
		base = append(base, "--context", cfg.docker.Context)
	}
	// A throwaway container with no network, and never a pull: the check must not reach out to a registry.
	runIn := func(entrypoint string) (sandbox.Result, error) {
		argv := append(append([]string{}, base...), "run", "--rm", "--pull", "never", "--network", "none",
			"--entrypoint", entrypoint, image, "--version")
		cctx, cancel := context.WithTimeout(ctx, doctorImageTimeout)
		defer cancel()
		return runner.Run(cctx, sandbox.Cmd{Args: argv, Timeout: doctorImageTimeout})
	}
	if cfg.provisionAgent {
		return d.provisioned(ctx, cfg, getenv, runner, base, image)
	}
	res, err := runIn("sandbox-agent")
	switch {
	case err == nil:
	case doctorImageMissing(err):
		if cfg.docker.Pull {
			d.note("", "image %s: not on this machine yet; create_sandbox pulls it (--docker-pull) and checks sandbox-agent then", image)
			return ""
		}
		d.fail("image "+image+" is not on this machine",
			fmt.Sprintf("get the image onto this machine (docker pull %s if it is published, or build it), or pass --docker-pull=true "+
				"to pull on first use; or drop --provision-agent=false and use the default image %s", image, sandbox.DefaultDockerImage),
			"image %s: not on this machine (sandbox-mcp never pulls unless --docker-pull)", image)
		return ""
	case doctorCommandMissing(err):
		d.fail("sandbox-agent is missing from image "+image,
			"drop --provision-agent=false (sandbox-mcp then provides sandbox-agent to any image), or add "+
				"`npm install -g @sandbox-agent/cli@0.4.2` to the image",
			"image %s: sandbox-agent is missing from the image", image)
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		d.fail("docker run timed out", "check that the engine can start containers: docker run --rm "+image+" true",
			"image %s: `docker run` did not finish within %s", image, doctorImageTimeout)
		return ""
	default:
		d.fail("cannot run image "+image, "check that the engine can start containers: docker run --rm "+image+" true",
			"image %s: cannot run sandbox-agent --version: %s", image, doctorReason("", err))
		return ""
	}
	v, ok := agentversion.Parse(res.Stdout)
	switch {
	case !ok:
		d.fail("sandbox-agent in image "+image+" printed no version",
			"install sandbox-agent 0.4 in the image (npm install -g @sandbox-agent/cli@0.4.2)",
			"image %s: sandbox-agent --version printed %q, not a version", image, doctorTruncate(doctorFirstLine(res.Stdout), 80))
		return ""
	case v.TooOld():
		d.fail("sandbox-agent in image "+image+" is too old",
			"install sandbox-agent 0.4 in the image (npm install -g @sandbox-agent/cli@0.4.2): 0.1's API was removed in 0.2",
			"image %s: sandbox-agent %s is too old (sandbox-mcp needs 0.2 or later, and is tested with 0.4.2)", image, v)
		return ""
	}
	agent := v.String()
	if v.Tested() {
		d.ok("image %s: sandbox-agent %s", image, agent)
	} else {
		d.ok("image %s: sandbox-agent %s (sandbox-mcp is tested with 0.4.2)", image, agent)
	}

	// curl carries every request to sandbox-agent in exec transport; the relay transports do not use it.
	res, err = runIn("curl")
	switch {
	case err == nil:
		d.ok("image %s: %s", image, doctorCurlVersion(res.Stdout))
	case cfg.docker.Transport == "exec" && doctorCommandMissing(err):
		d.fail("curl is missing from image "+image,
			"add curl to the image (apt-get install curl), or use --docker-transport socket (a static build of sandbox-mcp as relay)",
			"image %s: curl is missing, and --docker-transport exec reaches sandbox-agent through it", image)
	case doctorCommandMissing(err):
		d.note("", "image %s: no curl (not needed with the socket or port transport; exec transport would need it)", image)
	default:
		d.note("", "image %s: cannot run curl --version: %s", image, doctorReason("", err))
	}
	return agent
}

// doctorImageMissing: `docker run --pull never` of an image the engine does not have (exit 125, "No such
// image" from engine 20.10 with CLI 28.2).
func doctorImageMissing(err error) bool {
	var ee *sandbox.ExitError
	return errors.As(err, &ee) && ee.Code == 125 && strings.Contains(ee.Stderr, "No such image")
}

// doctorCommandMissing: the entrypoint is not in the image. runc reports "executable file not found in
// $PATH" and docker exits 127 (126 when the file exists but cannot be executed).
func doctorCommandMissing(err error) bool {
	var ee *sandbox.ExitError
	return errors.As(err, &ee) && (ee.Code == 126 || ee.Code == 127 || strings.Contains(ee.Stderr, "executable file not found"))
}

// doctorCurlVersion is "curl 7.88.1" from the first line of `curl --version`.
func doctorCurlVersion(out []byte) string {
	f := strings.Fields(doctorFirstLine(out))
	return strings.Join(f[:min(2, len(f))], " ")
}

// agentKeys lists which of the variables passed to agents are set. Names only: values are never read
// into the report.
func (d *doctor) agentKeys(cfg config, getenv func(string) string) {
	var set, unset []string
	for _, n := range cfg.passEnv {
		if getenv(n) != "" {
			set = append(set, n)
		} else {
			unset = append(unset, n)
		}
	}
	if len(set) == 0 {
		d.note("set the API key of the agent you will use in the server's environment (the MCP host's env block), "+
			"e.g. ANTHROPIC_API_KEY for claude or OPENAI_API_KEY for codex; without one, agents must log in inside the sandbox",
			"agent keys: none set (looked for %s)", strings.Join(cfg.passEnv, ", "))
		return
	}
	d.ok("agent keys set (passed to agents by name): %s", strings.Join(set, ", "))
	if len(unset) > 0 {
		d.note("", "agent keys not set: %s", strings.Join(unset, ", "))
	}
}

// sbxKeys says which agent keys sbx holds as stored secrets (its proxy authenticates; the values stay on
// the host) and which of the keys set here would enter the VM by value (sandbox/sbx_creds.go).
func (d *doctor) sbxKeys(ctx context.Context, s *sandbox.Sbx, getenv func(string) string) {
	cctx, cancel := context.WithTimeout(ctx, doctorProbeTimeout)
	defer cancel()
	held, err := s.SecretServices(cctx, "")
	if err != nil {
		d.note("", "sbx secrets: cannot list them (%s); agent keys are then passed by value only with --sbx-pass-keys", doctorReason("sbx secret ls", err))
		return
	}
	var heldKeys, set []string
	for _, k := range manager.DefaultSecretNames {
		if svc, ok := sandbox.SbxKeyServices[k]; ok && held[svc] {
			heldKeys = append(heldKeys, k+" ("+svc+")")
		}
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(heldKeys) > 0 {
		d.ok("sbx holds keys: %s: its proxy authenticates, the values never enter a sandbox", strings.Join(heldKeys, ", "))
	} else {
		d.note("", "sbx holds no agent key: store one with `sbx secret set -g anthropic` (or openai, google, openrouter, github, …)")
	}
	plan, _ := s.PlanKeys(cctx, set)
	if len(plan.ByValue) > 0 {
		d.note("", "passed into sbx sandboxes by value (--sbx-pass-keys): %s", strings.Join(plan.ByValue, ", "))
	}
	if len(plan.Dropped) > 0 {
		d.note("store them with `sbx secret set -g SERVICE`, or allow passing them by value with --sbx-pass-keys (env SANDBOX_MCP_SBX_PASS_KEYS=true)",
			"set here but not passed into sbx sandboxes (sbx does not hold them): %s", strings.Join(plan.Dropped, ", "))
	}
}

// stateDir checks the state directory without creating it: it must exist and be writable, or be
// creatable under its nearest existing parent; and that file system must have room.
func (d *doctor) stateDir(dir string) {
	const step = "pass a writable --state-dir (env SANDBOX_MCP_STATE_DIR) on a file system with free space"
	existing := dir
	for {
		fi, err := os.Stat(existing)
		if err == nil {
			if !fi.IsDir() {
				d.fail("state directory is not usable", step, "state directory %s: %s is not a directory", dir, existing)
				return
			}
			break
		}
		parent := filepath.Dir(existing)
		// ENOTDIR: a file on the way; walking up finds it and says so.
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || parent == existing {
			d.fail("state directory is not usable", step, "state directory %s: %v", dir, err)
			return
		}
		existing = parent
	}
	// Writable is tested by writing: permission bits do not show a read-only mount or an ACL.
	f, err := os.CreateTemp(existing, ".sandbox-mcp-doctor-*")
	if err != nil {
		d.fail("state directory is not writable", step, "state directory %s: %s is not writable: %v", dir, existing, errors.Unwrap(err))
		return
	}
	f.Close()
	os.Remove(f.Name())
	what := "exists, writable"
	if existing != dir {
		what = "will be created under " + existing + ", writable"
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(existing, &st); err != nil {
		d.ok("state directory %s: %s (free space unknown: %v)", dir, what, err)
		return
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	if free < doctorMinFree {
		d.fail("state directory's file system is full", step, "state directory %s: %s, but only %s free", dir, what, doctorBytes(free))
		return
	}
	d.ok("state directory %s: %s, %s free", dir, what, doctorBytes(free))
}

// doctorVerdict is the verdict line of a ready machine.
func doctorVerdict(cfg config, chosen *backendProbe, agent string) string {
	if chosen.name() == "docker" {
		s := fmt.Sprintf("backend docker (Docker Engine %s), image %s", chosen.version, cfg.docker.Image)
		if agent != "" && cfg.provisionAgent {
			return s + ", sandbox-agent " + agent + " provided by sandbox-mcp"
		}
		if agent != "" {
			return s + " has sandbox-agent " + agent
		}
		return s + " is pulled on first use"
	}
	if agent != "" && cfg.provisionAgent {
		return fmt.Sprintf("backend %s (%s), template %s, sandbox-agent %s provided by sandbox-mcp", chosen.name(), chosen.version,
			cmp.Or(cfg.template, "(the agent's stock template)"), agent)
	}
	return fmt.Sprintf("backend %s (%s), template %s (sandbox-agent is checked by create_sandbox)", chosen.name(), chosen.version, cfg.template)
}

// doctorReason is an error as one short line, without the backend's own "NAME check: " prefix.
func doctorReason(name string, err error) string {
	s := err.Error()
	if name != "" {
		s = strings.TrimPrefix(s, name+" check: ")
		s = strings.TrimPrefix(s, name+" version: ") // docker's Check
	}
	return doctorTruncate(s, 300)
}

func doctorTruncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func doctorFirstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return doctorTruncate(line, 120)
}

func doctorBytes(n uint64) string {
	const unit = 1 << 10
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// doctorRecorder remembers the last command's outcome, so the doctor can show what a backend's Check
// printed (its version) without knowing the backend's argv.
type doctorRecorder struct {
	r    sandbox.Runner
	mu   sync.Mutex
	res  sandbox.Result
	err  error
	args []string // nil until a command ran
}

func (r *doctorRecorder) Run(ctx context.Context, c sandbox.Cmd) (sandbox.Result, error) {
	res, err := r.r.Run(ctx, c)
	r.mu.Lock()
	r.res, r.err, r.args = res, err, c.Args
	r.mu.Unlock()
	return res, err
}

// last returns the last command's result, argv (nil when none ran) and error.
func (r *doctorRecorder) last() (sandbox.Result, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res, r.args, r.err
}
