package manager

import (
	"os"
	"path/filepath"
	"strings"
)

// WorkspacePolicy decides which host folders may become a sandbox's workspace.
type WorkspacePolicy struct {
	// Home is the user's home directory: refused itself, as is anything containing it, its credential
	// folders and its hidden top-level folders.
	Home string
	// AllowedRoots, when non-empty, are the only trees workspaces may come from. An allowed root inside a
	// hidden folder of the home directory lifts the hidden-folder rule for that root (an explicit choice);
	// no root lifts any other rule.
	AllowedRoots []string
	// StateDir is the server's own state directory: never mountable, nor anything that contains it.
	StateDir string
	// Getenv reads XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME, XDG_RUNTIME_DIR, PATH, TMPDIR and the
	// variables that move credential folders; nil reads nothing.
	Getenv func(string) string
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

// Recheck is Check for a path that was accepted before and is about to be mounted (again): it must still
// pass the policy and still resolve to itself, so that no component has become a symlink since.
func (p WorkspacePolicy) Recheck(ws string) error {
	real, err := p.Check(ws)
	if err != nil {
		return err
	}
	if real != ws {
		return invalidf("workspace %s now resolves to %s (a component became a symlink): refusing to mount it; destroy the sandbox and check the folder", ws, real)
	}
	return nil
}

func (p WorkspacePolicy) refuse(real string) error {
	x := newIdx()
	if real == "/" {
		return invalidf("workspace %q is a system folder, which the workspace policy refuses: pass a project folder", real)
	}
	temps := p.tempDirs()
	for _, t := range temps {
		if x.same(real, t) {
			return invalidf("workspace %q is the temporary folder every program shares, which the workspace policy refuses: pass a project folder", real)
		}
	}
	for _, d := range systemDirs {
		switch {
		case x.same(real, d):
			return invalidf("workspace %q is a system folder, which the workspace policy refuses: pass a project folder", real)
		case x.within(real, d) && !inTemp(x, real, temps):
			return invalidf("workspace %q is inside the system folder %s, which the workspace policy refuses: pass a project folder", real, d)
		}
	}
	home := resolve(p.Home)
	if home != "" {
		if x.same(real, home) {
			return invalidf("workspace %q is the home folder itself, which the workspace policy refuses: pass a project folder inside it", real)
		}
		// A folder that contains the home folder (e.g. /home) would expose every credential folder.
		if x.within(home, real) {
			return invalidf("workspace %q contains the home folder, which the workspace policy refuses: pass a project folder", real)
		}
	}
	for _, g := range p.guardedDirs(home) {
		d := resolve(g.path)
		switch {
		case x.within(real, d):
			return invalidf("workspace %q is inside %s %s, which the workspace policy refuses: pass a project folder", real, g.what, d)
		case x.within(d, real):
			return invalidf("workspace %q contains %s %s, which the workspace policy refuses: pass a project folder", real, g.what, d)
		}
	}
	if home != "" {
		if hidden := x.hiddenHomeDir(real, home); hidden != "" && !p.rootLifts(x, real, hidden) {
			return invalidf("workspace %q is inside the hidden folder %s of the home folder (tool settings and credentials live there), which the workspace policy refuses by default: pass a project folder, or name this folder in --allowed-roots", real, hidden)
		}
	}
	if len(p.AllowedRoots) > 0 {
		for _, root := range p.AllowedRoots {
			if r := resolve(root); r != "" && x.within(real, r) {
				return nil
			}
		}
		return invalidf("workspace %q is outside the allowed roots (%s) set by --allowed-roots: pass a folder inside them",
			real, strings.Join(p.AllowedRoots, ", "))
	}
	return nil
}

// inTemp reports whether path is strictly inside one of the user's temporary folders.
func inTemp(x *idx, path string, temps []string) bool {
	for _, t := range temps {
		if !x.same(path, t) && x.within(path, t) {
			return true
		}
	}
	return false
}

// rootLifts reports whether an --allowed-roots entry inside the hidden folder holds path: the operator
// named that folder explicitly.
func (p WorkspacePolicy) rootLifts(x *idx, path, hidden string) bool {
	for _, root := range p.AllowedRoots {
		if r := resolve(root); filepath.IsAbs(r) && x.within(r, hidden) && x.within(path, r) {
			return true
		}
	}
	return false
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

// within reports whether path is dir or below it (by name).
func within(path, dir string) bool { return withinName(path, dir) }

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
