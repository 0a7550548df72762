package sandbox

// The shared core of the two Docker Sandboxes backends. The standalone `sbx` CLI and the legacy
// `docker sandbox` plugin are the same cobra program tree under two prefixes (docs/upstream/docker-sandboxes.md
// §13 maps one onto the other), so one implementation parameterised by a small dialect keeps the argv of
// each operation in exactly one place, with the quirk it works around next to it. Section numbers (§N) are
// those of docs/upstream/docker-sandboxes.md, the project's spec of both CLIs.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// dialect is what differs between the two CLIs.
type dialect struct {
	name     string   // Backend.Name()
	prefix   []string // argv before the subcommand: {"sbx"} or {"docker", "sandbox"}
	pullFlag string   // create's pull-policy flag: sbx --pull, plugin --pull-template (§13)
	rmFlags  []string // sbx rm asks for confirmation since 0.29 without -f; the plugin's rm has no flags (§7, §13)
	// needsWorkspace: the plugin's create requires a workspace (§5); sbx is "mountless" without one (0.42+).
	needsWorkspace bool
	hint           string // how to install, appended to ErrUnavailable errors
	// classifyVersion recognises dialect-specific failures of `version` (the plugin's absent/removed shapes).
	classifyVersion func(stderr string) (hint string, ok bool)
	// noDetach: the CLI has no detached exec (sbx, docs/upstream/sbx-cli.json "exec"); Exec holds a
	// foreground exec instead (sbx_agent.go).
	noDetach bool
}

// cli is one backend instance: a dialect plus its options. Safe for concurrent use: it holds no state.
type cli struct {
	r        Runner
	d        dialect
	template string      // default template; empty means the CLI's own default for the agent
	pull     string      // pull policy passed on every create
	agent    string      // agent kind used when Spec.Agent is empty
	ver      *cliVersion // the CLI's version once `version` answered (version.go)
}

func (c *cli) argv(sub string, args ...string) []string {
	out := append(append([]string{}, c.d.prefix...), sub)
	return append(out, args...)
}

// op names an operation in error messages: "sbx create foo", "docker-sandbox exec foo".
func (c *cli) op(sub, name string) string {
	if name == "" {
		return c.d.name + " " + sub
	}
	return c.d.name + " " + sub + " " + name
}

// check probes with `version` (§7 "version"): it is the one subcommand that fails cleanly when the plugin is
// absent or removed. Never `--help`, which exits 0 even without the plugin.
func (c *cli) check(ctx context.Context) error {
	res, err := c.r.Run(ctx, Cmd{Args: c.argv("version")})
	if err == nil {
		c.ver.set(res.Stdout)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", c.op("check", ""), err)
	}
	var ee *ExitError
	if errors.As(err, &ee) && c.d.classifyVersion != nil {
		if hint, ok := c.d.classifyVersion(ee.Stderr); ok {
			return Errorf(Unavailable, "%s: %s: %w", c.op("check", ""), hint, err)
		}
	}
	// The runner's "not installed" error already wraps ErrUnavailable; any other failure of `version`
	// (daemon down, not logged in) also means the backend is not answering.
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%s: %w; %s", c.op("check", ""), err, c.d.hint)
	}
	return Errorf(Unavailable, "%s: %w; %s", c.op("check", ""), err, c.d.hint)
}

// create runs `create --name NAME --pull|--pull-template POLICY [-t TEMPLATE] AGENT [WORKSPACE]` (§7 "create",
// §13). No `--` before AGENT: sbx's agents are also subcommands and `--` there is not proven to work
// (docs/upstream/sbx-cli.json); no value can be read as a flag anyway, since the name is checked below, the
// agent kind by the caller (^[a-z]…) and the workspace is an absolute path.
func (c *cli) create(ctx context.Context, spec Spec) (Info, error) {
	op := c.op("create", spec.Name)
	if spec.Name == "" || strings.HasPrefix(spec.Name, "-") {
		return Info{}, Errorf(Invalid, "%s: empty or flag-like name", op)
	}
	if c.d.needsWorkspace && spec.Workspace == "" {
		return Info{}, Errorf(Invalid, "%s: this CLI requires a workspace path", op)
	}
	if err := c.checkWorkspaces(spec); err != nil {
		return Info{}, fmt.Errorf("%s: %w", op, err)
	}
	agent := spec.Agent
	if agent == "" {
		agent = c.agent
	}
	if strings.HasPrefix(agent, "-") || (spec.Workspace != "" && !strings.HasPrefix(spec.Workspace, "/")) {
		return Info{}, Errorf(Invalid, "%s: flag-like agent or relative workspace", op)
	}
	pullMode := c.pull
	if spec.NoPull {
		pullMode = "never" // a caller-chosen template not on the operator's allowlist (SECURITY.md)
	}
	tail := []string{}
	if t := cmp.Or(spec.Template, c.template); t != "" {
		tail = append(tail, "-t", t)
	}
	if spec.Clone && c.d.name == "sbx" {
		// Isolation: "a private in-container clone of the host Git repository (mounted read-only)"; the
		// agent's commits come back through the sandbox-<name> remote (docker-sandboxes.md §13.0).
		tail = append(tail, "--clone")
	}
	mcp, mcpErr := c.staticMCPArgs(op, spec.StaticMCP) // sbx's MCP gateway, pinned set (sbx_mcp.go)
	if mcpErr != nil {
		return Info{}, mcpErr
	}
	tail = append(tail, mcp...)
	tail = append(tail, agent)
	if spec.Workspace != "" {
		tail = append(tail, spec.Workspace)
	}
	for _, p := range spec.ReadOnly {
		tail = append(tail, p+":ro") // an extra workspace, read-only (§5, §13.0)
	}
	pull := c.pullArgs(pullMode)
	args := append(append([]string{"--name", spec.Name}, pull...), tail...)
	_, err := c.r.Run(ctx, Cmd{Args: c.argv("create", args...)})
	var ee *ExitError
	if alt, ok := c.pullFallback(pull); err != nil && ok && errors.As(err, &ee) && strings.Contains(ee.Stderr, "unknown flag: "+pull[0]) {
		// A plugin release without this pull flag (v0.7-v0.11 lack --pull-template): once more without it.
		_, err = c.r.Run(ctx, Cmd{Args: c.argv("create", append(append([]string{"--name", spec.Name}, alt...), tail...)...)})
	}
	if err != nil {
		return Info{}, c.mapCreate(op, err)
	}
	// create leaves the VM running (§6); read back what the CLI recorded.
	return c.get(ctx, spec.Name)
}

// checkWorkspaces refuses workspace strings the CLI would read differently from the folder the policy
// checked: both CLIs parse PATH[:ro|:readonly] (§5, §13.0), so a ':' in a path could turn part of it into a
// mount option, and their ls table joins workspaces with ", " (§8), so that sequence is refused too. Read-only overlays must be folders
// inside the workspace: extra workspaces are folders (§5), a file cannot be one.
func (c *cli) checkWorkspaces(spec Spec) error {
	for _, p := range append([]string{spec.Workspace}, spec.ReadOnly...) {
		if p == "" {
			continue // sbx without a workspace: "mountless" (§13)
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, ':') || strings.Contains(p, ", ") ||
			strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Errorf(Invalid, "workspace %q is not a clean absolute path without ':', \", \" or control characters, which %s would read as mount syntax: rename the folder or use the docker backend",
				truncate(p, 80), c.d.name)
		}
	}
	for _, p := range spec.ReadOnly {
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() || !within(p, spec.Workspace) {
			return Errorf(Invalid, "%s cannot mount %s read-only: %s mounts only folders inside the workspace as read-only extras (a .git file of a worktree or submodule is not one): use the docker backend, or --writable-git",
				c.d.name, truncate(p, 80), c.d.name)
		}
	}
	return nil
}

// within reports whether path is strictly inside dir (clean absolute paths).
func within(path, dir string) bool {
	return strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

func (c *cli) mapCreate(op string, err error) error {
	var ee *ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch s := ee.Stderr; {
	// §4: no clean "name in use" message exists; a stale VM leaks the daemon's
	// `Conflict. The container name "/<name>" is already in use`.
	case containsAny(s, "already in use", "Conflict", "already exists"):
		return Errorf(Exists, "%s: %w", op, err)
	// §4 (v0.7 charset) and §5 (4.58.0 made the workspace mandatory). "invalid agent"/"invalid workspace"
	// are the test double's texts for two refusals whose real wording is undocumented (§7, §14).
	case containsAny(s, "invalid VM name", "requires a workspace path", "invalid agent", "invalid workspace"):
		return Errorf(Invalid, "%s: %w", op, err)
	}
	// Template and pull failures stay as the CLI worded them: they say what to fix.
	return fmt.Errorf("%s: %w", op, err)
}

// get lists and picks one: neither CLI has `inspect` (§3).
func (c *cli) get(ctx context.Context, name string) (Info, error) {
	all, err := c.list(ctx)
	if err != nil {
		return Info{}, err
	}
	for _, in := range all {
		if in.Name == name {
			return in, nil
		}
	}
	return Info{}, Errorf(NotFound, "%s", c.op("get", name))
}

// list runs `ls --json` and falls back to the table of plain `ls` when the JSON cannot be read (§8): an
// old build without --json, or output that is not JSON at all.
func (c *cli) list(ctx context.Context) ([]Info, error) {
	op := c.op("ls", "")
	res, err := c.r.Run(ctx, Cmd{Args: c.argv("ls", "--json")})
	var ee *ExitError
	switch {
	case err == nil:
		infos, jerr := parseLsJSON(res.Stdout)
		if jerr == nil {
			return c.stamp(infos), nil
		}
	case errors.As(err, &ee) && strings.Contains(ee.Stderr, "unknown flag"):
		// A build without --json: cobra says `unknown flag: --json`.
	default:
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	res, err = c.r.Run(ctx, Cmd{Args: c.argv("ls")})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	infos, err := parseLsTable(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return c.stamp(infos), nil
}

func (c *cli) stamp(infos []Info) []Info {
	for i := range infos {
		infos[i].Backend = c.d.name
	}
	return infos
}

// envNameRE is what `-e` accepts from us: a variable name, optionally with =VALUE.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(=|$)`)

// exec runs `exec [-i] [-d] [-w DIR] [-e E]... NAME ARGS...` (§7 "exec", docker exec semantics: everything
// after NAME is the command, so there is no `--`; NAME is checked not to look like a flag instead).
//
// A bare `-e NAME` makes the CLI copy NAME from its own environment, so secrets never appear in argv. Cmd.Env
// stays nil: the runner's base environment (built by main) must carry those variables.
func (c *cli) exec(ctx context.Context, name string, spec ExecSpec) (Result, error) {
	op := c.op("exec", name)
	args, err := c.execArgs(name, spec, false)
	if err != nil {
		return Result{}, err
	}
	res, err := c.r.Run(ctx, Cmd{Args: c.argv("exec", args...), Stdin: spec.Stdin, Stdout: spec.Stdout, Timeout: spec.Timeout})
	if err == nil {
		return res, nil
	}
	return res, c.mapExec(op, name, err)
}

// execArgs builds exec's arguments after the subcommand; held marks a held foreground exec (sbx_agent.go),
// which is allowed where Detach is not.
func (c *cli) execArgs(name string, spec ExecSpec, held bool) ([]string, error) {
	op := c.op("exec", name)
	if name == "" || strings.HasPrefix(name, "-") {
		return nil, Errorf(Invalid, "%s: empty or flag-like name", op)
	}
	if len(spec.Args) == 0 {
		return nil, Errorf(Invalid, "%s: no command", op)
	}
	var args []string
	if spec.Stdin != nil {
		args = append(args, "-i") // without -i piped input arrives as 0 bytes (§7, §12)
	}
	if spec.Detach && c.d.noDetach && !held {
		return nil, Errorf(Invalid, "%s: this CLI has no detached exec", op)
	}
	if spec.Detach {
		args = append(args, "-d")
	}
	if spec.Workdir != "" {
		if !strings.HasPrefix(spec.Workdir, "/") {
			return nil, Errorf(Invalid, "%s: workdir %q is not an absolute path", op, spec.Workdir)
		}
		args = append(args, "-w", spec.Workdir)
	}
	for _, e := range spec.Env {
		if !envNameRE.MatchString(e) {
			return nil, Errorf(Invalid, "%s: env entry %q is not NAME or NAME=VALUE", op, truncate(e, 40))
		}
		args = append(args, "-e", e)
	}
	return append(append(args, name), spec.Args...), nil
}

// mapExec maps a failed exec (or another per-sandbox command): not found, zombie VM, else unchanged.
func (c *cli) mapExec(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case cliNotFound(ee, name):
		return Errorf(NotFound, "%s: %w", op, err)
	case strings.Contains(ee.Stderr, "socket path is empty"):
		// §6 zombie VM (desktop-feedback#232, #252): ls still says running, only rm + create helps.
		return fmt.Errorf("%s: the sandbox VM is dead although listed as running; remove the sandbox and create it again: %w", op, err)
	}
	// The inner command's exit status is propagated (§7): callers read Code (127 = command not found).
	return err
}

// cliNotFound recognises the CLI's own "no such sandbox" failure, which has no documented text (§9, §14).
// The match is deliberately narrow because exec's stderr is mostly the inner command's: `cat /x/NAME/f`
// failing prints "No such file" next to the name. So: exit status 1 (the CLI's only failure code) and either
// the shape `sandbox "NAME" not found`, or an `Error:` line (cobra's prefix) naming the sandbox.
func cliNotFound(ee *ExitError, name string) bool {
	if ee.Code != 1 {
		return false
	}
	// sbx: `ERROR: no sandbox named 'NAME'` (docker/sbx-releases#504).
	if containsAny(ee.Stderr, `sandbox "`+name+`" not found`, "sandbox "+name+" not found", "no sandbox named '"+name+"'") {
		return true
	}
	for _, line := range strings.Split(ee.Stderr, "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if strings.HasPrefix(l, "error:") && strings.Contains(l, strings.ToLower(name)) &&
			containsAny(l, "not found", "no such sandbox", "no such vm") {
			return true
		}
	}
	return false
}

// remove runs `rm [FLAGS] NAME`; rm also removes running sandboxes (§7), so there is no stop first.
func (c *cli) remove(ctx context.Context, name string) error {
	return c.byName(ctx, "rm", name, c.d.rmFlags...)
}

// stop runs `stop NAME`: neither CLI has flags for it (§7, §13).
func (c *cli) stop(ctx context.Context, name string) error { return c.byName(ctx, "stop", name) }

// byName runs `SUB [FLAGS] NAME` for rm and stop, which print the names they acted on. Both end with the
// name rather than `--`, so the name is checked not to look like a flag instead. Their stderr is only the
// CLI's own (no inner command), so a loose not-found match is safe; sbx says `ERROR: no sandbox named 'X'`
// (docker/sbx-releases#504), the plugin's text is undocumented (§9, §14).
func (c *cli) byName(ctx context.Context, sub, name string, flags ...string) error {
	op := c.op(sub, name)
	if name == "" || strings.HasPrefix(name, "-") {
		return Errorf(Invalid, "%s: empty or flag-like name", op)
	}
	args := append(append([]string{}, flags...), c.jsonArgs()...)
	res, err := c.r.Run(ctx, Cmd{Args: c.argv(sub, append(args, name)...)})
	if jerr := perTargetError(res.Stdout, name); jerr != "" || (err == nil && len(c.jsonArgs()) > 0) {
		return targetErr(op, jerr, err)
	}
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) && containsAny(strings.ToLower(ee.Stderr), "not found", "no such", "no sandbox named") {
		return Errorf(NotFound, "%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
