// Package gitwork gives each sandbox its own git clone and branch, and brings the agent's work back as
// git: it prepares a server-owned repository for a sandbox, clones or bundles it for the sandbox,
// collects what the agent did (committed and uncommitted) and lands it in the user's repository.
//
// Every git command runs hardened (Hardened): no hook, fsmonitor, pager, external diff, textconv,
// credential helper or transport other than local files, and no system or global configuration. The
// agent's own repository is never the repository git runs in: its objects are read through alternates of
// a server-owned bare repository ("results"), and its working tree is hashed with that repository's
// configuration and a private index, so nothing the agent writes in its .git (config, hooks, attributes
// drivers, replace refs, grafts) is ever honoured on the host.
package gitwork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// ErrNotRepo: the folder is not (the top of) a git repository.
var ErrNotRepo = errors.New("not a git repository")

// hardening is passed as `-c` before every subcommand. Command-line configuration outranks every file, and
// is "protected" configuration, which git trusts for safe.directory.
var hardening = []string{
	"core.hooksPath=/dev/null",
	"core.fsmonitor=false",
	"core.untrackedCache=false",
	"core.pager=cat",
	"core.sshCommand=false",
	"core.askPass=",
	"core.editor=false",
	"core.alternateRefsCommand=",
	"core.quotePath=false",
	"credential.helper=",
	"diff.external=",
	"uploadpack.packObjectsHook=",
	"protocol.allow=never",
	"protocol.file.allow=always",
	"fetch.fsckObjects=true",
	"transfer.fsckObjects=true",
	"gc.auto=0",
	"maintenance.auto=false",
	"commit.gpgSign=false",
	"tag.gpgSign=false",
	"color.ui=false",
	"safe.directory=*",
	"init.defaultBranch=main",
	"user.name=sandbox-mcp",
	"user.email=sandbox-mcp@localhost",
}

// Hardened returns `git -c …` with every hardening setting, ready for a subcommand.
func Hardened() []string {
	a := []string{"git"}
	for _, h := range hardening {
		a = append(a, "-c", h)
	}
	return a
}

// Env is git's whole environment: no system or global configuration, no pager, no prompt, no replace
// refs, no optional locks (so `status` never rewrites an index). Nothing of the server's own GIT_*
// variables is inherited.
func Env(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C", "HOME=/nonexistent",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_PAGER=cat", "PAGER=cat",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false",
		"GIT_NO_REPLACE_OBJECTS=1", "GIT_OPTIONAL_LOCKS=0", "GIT_ATTR_NOSYSTEM=1"}
	return append(env, extra...)
}

// Git runs hardened git commands.
type Git struct {
	// Runner runs the commands; nil means a sandbox.Exec with a 10-minute default deadline.
	Runner sandbox.Runner
	// Timeout bounds each command; 0 means 10 minutes (a first clone of a large repository).
	Timeout time.Duration
}

// Call is one git invocation.
type Call struct {
	Dir      string // -C
	GitDir   string // --git-dir
	WorkTree string // --work-tree
	Env      []string
	Stdin    io.Reader
	Stdout   io.Writer
	Args     []string
	// Config is more `-c` settings after the hardening, for one call that needs an exception (fetching
	// from sbx's git:// remote needs protocol.git.allow).
	Config []string
}

// Run runs one call and returns its stdout.
func (g *Git) Run(ctx context.Context, c Call) (string, error) {
	a := Hardened()
	for _, kv := range c.Config {
		a = append(a, "-c", kv)
	}
	if c.Dir != "" {
		a = append(a, "-C", c.Dir)
	}
	if c.GitDir != "" {
		a = append(a, "--git-dir="+c.GitDir)
	}
	if c.WorkTree != "" {
		a = append(a, "--work-tree="+c.WorkTree)
	}
	a = append(a, c.Args...)
	r := g.Runner
	if r == nil {
		r = &sandbox.Exec{}
	}
	timeout := g.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	res, err := r.Run(ctx, sandbox.Cmd{Args: a, Env: Env(c.Env...), Stdin: c.Stdin, Stdout: c.Stdout, Timeout: timeout})
	if err != nil {
		return string(res.Stdout), fmt.Errorf("git %s: %w", firstArgs(c.Args), err)
	}
	return string(res.Stdout), nil
}

// run is Run in dir with args, trimmed.
func (g *Git) run(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := g.Run(ctx, Call{Dir: dir, Args: args})
	return strings.TrimSpace(out), err
}

// bare runs in the bare repository gitDir.
func (g *Git) bare(ctx context.Context, gitDir string, args ...string) (string, error) {
	out, err := g.Run(ctx, Call{GitDir: gitDir, Args: args})
	return strings.TrimSpace(out), err
}

func firstArgs(a []string) string {
	if len(a) > 2 {
		a = a[:2]
	}
	return strings.Join(a, " ")
}

// exitCode returns the exit code of a failed git command, or -1.
func exitCode(err error) int {
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}
