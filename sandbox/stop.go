package sandbox

// Stop for every backend: it ends every process in a sandbox and keeps its filesystem, so an idle sandbox
// costs nothing until it is used again (Exec starts it). Docs: docs/upstream/docker-sandboxes.md §7 "stop" and §13.

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// stop runs `stop NAME`: neither CLI has flags for it (§7, §13), and it prints the names it stopped. Like rm,
// stop ends with the name rather than `--`, so the name is checked not to look like a flag instead.
func (c *cli) stop(ctx context.Context, name string) error {
	op := c.op("stop", name)
	if name == "" || strings.HasPrefix(name, "-") {
		return Errorf(Invalid, "%s: empty or flag-like name", op)
	}
	res, err := c.r.Run(ctx, Cmd{Args: c.argv("stop", append(c.jsonArgs(), name)...)})
	if jerr := perTargetError(res.Stdout, name); jerr != "" || (err == nil && len(c.jsonArgs()) > 0) {
		return targetErr(op, jerr, err)
	}
	if err == nil {
		return nil
	}
	var ee *ExitError
	// stop's stderr is only the CLI's own (no inner command), so the loose match of rm is safe here too; sbx
	// says `ERROR: no sandbox named 'X'` (docker/sbx-releases#504), the plugin's text is undocumented (§9, §14).
	if errors.As(err, &ee) && containsAny(strings.ToLower(ee.Stderr), "not found", "no such", "no sandbox named") {
		return Errorf(NotFound, "%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Stop runs `sbx stop NAME`. sbx exec starts the sandbox again (§13). It returns ErrNotFound if it is gone.
func (s *Sbx) Stop(ctx context.Context, name string) error {
	s.dropHold(name) // the held sandbox-agent would keep it running (sbx_agent.go)
	return s.c.stop(ctx, name)
}

// Stop runs `docker sandbox stop NAME`; exec starts the VM again (§6). It returns ErrNotFound if it is gone.
func (d *DockerSandbox) Stop(ctx context.Context, name string) error { return d.c.stop(ctx, name) }

// dockerStopGrace is `docker stop -t`: seconds between SIGTERM and SIGKILL. The main process is
// `sleep infinity` or sandbox-agent under --init, which both stop at once on SIGTERM; agents get a moment
// to exit on their own.
const dockerStopGrace = "5"

// Stop implements Backend: `docker stop -t 5 -- NAME`, only for a container sandbox-mcp created. Exec and
// AgentEndpoint start it again; its sandbox-agent token is kept, since the container keeps its environment.
// It returns ErrNotFound when the container is gone and ErrInvalid for a container we did not create.
func (d *Docker) Stop(ctx context.Context, name string) error {
	if err := ValidateName("sandbox", name); err != nil {
		return err
	}
	op := "docker stop " + name
	// Look first, as Remove does: a container we did not create must never be touched.
	info, err := d.Get(ctx, name)
	if err != nil {
		return err
	}
	if !info.Managed {
		return Errorf(Invalid, "%s: container %q was not created by sandbox-mcp; refusing to stop it", op, name)
	}
	// Stopping a stopped container exits 0; a container removed since inspect gives "No such container".
	if _, err := d.r.Run(ctx, Cmd{Args: d.argv("stop", "-t", dockerStopGrace, "--", name)}); err != nil {
		return dockerErr(op, name, err)
	}
	return nil
}

// Stop detects a backend if needed and delegates; see Backend.Stop.
func (l *Lazy) Stop(ctx context.Context, name string) error {
	b, err := l.Backend(ctx)
	if err != nil {
		return err
	}
	return b.Stop(ctx, name)
}

var _ Backend = (*Docker)(nil)
