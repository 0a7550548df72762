package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Docker resolves a bind mount's source path when the container starts, and again at every later start
// (a restart after an idle stop included), while the workspace policy checked the path once, at
// creation. Between the two, a component of the path could be swapped for a symlink (by another sandbox
// that can write a parent folder, say) and the container would mount whatever it points at. So every
// start is preceded by a check that each bind source still resolves to itself.

// dockerCheckReadOnly validates the read-only overlays: clean paths strictly inside the workspace that
// --mount can carry, existing and not symlinks (Docker would mount the link's target).
func dockerCheckReadOnly(spec Spec) error {
	for _, p := range spec.ReadOnly {
		if err := dockerCheckWorkspace(p); err != nil {
			return err
		}
		if !within(p, spec.Workspace) {
			return Errorf(Invalid, "read-only path %q is not inside the workspace", truncate(p, 80))
		}
		if err := CheckMountSource(p); err != nil {
			return err
		}
	}
	return nil
}

// CheckMountSource reports an error wrapping ErrInvalid when path is not absolute and clean, does not
// exist, or has a symlink as any component: what a bind mount of it would mount is then not the path
// that was checked.
func CheckMountSource(path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return Errorf(Invalid, "mount source %q is not a clean absolute path", truncate(path, 80))
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := "/"
	for _, part := range parts {
		if part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err != nil {
			return Errorf(Invalid, "mount source %s no longer exists (%s: %v): destroy the sandbox and create it again", path, cur, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return Errorf(Invalid, "mount source %s is no longer what was checked: %s is now a symlink; refusing to mount it: check the folder, then destroy the sandbox and create it again", path, cur)
		}
	}
	return nil
}

// checkMounts checks every bind source of the container before it starts; c is its inspect output, or
// nil to read it.
func (d *Docker) checkMounts(ctx context.Context, name string, c *dockerContainer) error {
	if c == nil {
		cs, err := d.inspect(ctx, name)
		if err != nil {
			return err
		}
		c = &cs[0]
	}
	for _, m := range c.Mounts {
		if m.Type != "bind" {
			continue
		}
		if err := CheckMountSource(m.Source); err != nil {
			return fmt.Errorf("docker start %s: %w", name, err)
		}
	}
	return nil
}
