package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/provision"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// provisioned is the doctor's image check when sandbox-mcp provides sandbox-agent (--provision-agent): the
// image only has to be there (or be the default, which create_sandbox pulls), and the pinned sandbox-agent is
// either cached or fetched on the first create. Nothing is fetched or pulled here.
func (d *doctor) provisioned(ctx context.Context, cfg config, getenv func(string) string, runner sandbox.Runner, base []string, image string) string {
	argv := append(append([]string{}, base...), "image", "inspect", "--format", "{{.Architecture}}", "--", image)
	cctx, cancel := context.WithTimeout(ctx, doctorImageTimeout)
	defer cancel()
	res, err := runner.Run(cctx, sandbox.Cmd{Args: argv, Timeout: doctorImageTimeout})
	arch := strings.TrimSpace(string(res.Stdout))
	switch {
	case err == nil:
		d.ok("image %s: on this machine (%s); sandbox-agent is provided by sandbox-mcp, the image needs none", image, arch)
	case image == cfg.docker.Image && image == sandbox.DefaultDockerImage:
		d.note("", "image %s: not on this machine yet; create_sandbox pulls it on first use (with progress)", image)
	case cfg.docker.Pull:
		d.note("", "image %s: not on this machine yet; create_sandbox pulls it (--docker-pull)", image)
	default:
		d.fail("image "+image+" is not on this machine",
			fmt.Sprintf("get the image onto this machine (docker pull %s if it is published, or build it), pass --docker-pull=true "+
				"to pull on first use, or use the default image %s (pulled on first use)", image, sandbox.DefaultDockerImage),
			"image %s: not on this machine (sandbox-mcp pulls only the default image unless --docker-pull)", image)
		return ""
	}
	f, ferr := cfg.fetcher(getenv)
	if ferr != nil {
		d.fail("no cache folder for sandbox-agent", "set HOME or pass --cache-dir", "sandbox-agent: %s", ferr.Error())
		return ""
	}
	if arch == "" {
		arch = "amd64"
	}
	if f.Cached(arch) {
		d.ok("sandbox-agent %s for linux/%s: cached at %s", provision.Version, arch, f.Path(arch))
	} else {
		d.note("", "sandbox-agent %s for linux/%s: fetched from %s on the first create_sandbox (about 10 MB, verified), then cached at %s",
			provision.Version, arch, cfg.npmRegistry, f.Path(arch))
	}
	return provision.Version
}
