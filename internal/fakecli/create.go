package fakecli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// `create`: the only way the double makes sandboxes (`run` is interactive in
// the real tools and is not implemented). Flags, agent lists, name rules and
// error texts follow spec §4, §5, §7, §10 and §13.

// Agent → default template tag under docker/sandbox-templates (spec §10).
var agentTemplates = map[string]string{
	"claude": "claude-code", "codex": "codex", "copilot": "copilot", "gemini": "gemini",
	"cagent": "cagent", "kiro": "kiro", "opencode": "opencode", "shell": "shell",
	"cursor": "cursor-agent", "devin": "devin", "droid": "droid", "docker-agent": "docker-agent",
}

// Agents each CLI accepts. sbx v0.53 retired gemini and renamed cagent to
// docker-agent (cagent stays as an alias).
var (
	pluginAgents = []string{"cagent", "claude", "codex", "copilot", "gemini", "kiro", "opencode", "shell"}
	sbxAgents    = []string{"claude", "codex", "copilot", "cursor", "devin", "docker-agent", "droid", "kiro", "opencode", "shell"}
)

var (
	pluginNameRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)
	sbxNameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{1,62}$`)
)

const stockTemplatePrefix = "docker/sandbox-templates:"

func (e *env) create(args []string) int {
	specs := []flagSpec{{long: "name", kind: stringFlag}, {long: "template", short: "t", kind: stringFlag}}
	if e.prog == "sbx" {
		specs = append(specs, flagSpec{long: "pull", kind: stringFlag}, flagSpec{long: "cpus", kind: stringFlag},
			flagSpec{long: "memory", short: "m", kind: stringFlag}, flagSpec{long: "kit", kind: listFlag},
			flagSpec{long: "kit-arg", kind: listFlag}, flagSpec{long: "deny-network", kind: boolFlag})
		if e.atLeast(sbxCreateEnv) {
			specs = append(specs, flagSpec{long: "env", short: "e", kind: listFlag}, flagSpec{long: "env-file", kind: listFlag})
		}
		if e.atLeast(sbxPorts) {
			specs = append(specs, flagSpec{long: "publish", short: "p", kind: listFlag})
		}
		specs = e.createMCPFlags(specs) // --static-mcp (mcp.go)
		if e.atLeast(sbxClone) {
			specs = append(specs, flagSpec{long: "clone", kind: boolFlag}) // clone.go
		}
		// v0.48 replaced create -q with --no-progress (docker/docs automation.md).
		if e.atLeast(sbxJSONArray) {
			specs = append(specs, flagSpec{long: "no-progress", kind: boolFlag})
		} else {
			specs = append(specs, flagSpec{long: "quiet", short: "q", kind: boolFlag})
		}
	} else {
		specs = append(specs, flagSpec{long: "quiet", short: "q", kind: boolFlag}, flagSpec{long: "patch-settings", kind: boolFlag})
		// Plugin v0.12 (DD 4.61) added --pull-template; v0.7-v0.11 had --load-local-template instead
		// (spec §7, §13.0): each release knows only its own, so the other is "unknown flag".
		if e.atLeast(pluginPullTemplate) {
			specs = append(specs, flagSpec{long: "pull-template", kind: stringFlag})
		} else {
			specs = append(specs, flagSpec{long: "load-local-template", kind: boolFlag})
		}
	}
	cmdPath := e.cmd + " create"
	p, err := parseFlags(specs, args, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s [OPTIONS] AGENT %s\n\nCreate a sandbox for an agent\n", cmdPath,
			map[bool]string{true: "[PATH...]", false: "WORKSPACE [EXTRA_WORKSPACE...]"}[e.prog == "sbx"])
		return 0
	}
	// The plugin requires a workspace (spec §5); sbx is "mountless" without one.
	if need := map[bool]int{true: 1, false: 2}[e.prog == "sbx"]; len(p.args) < need {
		return e.usage(fmt.Errorf("%q requires at least %d argument(s)", cmdPath, need), cmdPath)
	}
	m := &meta{Agent: p.args[0], Status: "running", Created: time.Now().UTC().Format(time.RFC3339)}
	if e.prog == "sbx" && m.Agent == "cagent" {
		m.Agent = "docker-agent"
	}
	agents := map[bool][]string{true: sbxAgents, false: pluginAgents}[e.prog == "sbx"]
	if !contains(agents, m.Agent) {
		return e.fail("invalid agent %q: must be one of %s", p.args[0], strings.Join(agents, ", "))
	}
	if m.Workspaces, m.ReadOnly, err = resolveWorkspaces(p.args[1:]); err != nil {
		return e.fail("failed to create sandbox: %v", err)
	}
	policy := p.str("pull-template", "missing")
	if p.bools["load-local-template"] {
		policy = "never" // a locally built template, never pulled (the flag --pull-template never replaced)
	}
	if e.prog == "sbx" {
		policy = p.str("pull", "always")
		if m.Env, err = e.resolveEnv(p.lists["env-file"], p.lists["env"]); err != nil {
			return e.fail("%v", err)
		}
		if m.Ports, err = parsePorts(p.lists["publish"]); err != nil {
			return e.fail("%v", err)
		}
		if c := p.str("cpus", "0"); c != "" {
			if m.CPUs, err = strconv.Atoi(c); err != nil || m.CPUs < 0 {
				return e.usage(fmt.Errorf("invalid argument %q for \"--cpus\" flag", c), cmdPath)
			}
		}
		m.Memory = p.str("memory", "")
	}
	if policy != "always" && policy != "missing" && policy != "never" {
		return e.fail("invalid pull policy %q: must be one of always, missing, never", policy)
	}
	m.Template = p.str("template", stockTemplatePrefix+agentTemplates[m.Agent])
	quiet := p.bools["quiet"] || p.bools["no-progress"]

	unlock, err := e.lock()
	if err != nil {
		return e.fail("failed to create sandbox: %v", err)
	}
	defer unlock()
	static, err := e.staticMCP(p.lists["static-mcp"]) // every name registered, or nothing is created (mcp.go)
	if err != nil {
		return e.fail("failed to create sandbox: %v", err)
	}
	if m.Name, err = e.pickName(p.str("name", ""), m); err != nil {
		return e.fail("failed to create sandbox: %v", err)
	}
	if !quiet {
		fmt.Fprintf(e.stdout, "Creating new sandbox '%s'...\n", m.Name)
	}
	src, err := e.template(m.Template, policy, quiet)
	if err != nil {
		return e.fail("failed to create sandbox: %v", err)
	}
	if p.bools["clone"] {
		if err := e.makeClone(m); err != nil {
			removeTree(e.dir(m.Name))
			return e.fail("failed to create sandbox: %v", err)
		}
	}
	if err := e.materialise(m, src); err != nil {
		removeTree(e.dir(m.Name))
		return e.fail("failed to create sandbox: %v", err)
	}
	if len(static) > 0 {
		if err := e.saveGateway(m.Name, gateway{Static: true, Servers: static}); err != nil {
			removeTree(e.dir(m.Name))
			return e.fail("failed to create sandbox: %v", err)
		}
	}
	if e.prog == "sbx" {
		// create leaves the sandbox running; its VM process stops it once no session holds it (vm.go).
		if err := e.ensureVM(m); err != nil {
			return e.fail("failed to create sandbox: %v", err)
		}
		if p.bools["clone"] {
			if err := e.serveClone(m); err != nil {
				e.killAll(m.Name)
				removeTree(e.dir(m.Name))
				return e.fail("failed to create sandbox: %v", err)
			}
		}
	}
	if !quiet {
		fmt.Fprintf(e.stdout, "✓ Created sandbox %s\n", m.Name)
	}
	return 0
}

// pickName validates an explicit --name (a taken one yields the leaked
// daemon "Conflict" chain of spec §4) or derives <agent>-<basename>, adding
// a number when taken. Called with the lock held.
func (e *env) pickName(explicit string, m *meta) (string, error) {
	if explicit != "" {
		if err := e.validName(explicit); err != nil {
			return "", err
		}
		if _, err := os.Lstat(e.dir(explicit)); err == nil {
			//lint:ignore ST1005 the text is the daemon's, verbatim (docs/upstream/docker-sandboxes.md): the server matches it.
			return "", fmt.Errorf("create/start VM: container create: Error response from daemon: Conflict. "+
				"The container name \"/%s\" is already in use by container \"%x\". "+
				"You have to remove (or rename) that container to be able to reuse that name.", explicit, []byte("fakecli-leaked-container-id"))
		}
		return explicit, nil
	}
	base := "sandbox"
	if len(m.Workspaces) > 0 {
		base = filepath.Base(m.Workspaces[0])
	}
	name := e.sanitise(m.Agent + "-" + base)
	for i := 1; ; i++ {
		cand := name
		if i > 1 {
			cand = fmt.Sprintf("%s-%d", name, i-1)
		}
		if _, err := os.Lstat(e.dir(cand)); err != nil {
			return cand, e.validName(cand)
		}
	}
}

// validName reports the daemon-side name check as the real error chains do.
func (e *env) validName(n string) error {
	if e.prog == "sbx" {
		if n == "default" { // "default is reserved" (docker/docs automation.md, names)
			return fmt.Errorf("invalid sandbox name %q: the name is reserved", n)
		}
		if !sbxNameRE.MatchString(n) {
			return fmt.Errorf("invalid VM name: %q: name must be 2-63 characters of letters, digits, '-' and '.', starting with a letter or digit", n)
		}
		return nil
	}
	if !pluginNameRE.MatchString(n) || n == "." || n == ".." {
		return fmt.Errorf("create/start VM: POST VM create failed: status 400: {\"message\":\"invalid VM name: VM name can only contain alphanumeric characters, periods, plus signs, hyphens, and underscores\"}")
	}
	return nil
}

// sanitise lowercases a derived name and replaces characters the CLI would
// reject, so default names are always valid.
func (e *env) sanitise(n string) string {
	n = strings.ToLower(n)
	ok := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' ||
			(e.prog == "docker" && (r == '_' || r == '+'))
	}
	n = strings.Map(func(r rune) rune {
		if ok(r) {
			return r
		}
		return '-'
	}, n)
	if e.prog == "sbx" && len(n) > 56 {
		n = n[:56] // room for a "-N" suffix within 63
	}
	return n
}

// template maps an image ref to $FAKECLI_TEMPLATES/<ref with / and : → _>
// and applies the pull policy. "" means "stock template, empty root".
func (e *env) template(ref, policy string, quiet bool) (string, error) {
	dir := ""
	if t := e.getenv("FAKECLI_TEMPLATES"); t != "" {
		dir = filepath.Join(t, strings.NewReplacer("/", "_", ":", "_").Replace(ref))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			dir = ""
		}
	}
	if policy == "never" {
		if dir == "" {
			return "", fmt.Errorf("template %q not found locally (pull policy never)", ref)
		}
		return dir, nil
	}
	if dir == "" && !strings.HasPrefix(ref, stockTemplatePrefix) {
		return "", fmt.Errorf("failed to pull template %q: dial tcp: lookup registry-1.docker.io: no such host", ref)
	}
	if !quiet && (policy == "always" || dir == "") {
		fmt.Fprintf(e.stderr, "Pulling template %s... done\n", ref) // pull progress goes to stderr (spec §7)
	}
	return dir, nil
}

// materialise creates <dir>/root from the template plus the agent's HOME and
// writes meta.json last, so a sandbox is listed only once it is complete.
func (e *env) materialise(m *meta, src string) error {
	root := e.rootfs(m.Name)
	if err := os.MkdirAll(e.dir(m.Name), 0o755); err != nil {
		return err
	}
	if src != "" {
		if err := copyTree(src, root); err != nil {
			return fmt.Errorf("copy template: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "home", "workspace"), 0o755); err != nil {
		return err
	}
	return e.save(m)
}

// resolveWorkspaces makes paths absolute (spec §5), checks they are existing
// directories and handles the :ro/:readonly suffix of extra workspaces.
func resolveWorkspaces(args []string) (ws, ro []string, err error) {
	seen := map[string]bool{} // path → read-only
	for i, a := range args {
		readonly := false
		for _, suf := range []string{":ro", ":readonly"} {
			if strings.HasSuffix(a, suf) {
				a, readonly = strings.TrimSuffix(a, suf), i > 0 // the primary is always rw
			}
		}
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, nil, err
		}
		if st, err := os.Stat(abs); err != nil {
			return nil, nil, fmt.Errorf("invalid workspace %q: %v", a, err)
		} else if !st.IsDir() {
			return nil, nil, fmt.Errorf("invalid workspace %q: not a directory", a)
		}
		if prev, dup := seen[abs]; dup {
			if prev != readonly {
				return nil, nil, fmt.Errorf("workspace %q: conflicting read-only settings", abs)
			}
			continue
		}
		seen[abs] = readonly
		ws = append(ws, abs)
		if readonly {
			ro = append(ro, abs)
		}
	}
	return ws, ro, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
