package fakecli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// ls, stop and rm. Output shapes follow spec §8 (plugin) and §13 (sbx),
// including the quirks callers must survive: the plugin's JSON key is "vms"
// when populated but "sandboxes" when empty, and stopped plugin entries carry
// neither socket_path nor workspaces (the real table shows "-" for them).

type pluginVM struct {
	Name         string   `json:"name"`
	Agent        string   `json:"agent"`
	Status       string   `json:"status"`
	SocketPath   string   `json:"socket_path,omitempty"`
	SandboxCount int      `json:"sandbox_count"`
	Workspaces   []string `json:"workspaces,omitempty"`
}

// sbxSandbox is one entry of `sbx ls --json`: snake_case fields, with created_at, last_used_at (RFC 3339)
// and detached since v0.48 (docker/docs automation.md migration table).
type sbxSandbox struct {
	Name       string   `json:"name"`
	Agent      string   `json:"agent"`
	Status     string   `json:"status"`
	Workspaces []string `json:"workspaces"`
	Ports      []port   `json:"ports"`
	CreatedAt  string   `json:"created_at,omitempty"`
	LastUsedAt string   `json:"last_used_at,omitempty"`
	Detached   *bool    `json:"detached,omitempty"`
}

func (e *env) ls(args []string) int {
	p, err := parseFlags([]flagSpec{{long: "json", kind: boolFlag}, {long: "quiet", short: "q", kind: boolFlag}}, args, true)
	if err != nil {
		return e.usage(err, e.cmd+" ls")
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s ls [OPTIONS]\n\nList VMs\n", e.cmd)
		return 0
	}
	if len(p.args) > 0 {
		return e.usage(fmt.Errorf("%q accepts no arguments", e.cmd+" ls"), e.cmd+" ls")
	}
	all, err := e.list()
	if err != nil {
		return e.fail("%v", err)
	}
	// The plugin hides workspaces of stopped VMs (see the type comment).
	shown := func(m *meta) []string {
		if e.prog == "docker" && m.Status != "running" {
			return nil
		}
		return m.Workspaces
	}
	switch {
	case p.bools["json"]:
		var v any
		if e.prog == "sbx" {
			list := []sbxSandbox{}
			for _, m := range all {
				ws, ports := m.Workspaces, m.Bound
				if ws == nil {
					ws = []string{}
				}
				if ports == nil {
					ports = []port{}
				}
				sb := sbxSandbox{Name: m.Name, Agent: m.Agent, Status: m.Status, Workspaces: ws, Ports: ports}
				if e.atLeast(sbxJSONArray) {
					f := false
					sb.CreatedAt, sb.LastUsedAt, sb.Detached = m.Created, m.Created, &f
				}
				list = append(list, sb)
			}
			// v0.48.0: "sbx ls --json prints a bare JSON array" (was {"sandboxes":[…]}).
			v = map[string]any{"sandboxes": list}
			if e.atLeast(sbxJSONArray) {
				v = list
			}
		} else if len(all) == 0 {
			v = map[string]any{"sandboxes": []any{}} // the documented empty-list quirk
		} else {
			var vms []pluginVM
			for _, m := range all {
				vm := pluginVM{Name: m.Name, Agent: m.Agent, Status: m.Status, Workspaces: shown(m)}
				if m.Status == "running" {
					vm.SocketPath = filepath.Join(e.dir(m.Name), "docker.sock")
					vm.SandboxCount = 1
				}
				vms = append(vms, vm)
			}
			v = map[string]any{"vms": vms}
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
	case p.bools["quiet"]:
		for _, m := range all {
			fmt.Fprintln(e.stdout, m.Name)
		}
	default:
		// tabwriter with padding 3 reproduces the captured table's spacing;
		// the last column is not padded.
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
		if e.prog == "sbx" {
			fmt.Fprintln(tw, "SANDBOX\tAGENT\tSTATUS\tPORTS\tWORKSPACE")
		} else {
			fmt.Fprintln(tw, "SANDBOX\tAGENT\tSTATUS\tWORKSPACE")
		}
		for _, m := range all {
			ws := orDash(strings.Join(shown(m), ", "))
			if e.prog == "sbx" {
				var ps []string
				for _, pt := range m.Bound {
					ps = append(ps, pt.String())
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, m.Agent, m.Status, orDash(strings.Join(ps, ", ")), ws)
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, m.Agent, m.Status, ws)
			}
		}
		tw.Flush()
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stop kills every process of each sandbox and marks it stopped; like docker,
// it carries on past failures and exits 1 if any name failed.
func (e *env) stop(args []string) int {
	p, err := parseFlags(e.jsonFlag(), args, true)
	if err != nil {
		return e.usage(err, e.cmd+" stop")
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s stop SANDBOX [SANDBOX...]\n\nStop one or more sandboxes\n", e.cmd)
		return 0
	}
	if len(p.args) == 0 {
		return e.usage(fmt.Errorf("%q requires at least 1 argument", e.cmd+" stop"), e.cmd+" stop")
	}
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	defer unlock()
	rep := e.reporter(p.bools["json"], "stopped")
	for _, name := range p.args {
		m, err := e.load(name)
		if err != nil {
			rep.failed(name, err)
			continue
		}
		if err := e.stopLocked(m, 0); err != nil {
			rep.failed(name, err)
			continue
		}
		rep.done(name)
	}
	return rep.finish()
}

// jsonFlag is --json on sbx rm/stop from v0.48 on; older releases and the plugin have no flags there.
func (e *env) jsonFlag() []flagSpec {
	if e.prog == "sbx" && e.atLeast(sbxJSONArray) {
		return []flagSpec{{long: "json", kind: boolFlag}}
	}
	return nil
}

// reporter prints the outcome of each target of rm/stop: its name (text), or with --json one
// {"name","action"} / {"name","error"} object per target in an array ("sbx rm --json and sbx stop --json
// return per-target action/error", docker/docs automation.md, v0.48; the field names besides those two are
// the double's). Any failed target makes the exit status 1.
type reporter struct {
	e       *env
	json    bool
	action  string
	entries []map[string]string
	code    int
}

func (e *env) reporter(asJSON bool, action string) *reporter {
	return &reporter{e: e, json: asJSON, action: action, entries: []map[string]string{}}
}

func (r *reporter) done(name string) {
	if r.json {
		r.entries = append(r.entries, map[string]string{"name": name, "action": r.action})
		return
	}
	fmt.Fprintln(r.e.stdout, name)
}

func (r *reporter) failed(name string, err error) {
	r.code = 1
	if r.json {
		msg := err.Error()
		if errors.Is(err, errNotFound) {
			msg = fmt.Sprintf("no sandbox named '%s'", name)
		}
		r.entries = append(r.entries, map[string]string{"name": name, "error": msg})
		return
	}
	r.e.notFound(name, err)
}

func (r *reporter) finish() int {
	if r.json {
		b, _ := json.MarshalIndent(r.entries, "", "  ")
		fmt.Fprintf(r.e.stdout, "%s\n", b)
	}
	return r.code
}

// rm deletes sandboxes. The plugin takes no flags and never asks (spec §7);
// sbx has -f and --all and asks for confirmation without -f (since 0.29).
func (e *env) rm(args []string) int {
	var specs []flagSpec
	if e.prog == "sbx" {
		specs = append(e.jsonFlag(), flagSpec{long: "force", short: "f", kind: boolFlag}, flagSpec{long: "all", kind: boolFlag})
	}
	cmdPath := e.cmd + " rm"
	p, err := parseFlags(specs, args, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s rm [OPTIONS] SANDBOX [SANDBOX...]\n\nRemove one or more sandboxes\n", e.cmd)
		return 0
	}
	if len(p.args) == 0 && !p.bools["all"] {
		return e.usage(fmt.Errorf("%q requires at least 1 argument", cmdPath), cmdPath)
	}
	rep := e.reporter(p.bools["json"], "removed")
	names := []string{}
	for _, n := range p.args {
		if _, err := e.load(n); err != nil {
			rep.failed(n, err)
			continue
		}
		names = append(names, n)
	}
	if p.bools["all"] {
		all, err := e.list()
		if err != nil {
			return e.fail("%v", err)
		}
		names = names[:0]
		for _, m := range all {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return rep.finish()
	}
	if e.prog == "sbx" && !p.bools["force"] && e.atLeast(sbxJSONArray) {
		// v0.48: "piping y into rm does not confirm (use -f)" (docker/docs automation.md); the double has
		// no terminal, so without -f it always refuses. The wording is the double's.
		return e.fail("refusing to remove %s without confirmation: stdin is not a terminal; use -f", strings.Join(names, ", "))
	}
	if e.prog == "sbx" && !p.bools["force"] {
		fmt.Fprintf(e.stderr, "This will permanently remove %d sandbox(es): %s\nAre you sure you want to continue? (y/N): ",
			len(names), strings.Join(names, ", "))
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(e.stderr, "Aborted.")
			return 1
		}
	}
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err)
	}
	defer unlock()
	for _, name := range names {
		e.killAll(name)
		e.dropClone(name) // sbx --clone: its git server and remote (clone.go)
		if err := removeTree(e.dir(name)); err != nil {
			rep.failed(name, fmt.Errorf("failed to remove sandbox %q: %v", name, err))
			continue
		}
		rep.done(name)
	}
	return rep.finish()
}

// notFound reports a missing sandbox. sbx: `ERROR: no sandbox named 'NAME'`, then how to create one, exit 1
// (docker/sbx-releases#504). The plugin's text is not documented (spec §9, §14.1); the double's is
// deliberately simple to match loosely.
func (e *env) notFound(name string, err error) int {
	switch {
	case errors.Is(err, errNotFound) && e.prog == "sbx":
		fmt.Fprintf(e.stderr, "ERROR: no sandbox named '%s'\nTo create one:\n  sbx create AGENT WORKSPACE\n", name)
		return 1
	case errors.Is(err, errNotFound):
		return e.fail("sandbox %q not found", name)
	}
	return e.fail("%v", err)
}
