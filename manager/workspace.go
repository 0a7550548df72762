package manager

import (
	"os"
	"path/filepath"
	"strings"
)

// credentialDirs are folders under the home directory that hold credentials. A sandbox must never mount
// them, nor anything inside them, however the path is spelt.
var credentialDirs = []string{".ssh", ".aws", ".azure", ".config/gcloud", ".config/gh", ".docker", ".gnupg",
	".kube", ".password-store", ".local/share/keyrings", ".config/sandbox-mcp", ".local/state/sandbox-mcp"}

// systemDirs are never workspaces: mounting them would hand the host to the agent.
var systemDirs = []string{"/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"}

// WorkspacePolicy decides which host folders may become a sandbox's workspace.
type WorkspacePolicy struct {
	// Home is the user's home directory: refused itself, and its credential folders refused.
	Home string
	// AllowedRoots, when non-empty, are the only trees workspaces may come from.
	AllowedRoots []string
}

// Check validates a workspace path and returns it with symlinks resolved (what will really be mounted).
// Errors wrap ErrInvalid and name the rule that refused the path.
func (p WorkspacePolicy) Check(path string) (string, error) {
	switch {
	case path == "":
		return "", invalidf("workspace is required: pass the absolute path of the project folder to work in")
	case strings.ContainsRune(path, 0) || len(path) > 4096:
		return "", invalidf("workspace path is not valid")
	case !filepath.IsAbs(path):
		return "", invalidf("workspace %q is relative: pass an absolute path", path)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(path))
	if err != nil {
		return "", invalidf("workspace %q does not exist: create the folder first or pass an existing one", path)
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.IsDir() {
		return "", invalidf("workspace %q is not a directory: pass a folder", path)
	}
	if err := p.refuse(real); err != nil {
		return "", err
	}
	return real, nil
}

func (p WorkspacePolicy) refuse(real string) error {
	for _, d := range systemDirs {
		if real == d {
			return invalidf("workspace %q is a system folder, which the workspace policy refuses: pass a project folder", real)
		}
	}
	if home := resolve(p.Home); home != "" {
		if real == home {
			return invalidf("workspace %q is the home folder itself, which the workspace policy refuses: pass a project folder inside it", real)
		}
		for _, d := range credentialDirs {
			cred := resolve(filepath.Join(home, d))
			if cred != "" && within(real, cred) {
				return invalidf("workspace %q is inside the credentials folder %s, which the workspace policy refuses", real, cred)
			}
		}
		// A folder that contains the home folder (e.g. /home) would expose every credential folder.
		if within(home, real) {
			return invalidf("workspace %q contains the home folder, which the workspace policy refuses: pass a project folder", real)
		}
	}
	if len(p.AllowedRoots) > 0 {
		for _, root := range p.AllowedRoots {
			if r := resolve(root); r != "" && within(real, r) {
				return nil
			}
		}
		return invalidf("workspace %q is outside the allowed roots (%s) set by --allowed-roots: pass a folder inside them",
			real, strings.Join(p.AllowedRoots, ", "))
	}
	return nil
}

// resolve cleans a path and resolves its symlinks where it exists.
func resolve(p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// CheckWithRoots applies the workspace policy (Check), then, when the MCP client shared roots (host
// folders given as paths), requires the workspace to be inside one of them, symlinks resolved. Errors wrap
// ErrInvalid and name the rule.
func (p WorkspacePolicy) CheckWithRoots(path string, roots []string) (string, error) {
	real, err := p.Check(path)
	if err != nil || len(roots) == 0 {
		return real, err
	}
	for _, root := range roots {
		if r := resolve(root); filepath.IsAbs(r) && within(real, r) {
			return real, nil
		}
	}
	return "", invalidf("workspace %q is outside the roots the MCP client shared (%s): pass a folder inside them",
		real, strings.Join(roots, ", "))
}
