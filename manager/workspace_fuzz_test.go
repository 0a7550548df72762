package manager

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// FuzzWorkspaceCheck: the workspace policy never panics, refuses with ErrInvalid, and a path it accepts
// is absolute, fully resolved, an existing directory, and breaks none of the rules, checked here again
// independently. The fuzzed path is used as given (abs) or under a fake machine's tree of homes,
// credential folders and symlinks that point at them; roots selects which root rules apply.
func FuzzWorkspaceCheck(f *testing.F) {
	for _, s := range []struct {
		path  string
		abs   bool
		roots uint8
	}{
		{"home/user/src/project", false, 0}, {"home/user/.ssh/keys", false, 0}, {"links/to-ssh", false, 3},
		{"links/to-project/../../..", false, 0}, {"shared/escape", false, 2}, {"shared/inside/to-home", false, 1},
		{"home/user/src/project/../../.aws", false, 0}, {"/", true, 0}, {"/etc/../usr", true, 0}, {"relative", true, 0},
		{"", false, 0}, {"home", false, 0}, {"/tmp", true, 1}, {"shared-not", false, 2},
		{"home/user/.local/state", false, 0}, {"links/to-state/..", false, 0}, {"tools", false, 0}, {"/etc/ssh", true, 0},
		{"home/user/.dotfiles/proj", false, 0}, {"xdg/config/app", false, 0}, {"/var/lib/../tmp", true, 0},
	} {
		f.Add(s.path, s.abs, s.roots)
	}
	w := newWorkspaceTree(f)
	f.Fuzz(func(t *testing.T, path string, abs bool, roots uint8) {
		if !abs {
			path = w.base + "/" + path
		}
		p := w.policy()
		var mcpRoots []string
		if roots&1 != 0 {
			p.AllowedRoots = []string{filepath.Join(w.home, "src"), w.shared}
		}
		if roots&2 != 0 {
			mcpRoots = []string{w.shared, filepath.Join(w.base, "elsewhere")}
		}
		got, err := p.CheckWithRoots(path, mcpRoots)
		if err != nil {
			if !errors.Is(err, sandbox.ErrInvalid) {
				t.Errorf("refusal %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !filepath.IsAbs(got) {
			t.Fatalf("accepted %q as relative %q", path, got)
		}
		if real, err := filepath.EvalSymlinks(got); err != nil || real != got {
			t.Errorf("accepted %q as %q, which resolves to %q (%v): not what will be mounted", path, got, real, err)
		}
		if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
			t.Errorf("accepted %q as %q, not an existing directory (%v)", path, got, err)
		}
		under := func(dir string) bool { return got == dir || strings.HasPrefix(got, dir+"/") }
		switch {
		case got == "/" || got == "/tmp":
			t.Errorf("accepted %q (from %q)", got, path)
		case got == w.home:
			t.Errorf("accepted the home folder (from %q)", path)
		case strings.HasPrefix(w.home, got+"/"):
			t.Errorf("accepted %q, which contains the home folder (from %q)", got, path)
		case strings.HasPrefix(got, w.home+"/."):
			t.Errorf("accepted %q inside a hidden folder of the home folder (from %q)", got, path)
		}
		for _, d := range systemDirs {
			if under(d) {
				t.Errorf("accepted %q inside the system folder %s (from %q)", got, d, path)
			}
		}
		guarded := []string{w.xdgConfig, w.runtimeDir, w.pathDir, w.stateDir, w.dockerConfig}
		for _, d := range credentialDirs {
			guarded = append(guarded, filepath.Join(w.home, d))
		}
		for _, d := range guarded {
			if under(d) || strings.HasPrefix(d, got+"/") {
				t.Errorf("accepted %q, which is inside or contains the guarded folder %s (from %q)", got, d, path)
			}
		}
		if len(p.AllowedRoots) > 0 && !slices.ContainsFunc(p.AllowedRoots, under) {
			t.Errorf("accepted %q outside the allowed roots (from %q)", got, path)
		}
		if len(mcpRoots) > 0 && !slices.ContainsFunc(mcpRoots, under) {
			t.Errorf("accepted %q outside the MCP roots (from %q)", got, path)
		}
	})
}
