package cli

import (
	"cmp"
	"runtime"

	"github.com/sandbox-mcp/sandbox-mcp/provision"
)

// streamedAgent is the doctor's sandbox-agent check for sbx and the legacy plugin when sandbox-mcp provides
// sandbox-agent (--provision-agent): any template works, Docker's stock ones included, because the pinned
// binary is copied into each sandbox that lacks it (sandbox/sbx_provision.go). Nothing is fetched here.
// The cache is looked up for this machine's architecture: a microVM runs the host's (a Mac's is
// linux/arm64), and create_sandbox asks the sandbox itself (uname -m) before it copies anything.
func (d *doctor) streamedAgent(cfg config, getenv func(string) string) string {
	d.note("", "template %s: needs no sandbox-agent; sandbox-mcp copies sandbox-agent %s into each sandbox that lacks it",
		cmp.Or(cfg.template, "none set (the agent's stock template)"), provision.Version)
	f, err := cfg.fetcher(getenv)
	if err != nil {
		d.fail("no cache folder for sandbox-agent", "set HOME or pass --cache-dir", "sandbox-agent: %s", err.Error())
		return ""
	}
	arch := runtime.GOARCH
	if f.Cached(arch) {
		d.ok("sandbox-agent %s for linux/%s: cached at %s", provision.Version, arch, f.Path(arch))
	} else {
		d.note("", "sandbox-agent %s for linux/%s: fetched from %s on the first create_sandbox that needs it (about 10 MB, verified), then cached at %s",
			provision.Version, arch, cfg.npmRegistry, f.Path(arch))
	}
	return provision.Version
}
