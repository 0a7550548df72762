package cli

import (
	"context"
	"log/slog"
	"runtime"

	"github.com/sandbox-mcp/sandbox-mcp/provision"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// fetcher is the sandbox-agent provisioner the flags describe. The cache folder comes from the server's
// own environment (getenv), so a configured HOME or XDG_CACHE_HOME decides.
func (c config) fetcher(getenv func(string) string) (*provision.Fetcher, error) {
	dir := c.cacheDir
	if dir == "" {
		d, err := provision.DefaultCacheDir(runtime.GOOS, getenv)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	return &provision.Fetcher{Registry: c.npmRegistry, CacheDir: dir}, nil
}

// provideAgent adapts the fetcher to the Docker backend, with its progress reported on the call's context.
func provideAgent(f *provision.Fetcher, ferr error, log *slog.Logger) sandbox.AgentProvider {
	return func(ctx context.Context, arch string) (string, string, error) {
		if ferr != nil {
			return "", "", ferr
		}
		path, fetched, err := f.SandboxAgent(ctx, arch, func(msg string) { sandbox.Say(ctx, msg) })
		if fetched {
			log.Info("sandbox-agent fetched and cached", "version", provision.Version, "arch", arch, "path", path)
		}
		return path, provision.Version, err
	}
}
