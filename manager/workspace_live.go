package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// What create_sandbox checks right before a workspace is mounted, beyond the policy: that it does not
// overlap another live sandbox's workspace, and what of it is mounted read-only.

// workspaceClaims are the workspaces of sandboxes being created (not yet in the records). Zero value ready.
type workspaceClaims struct {
	mu       sync.Mutex
	inflight map[string]string // sandbox name → workspace
}

// claimWorkspace refuses ws when it is strictly inside, or strictly contains, the workspace of another
// live sandbox (recorded, or being created): one sandbox could then replace a folder the other mounts
// (Docker resolves bind sources again at every start) or write the other's read-only .git. The same
// workspace is allowed: neither can replace the other's mount root. The claim holds until release.
func (m *Manager) claimWorkspace(name, ws string) (release func(), err error) {
	c := &m.claims
	c.mu.Lock()
	defer c.mu.Unlock()
	recs, err := m.cfg.Store.ListSandboxes()
	if err != nil {
		return nil, err
	}
	others := map[string]string{}
	for _, r := range recs {
		others[r.Name] = r.Workspace
	}
	for n, w := range c.inflight {
		others[n] = w
	}
	for other, w := range others {
		if other == name || w == "" || w == ws {
			continue
		}
		if within(ws, w) || within(w, ws) {
			return nil, invalidf("workspace %s overlaps the workspace %s of the live sandbox %q (one is inside the other), which could let one sandbox change what the other mounts: destroy %q first or pick a folder that does not overlap",
				ws, w, other, other)
		}
	}
	if c.inflight == nil {
		c.inflight = map[string]string{}
	}
	c.inflight[name] = ws
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.inflight, name)
	}, nil
}

// readOnlyPaths returns what is mounted read-only over the workspace: its .git (a folder, or the
// gitdir file of a worktree or submodule), unless --writable-git. A .git that is a symlink is refused:
// Docker would mount whatever it points at.
func (m *Manager) readOnlyPaths(ws string) ([]string, error) {
	if m.cfg.WritableGit {
		return nil, nil
	}
	git := filepath.Join(ws, ".git")
	fi, err := os.Lstat(git)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil // not a repository (get_diff reports a .git that appears later)
	case err != nil:
		return nil, fmt.Errorf("inspect %s: %w", git, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, invalidf("workspace %s has a .git that is a symlink, which cannot be mounted read-only safely: replace it by the folder it points to, or pass a workspace without one", ws)
	}
	return []string{git}, nil
}
