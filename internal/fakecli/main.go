// Package fakecli is a test double of the Docker Sandboxes CLIs: the standalone
// `sbx` CLI and the legacy `docker sandbox` CLI plugin (Docker Desktop
// 4.58–4.79), as specified in docs/upstream/docker-sandboxes.md.
//
// Real sandboxes are microVMs. Here a sandbox is a directory
// ($FAKECLI_ROOT/<prog>/<name>/) holding meta.json and root/ (a copy of a
// template directory), and `exec` runs commands as local processes with a
// clean, container-like environment. The goal is to let the rest of the
// project be tested end to end on a Linux box that has neither CLI, including
// the documented quirks and failure modes (plugin absent or removed, the
// `--help` exit-0 trap, empty-list JSON key, zombie VMs, name clashes) and
// injected faults (hangs, garbage output, failures).
//
// Tests use it from TestMain:
//
//	func TestMain(m *testing.M) { fakecli.Dispatch(); os.Exit(m.Run()) }
//
// then fakecli.Install(binDir), PATH=binDir:$PATH and FAKECLI_ROOT=<dir>.
package fakecli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions the double impersonates. FAKECLI_SBX_VERSION and
// FAKECLI_PLUGIN_VERSION select another one (see version.go): outputs and
// flags that changed between versions follow the selected one.
const (
	defaultPluginVersion = "0.12.0" // the newest real plugin (docs/upstream/sbx.md)
	defaultSbxVersion    = "0.53.0" // the newest sbx release covered by docs/upstream/sbx.md
)

// env bundles what a command needs from the outside world, so commands stay
// testable in-process and never touch os.Getenv/os.Stdout directly.
type env struct {
	prog   string // "sbx" or "docker"
	cmd    string // command path for messages: "sbx" or "docker sandbox"
	root   string // $FAKECLI_ROOT/<prog>
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Main runs the fake CLI named prog ("sbx" or "docker") with args (without
// argv0) and returns the exit code.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	root := getenv("FAKECLI_ROOT")
	if root == "" {
		fmt.Fprintf(stderr, "fake %s: FAKECLI_ROOT is not set (the test double needs a state directory)\n", prog)
		return 1
	}
	e := &env{prog: prog, cmd: prog, root: filepath.Join(root, prog), stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	switch prog {
	case "sbx":
		return e.run(args)
	case "docker":
		return e.docker(args)
	}
	fmt.Fprintf(stderr, "fake CLI: unknown program %q (want sbx or docker)\n", prog)
	return 1
}

// Dispatch is meant for TestMain: if filepath.Base(os.Args[0]) is "sbx" or
// "docker" it runs Main and os.Exit()s; otherwise it returns. This is how one
// test binary doubles as the fake CLIs through the symlinks made by Install.
func Dispatch() {
	switch base := filepath.Base(os.Args[0]); base {
	case "sbx", "docker":
		if base == "sbx" && len(os.Args) > 1 { // the double's own helpers for sbx --clone (clone.go)
			switch os.Args[1] {
			case nsSubcommand:
				syscall.Exit(nsMain(os.Args[2:]))
			case gitdSubcommand:
				syscall.Exit(gitdMain(os.Args[2:]))
			}
		}
		code := Main(base, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		// syscall.Exit, not os.Exit: under -race, os.Exit(0) runs the race
		// runtime's finaliser, which sleeps 1 s (GORACE atexit_sleep_ms) in
		// every fake invocation. os.Stdout/Stderr are unbuffered, so nothing
		// is lost by skipping the runtime's exit hooks.
		syscall.Exit(code)
	}
}

// Install symlinks the running test binary (os.Executable()) as dir/sbx and
// dir/docker so that a PATH starting with dir finds the fakes.
func Install(dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("fakecli: locate test binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fakecli: %w", err)
	}
	for _, name := range []string{"sbx", "docker"} {
		link := filepath.Join(dir, name)
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("fakecli: %w", err)
		}
		if err := os.Symlink(exe, link); err != nil {
			return fmt.Errorf("fakecli: %w", err)
		}
	}
	return nil
}

// run dispatches a sandbox subcommand (args start at the subcommand, after
// any leading global flags). Shared by sbx and the present docker plugin.
func (e *env) run(args []string) int {
	top, err := parseFlags(nil, args, false)
	if err != nil {
		return e.usage(err, e.cmd)
	}
	if len(top.args) == 0 {
		fmt.Fprint(e.stdout, e.helpText())
		return 0
	}
	sub, rest := top.args[0], top.args[1:]
	if top.help {
		fmt.Fprint(e.stdout, e.helpText())
		return 0
	}
	if sub == vmSubcommand && e.prog == "sbx" {
		return e.vm(rest) // the double's own "VM" process (vm.go), never called by users
	}
	// Aliases are folded first so FAKECLI_HANG=ls also catches `list`.
	if alias, ok := map[string]string{"list": "ls", "remove": "rm"}[sub]; ok {
		sub = alias
	}
	if code, ok := e.fault(sub); ok {
		return code
	}
	switch sub {
	case "version":
		return e.version(rest)
	case "create":
		return e.create(rest)
	case "exec":
		return e.exec(rest)
	case "ls":
		return e.ls(rest)
	case "stop":
		return e.stop(rest)
	case "rm":
		return e.rm(rest)
	}
	if e.prog == "sbx" {
		switch sub {
		case "ports":
			return e.ports(rest)
		case "secret":
			return e.secret(rest)
		case "policy":
			return e.policy(rest)
		case "mcp":
			return e.mcp(rest) // mcp.go
		}
	}
	fmt.Fprintf(e.stderr, "fake %s: %q is not implemented by the test double\n", e.prog, sub)
	return 1
}

// fault applies FAKECLI_HANG / FAKECLI_GARBAGE / FAKECLI_FAIL to subcommand
// sub, so callers can test their timeout, parsing and error paths.
func (e *env) fault(sub string) (int, bool) {
	if e.getenv("FAKECLI_HANG") == sub {
		for { // until killed; a Sleep loop keeps Go's deadlock detector quiet
			time.Sleep(time.Hour)
		}
	}
	if e.getenv("FAKECLI_GARBAGE") == sub {
		e.stdout.Write([]byte("\x00\xff\xfe{\"vms\":[\x1b[31m\x89PNG\r\n\x1a\n\xde\xad\xbe\xef not json \x7f\x00\n"))
		return 3, true
	}
	if name, msg, ok := strings.Cut(e.getenv("FAKECLI_FAIL"), ":"); ok && name == sub {
		fmt.Fprintln(e.stderr, msg)
		return 1, true
	}
	return 0, false
}

func (e *env) version(args []string) int {
	p, err := parseFlags(nil, args, true)
	if err != nil {
		return e.usage(err, e.cmd+" version")
	}
	if p.help {
		fmt.Fprintf(e.stdout, "Usage:  %s version\n\nShow the version\n", e.cmd)
		return 0
	}
	if e.prog == "sbx" {
		fmt.Fprintf(e.stdout, "sbx version v%s (fake)\n", e.cliVersion())
	} else {
		fmt.Fprintf(e.stdout, "github.com/docker/sandboxes/cli-plugin v%s fake\n", e.cliVersion())
	}
	return 0
}

// errPrefix is how each CLI starts an error line: sbx prints `ERROR: …`
// (docker/sbx-releases#504), the plugin cobra's `Error: …` (spec §9).
func (e *env) errPrefix() string {
	if e.prog == "sbx" {
		return "ERROR: "
	}
	return "Error: "
}

// fail prints a runtime error and returns 1, the only failure code observed
// for the real CLIs (spec §9).
func (e *env) fail(format string, a ...any) int {
	fmt.Fprintf(e.stderr, e.errPrefix()+format+"\n", a...)
	return 1
}

// usage reports a usage error. Exit 2 distinguishes "you called the CLI
// wrongly" from runtime failures (1) in tests.
func (e *env) usage(err error, cmdPath string) int {
	fmt.Fprintf(e.stderr, "%s%v\nSee '%s --help'.\n", e.errPrefix(), err, cmdPath)
	return 2
}

func (e *env) helpText() string {
	if e.prog == "sbx" {
		return `Usage:  sbx [OPTIONS] COMMAND

Docker Sandboxes (fake test double)

Commands:
  create      Create a sandbox for an agent
  exec        Execute a command inside a sandbox
  ls          List sandboxes
  mcp         Manage MCP servers
  policy      Manage network policy
  ports       Manage sandbox port publishing
  rm          Remove one or more sandboxes
  secret      Manage stored secrets
  run         Run an agent in a sandbox
  stop        Stop one or more sandboxes
  version     Show sbx version information

Run 'sbx COMMAND --help' for more information on a command.
`
	}
	return `Usage:  docker sandbox [OPTIONS] COMMAND

Docker Sandbox (fake test double)

Management Commands:
  create      Create a sandbox for an agent
  network     Manage sandbox networking

Commands:
  exec        Execute a command inside a sandbox
  ls          List VMs
  reset       Reset all VM sandboxes and clean up state
  rm          Remove one or more sandboxes
  run         Run an agent in a sandbox
  save        Save a snapshot of the sandbox as a template
  stop        Stop one or more sandboxes without removing them
  version     Show Docker Sandbox version information

Run 'docker sandbox COMMAND --help' for more information on a command.
`
}
