package fakecli

import (
	"encoding/json"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"
)

// `sbx ports SANDBOX [--publish SPEC]… [--unpublish SPEC]… [--json]` (docker/docs
// reference/cli/sbx/ports, checked 2026-12-02): "List, publish, or unpublish
// ports for a running sandbox. Without --publish or --unpublish flags, lists
// all published ports." --json lists host_ip, host_port, sandbox_port and
// protocol. Publications persist; the host port of an ephemeral one is chosen
// again at every start (vm.go). Available from v0.37 (spec §13: "-p/--publish
// (0.37+)"); the double assumes `ports` arrived with -p.

func (e *env) ports(args []string) int {
	cmdPath := e.cmd + " ports"
	if !e.atLeast(sbxPorts) {
		fmt.Fprintf(e.stderr, "ERROR: unknown command \"ports\" for \"sbx\"\n")
		return 1
	}
	p, err := parseFlags([]flagSpec{{long: "json", kind: boolFlag}, {long: "publish", kind: listFlag},
		{long: "unpublish", kind: listFlag}}, args, true)
	if err != nil {
		return e.usage(err, cmdPath)
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s SANDBOX [flags]\n\nManage sandbox port publishing\n", cmdPath)
		return 0
	}
	if len(p.args) != 1 {
		return e.usage(fmt.Errorf("%q requires exactly 1 argument", cmdPath), cmdPath)
	}
	name := p.args[0]
	pub, err := parsePorts(p.lists["publish"])
	if err != nil {
		return e.fail("%v", err)
	}
	unpub, err := parsePorts(p.lists["unpublish"])
	if err != nil {
		return e.fail("%v", err)
	}
	if len(pub)+len(unpub) > 0 {
		if code, ok := e.changePorts(name, pub, unpub); !ok {
			return code
		}
	}
	m, err := e.load(name)
	if err != nil {
		return e.notFound(name, err)
	}
	bound := m.Bound
	if bound == nil {
		bound = []port{}
	}
	if p.bools["json"] {
		b, _ := json.MarshalIndent(bound, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "HOST IP\tHOST PORT\tSANDBOX PORT\tPROTOCOL")
	for _, b := range bound {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", b.HostIP, b.HostPort, b.SandboxPort, b.Protocol)
	}
	tw.Flush()
	return 0
}

// changePorts applies --publish/--unpublish to a running sandbox and waits until its VM has bound them.
func (e *env) changePorts(name string, pub, unpub []port) (int, bool) {
	unlock, err := e.lock()
	if err != nil {
		return e.fail("%v", err), false
	}
	m, err := e.load(name)
	if err != nil {
		unlock()
		return e.notFound(name, err), false
	}
	if m.Status != "running" || !vmAlive(m) {
		unlock()
		return e.fail("sandbox '%s' is not running", name), false
	}
	for _, u := range unpub {
		m.Ports = slices.DeleteFunc(m.Ports, func(p port) bool {
			return p.SandboxPort == u.SandboxPort && (u.HostPort == 0 || boundPort(m, p) == u.HostPort)
		})
	}
	for _, p := range pub {
		if !slices.Contains(m.Ports, p) {
			m.Ports = append(m.Ports, p)
		}
	}
	if err := e.save(m); err != nil {
		unlock()
		return e.fail("%v", err), false
	}
	want := m.Ports
	unlock()
	// The VM process binds within its 50 ms loop; the long deadline is for a loaded test machine (seen:
	// 5 s was not enough at a load average of 8), not sbx's own timing, which is undocumented.
	state := ""
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m, err := e.load(name)
		if err != nil {
			return e.notFound(name, err), false
		}
		if len(m.Bound) == len(want) {
			return 0, true
		}
		state = fmt.Sprintf("status %s, VM %q alive %v, %d of %d bound", m.Status, m.VM, vmAlive(m), len(m.Bound), len(want))
		if m.Status == "running" && !vmAlive(m) {
			// The VM process is gone while the sandbox counts as running (seen only on a loaded test
			// machine): start it again, as the VM manager behind sbx would, rather than wait in vain.
			if unlock, err := e.lock(); err == nil {
				if m, err := e.load(name); err == nil && m.Status == "running" && !vmAlive(m) {
					_ = e.ensureVM(m)
				}
				unlock()
			}
		}
	}
	return e.fail("failed to publish ports of sandbox '%s': %s (%s)", name, "the host binding did not come up", state), false
}

// boundPort is the host port a published spec is bound to now (0 if none).
func boundPort(m *meta, p port) int {
	for _, b := range m.Bound {
		if b.SandboxPort == p.SandboxPort && b.Protocol == p.Protocol && (p.HostPort == 0 || p.HostPort == b.HostPort) {
			return b.HostPort
		}
	}
	return 0
}
