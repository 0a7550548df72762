package fakecli

import "fmt"

// The docker front end. Only `docker sandbox …` exists; the three
// FAKECLI_DOCKER_SANDBOX modes reproduce the three worlds a caller meets:
//
//	present  DD 4.58–4.79 with plugin v0.12 (default)
//	absent   Docker CLI 28.x without the plugin (spec §2, §9)
//	removed  DD ≥ 4.80, where a v0.13.0 stub answers every subcommand with a
//	         deprecation notice and exit 1 (spec §1)
//
// In every mode `--help` exits 0, which is the documented trap that makes
// `--help` useless as an availability probe (spec §7 `version`).

const dockerMainHelp = `
Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  build       Build an image from a Dockerfile
  pull        Download an image from a registry
  images      List images
  version     Show the Docker version information
  info        Display system-wide information

Run 'docker COMMAND --help' for more information on a command.

For more help on how to use Docker, head to https://docs.docker.com/go/guides/
`

func (e *env) docker(args []string) int {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(e.stdout, dockerMainHelp)
		return 0
	}
	if args[0] != "sandbox" {
		fmt.Fprintln(e.stderr, `fake docker: only "docker sandbox" is implemented`)
		return 1
	}
	rest := args[1:]
	e.cmd = "docker sandbox"
	switch mode := e.getenv("FAKECLI_DOCKER_SANDBOX"); mode {
	case "", "present":
		return e.run(rest)
	case "absent":
		if wantsHelp(rest) {
			// The 28.x CLI treats the unknown command's --help as its own.
			fmt.Fprint(e.stdout, dockerMainHelp)
			return 0
		}
		fmt.Fprint(e.stderr, "docker: unknown command: docker sandbox\n\nRun 'docker --help' for more information\n")
		return 1
	case "removed":
		if wantsHelp(rest) {
			// Assumption: the stub is still a cobra plugin, so help works.
			fmt.Fprint(e.stdout, "Usage:  docker sandbox COMMAND\n\n\"docker sandbox\" is deprecated and has been removed.\n")
			return 0
		}
		// Spec §1: every subcommand, `version` included, prints this and exits 1.
		fmt.Fprint(e.stderr, "\"docker sandbox\" is deprecated and has been removed.\n"+
			"Please migrate to Docker Sandboxes: https://www.docker.com/products/docker-sandboxes\n")
		return 1
	default:
		fmt.Fprintf(e.stderr, "fake docker: invalid FAKECLI_DOCKER_SANDBOX=%q (want present, absent or removed)\n", mode)
		return 1
	}
}

// wantsHelp reports whether a help flag appears before any "--" (cobra
// handles -h/--help anywhere among the flags).
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--help" || a == "-h" {
			return true
		}
	}
	return false
}
