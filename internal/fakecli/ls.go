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

type sbxSandbox struct {
	Name       string   `json:"name"`
	Agent      string   `json:"agent"`
	Status     string   `json:"status"`
	Workspaces []string `json:"workspaces"`
	Ports      []port   `json:"ports"`
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
				ws, ports := m.Workspaces, m.Ports
				if ws == nil {
					ws = []string{}
				}
				if ports == nil {
					ports = []port{}
				}
				list = append(list, sbxSandbox{m.Name, m.Agent, m.Status, ws, ports})
			}
			v = map[string]any{"sandboxes": list}
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
				for _, pt := range m.Ports {
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
	p, err := parseFlags(nil, args, true)
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
	code := 0
	for _, name := range p.args {
		m, err := e.load(name)
		if err != nil {
			code = e.notFound(name, err)
			continue
		}
		e.killAll(name)
		m.Status = "stopped"
		if err := e.save(m); err != nil {
			code = e.fail("%v", err)
			continue
		}
		fmt.Fprintln(e.stdout, name)
	}
	return code
}

// rm deletes sandboxes. The plugin takes no flags and never asks (spec §7);
// sbx has -f and --all and asks for confirmation without -f (since 0.29).
func (e *env) rm(args []string) int {
	var specs []flagSpec
	if e.prog == "sbx" {
		specs = []flagSpec{{long: "force", short: "f", kind: boolFlag}, {long: "all", kind: boolFlag}}
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
	code := 0
	names := []string{}
	for _, n := range p.args {
		if _, err := e.load(n); err != nil {
			code = e.notFound(n, err)
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
		return code
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
		if err := removeTree(e.dir(name)); err != nil {
			code = e.fail("failed to remove sandbox %q: %v", name, err)
			continue
		}
		fmt.Fprintln(e.stdout, name)
	}
	return code
}

// notFound reports a missing sandbox. The real text is not documented
// (spec §9, §14.1); this one is deliberately simple to match loosely.
func (e *env) notFound(name string, err error) int {
	if errors.Is(err, errNotFound) {
		return e.fail("sandbox %q not found", name)
	}
	return e.fail("%v", err)
}
