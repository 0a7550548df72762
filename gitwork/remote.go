package gitwork

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// sbx --clone: "the agent's commits are accessible via the `sandbox-<name>` git remote on the host"
// (sbx v0.45.1 help). That much is documented; the URL's form is not. The remote is in the user's own
// configuration, written by sbx, so it is not the agent's to choose, but it is still checked: we fetch only
// from
//   - git://HOST[:PORT]/PATH with HOST a loopback address or localhost (a git daemon on this machine, which
//     is what the documentation's wording suggests and what the test double serves), with protocol.git
//     allowed for that one fetch; git's protocol carries no configuration, no hook runs (hooksPath
//     /dev/null), and every object is checked (fetch.fsckObjects);
//   - a local path or file:// URL: then git never runs in that repository (a local fetch would run
//     upload-pack there, with its configuration, which the agent may have written): its refs are read as
//     files and its objects through an alternate, as for a mounted clone (CollectDir).
// Anything else (ssh, http, ext::, another host) is refused.

// RemoteKind is how a sandbox remote's URL is reached.
type RemoteKind int

// Remote kinds.
const (
	RemoteDaemon RemoteKind = iota + 1 // git:// on loopback
	RemoteLocal                        // a repository on this machine's disk
)

// CheckRemoteURL classifies a sandbox remote's URL; for a local one it returns the repository's path.
func CheckRemoteURL(raw string) (RemoteKind, string, error) {
	switch {
	case strings.HasPrefix(raw, "/"):
		return RemoteLocal, filepath.Clean(raw), nil
	case strings.HasPrefix(raw, "file://"):
		u, err := url.Parse(raw)
		if err == nil && (u.Host == "" || u.Host == "localhost") && strings.HasPrefix(u.Path, "/") && u.RawQuery == "" && u.Fragment == "" {
			return RemoteLocal, filepath.Clean(u.Path), nil
		}
	case strings.HasPrefix(raw, "git://"):
		u, err := url.Parse(raw)
		if err == nil && u.User == nil && u.RawQuery == "" && u.Fragment == "" && strings.HasPrefix(u.Path, "/") && loopback(u.Hostname()) {
			return RemoteDaemon, raw, nil
		}
	}
	return 0, "", fmt.Errorf("its URL %q is neither a git:// address on this machine's loopback nor a local repository, so sandbox-mcp does not fetch from it", truncate(raw, 80))
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// CollectRemote collects refs/sandbox-mcp/{head,snapshot} (written by InsideScript) from a sandbox remote.
func (g *Git) CollectRemote(ctx context.Context, results, raw string) (Collected, error) {
	kind, where, err := CheckRemoteURL(raw)
	if err != nil {
		return Collected{}, err
	}
	if kind == RemoteDaemon {
		_, err := g.Run(ctx, Call{GitDir: results, Config: []string{"protocol.git.allow=always"}, Args: []string{"fetch", "-q", "--no-tags",
			"--no-write-fetch-head", "--no-recurse-submodules", "--", where, "+refs/sandbox-mcp/head:" + refHead, "+refs/sandbox-mcp/snapshot:" + refSnapshot}})
		if err != nil {
			return Collected{}, err
		}
		return g.Last(ctx, results)
	}
	gitDir := where
	if fi, err := os.Lstat(filepath.Join(where, ".git")); err == nil && fi.IsDir() {
		gitDir = filepath.Join(where, ".git")
	}
	var c Collected
	if c.Head, err = readRef(gitDir, "refs/sandbox-mcp/head"); err != nil {
		return Collected{}, err
	}
	if c.Snapshot, err = readRef(gitDir, "refs/sandbox-mcp/snapshot"); err != nil {
		return Collected{}, err
	}
	if err := AddAlternate(results, filepath.Join(gitDir, "objects")); err != nil {
		return Collected{}, err
	}
	for _, sha := range []string{c.Head, c.Snapshot} {
		if t, err := g.bare(ctx, results, "cat-file", "-t", sha); err != nil || t != "commit" {
			return Collected{}, fmt.Errorf("the sandbox's %s is not a commit in its repository", sha)
		}
	}
	return c, g.setRefs(ctx, results, c.Head, c.Snapshot)
}
