package manager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// workspaceTree is a fake machine in a temp dir: a HOME with credential folders and a project, folders
// outside it, and symlinks that try to reach what the policy refuses.
type workspaceTree struct {
	base, home, project, other, shared, file string
}

func newWorkspaceTree(t testing.TB) workspaceTree {
	t.Helper()
	// EvalSymlinks: the temp dir itself may sit behind a symlink (macOS /var → /private/var).
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := workspaceTree{
		base:    base,
		home:    filepath.Join(base, "home", "user"),
		project: filepath.Join(base, "home", "user", "src", "project"),
		other:   filepath.Join(base, "elsewhere", "project"),
		shared:  filepath.Join(base, "shared"),
		file:    filepath.Join(base, "home", "user", "src", "notes.txt"),
	}
	for _, d := range []string{w.project, w.other, filepath.Join(w.shared, "inside"), w.shared + "-not",
		filepath.Join(w.home, ".ssh", "keys"), filepath.Join(w.home, ".config", "gcloud"), filepath.Join(w.home, ".aws")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(w.file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"links/to-ssh":          filepath.Join(w.home, ".ssh"),
		"links/to-ssh-keys":     filepath.Join(w.home, ".ssh", "keys"),
		"links/to-home":         w.home,
		"links/to-home-parent":  filepath.Join(base, "home"),
		"links/to-project":      w.project,
		"links/to-etc":          "/etc",
		"links/to-root":         "/",
		"links/dangling":        filepath.Join(base, "nothing-here"),
		"shared/escape":         w.other,
		"shared/inside/to-home": w.home,
	}
	for link, target := range links {
		p := filepath.Join(base, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestWorkspacePolicy(t *testing.T) {
	w := newWorkspaceTree(t)
	link := func(name string) string { return filepath.Join(w.base, "links", name) }
	const (
		ruleRequired    = "workspace is required"
		ruleInvalid     = "workspace path is not valid"
		ruleRelative    = "is relative: pass an absolute path"
		ruleMissing     = "does not exist"
		ruleNotDir      = "is not a directory"
		ruleSystem      = "is a system folder, which the workspace policy refuses"
		ruleHome        = "is the home folder itself, which the workspace policy refuses"
		ruleCredentials = "is inside the credentials folder"
		ruleContains    = "contains the home folder, which the workspace policy refuses"
		ruleAllowed     = "is outside the allowed roots"
		ruleMCPRoots    = "is outside the roots the MCP client shared"
	)
	tests := []struct {
		name         string
		path         string
		allowedRoots []string
		mcpRoots     []string
		want         string // the rule the error names; "" for accepted
		wantPath     string // for accepted paths: what is mounted ("" = path itself)
	}{
		{name: "a project folder in the home folder is accepted", path: w.project},
		{name: "a project folder outside the home folder is accepted", path: w.other},
		{name: "a symlink to a project is accepted as its target", path: link("to-project"), wantPath: w.project},
		{name: "a trailing slash and . are cleaned", path: w.project + "/./", wantPath: w.project},
		{name: "empty path", path: "", want: ruleRequired},
		{name: "NUL byte in the path", path: w.project + "\x00/x", want: ruleInvalid},
		{name: "path longer than 4096 bytes", path: "/" + strings.Repeat("a", 4096), want: ruleInvalid},
		{name: "relative path", path: "src/project", want: ruleRelative},
		{name: "relative path with ..", path: "../project", want: ruleRelative},
		{name: "missing folder", path: filepath.Join(w.base, "nope"), want: ruleMissing},
		{name: "dangling symlink", path: link("dangling"), want: ruleMissing},
		{name: "a file", path: w.file, want: ruleNotDir},
		{name: "the root folder", path: "/", want: ruleSystem},
		{name: "/etc", path: "/etc", want: ruleSystem},
		{name: "/usr", path: "/usr", want: ruleSystem},
		{name: ".. escapes to /etc", path: w.project + strings.Repeat("/..", 20) + "/etc", want: ruleSystem},
		{name: ".. escapes to /", path: w.project + strings.Repeat("/..", 20), want: ruleSystem},
		{name: "symlink to /etc", path: link("to-etc"), want: ruleSystem},
		{name: "symlink to /", path: link("to-root"), want: ruleSystem},
		{name: "the home folder", path: w.home, want: ruleHome},
		{name: "the home folder through ..", path: w.project + "/../..", want: ruleHome},
		{name: "symlink to the home folder", path: link("to-home"), want: ruleHome},
		{name: "~/.ssh", path: filepath.Join(w.home, ".ssh"), want: ruleCredentials},
		{name: "a folder inside ~/.ssh", path: filepath.Join(w.home, ".ssh", "keys"), want: ruleCredentials},
		{name: "~/.aws", path: filepath.Join(w.home, ".aws"), want: ruleCredentials},
		{name: "~/.config/gcloud", path: filepath.Join(w.home, ".config", "gcloud"), want: ruleCredentials},
		{name: ".. escapes from the project into ~/.ssh", path: w.project + "/../../.ssh", want: ruleCredentials},
		{name: "symlink in a temp dir to ~/.ssh", path: link("to-ssh"), want: ruleCredentials},
		{name: "symlink in a temp dir to a folder inside ~/.ssh", path: link("to-ssh-keys"), want: ruleCredentials},
		{name: "the folder that contains the home folder", path: filepath.Join(w.base, "home"), want: ruleContains},
		{name: "a folder further up that contains the home folder", path: w.base, want: ruleContains},
		{name: "symlink to the folder that contains the home folder", path: link("to-home-parent"), want: ruleContains},
		{name: "inside an allowed root", path: w.project, allowedRoots: []string{filepath.Join(w.home, "src")}},
		{name: "an allowed root itself", path: w.other, allowedRoots: []string{w.other}},
		{name: "inside the second allowed root", path: w.other, allowedRoots: []string{w.project, filepath.Dir(w.other)}},
		{name: "an allowed root given through a symlink", path: w.project, allowedRoots: []string{link("to-project")}},
		{name: "outside the allowed roots", path: w.other, allowedRoots: []string{w.project}, want: ruleAllowed},
		{name: "symlink out of an allowed root", path: filepath.Join(w.shared, "escape"), allowedRoots: []string{w.shared}, want: ruleAllowed},
		{name: ".. out of an allowed root", path: w.project + "/../../../../elsewhere/project", allowedRoots: []string{w.home}, want: ruleAllowed},
		{name: "an allowed root does not lift the home folder rule", path: filepath.Join(w.shared, "inside", "to-home"), allowedRoots: []string{w.shared}, want: ruleHome},
		{name: "an allowed root does not lift the credentials rule", path: filepath.Join(w.home, ".ssh"), allowedRoots: []string{w.home}, want: ruleCredentials},
		{name: "inside an MCP root", path: filepath.Join(w.shared, "inside"), mcpRoots: []string{w.shared}},
		{name: "an MCP root itself", path: w.shared, mcpRoots: []string{w.shared}},
		{name: "inside one of several MCP roots", path: w.other, mcpRoots: []string{w.shared, w.other}},
		{name: "outside the MCP roots", path: w.other, mcpRoots: []string{w.shared}, want: ruleMCPRoots},
		{name: "symlink out of an MCP root", path: filepath.Join(w.shared, "escape"), mcpRoots: []string{w.shared}, want: ruleMCPRoots},
		{name: ".. out of an MCP root", path: w.shared + "/../elsewhere/project", mcpRoots: []string{w.shared}, want: ruleMCPRoots},
		{name: "an MCP root with a shared prefix is not a parent", path: w.shared + "-not", mcpRoots: []string{w.shared}, want: ruleMCPRoots},
		{name: "relative MCP roots are ignored, leaving none that match", path: w.other, mcpRoots: []string{"elsewhere"}, want: ruleMCPRoots},
		{name: "an MCP root does not lift the credentials rule", path: filepath.Join(w.home, ".aws"), mcpRoots: []string{w.home}, want: ruleCredentials},
		{name: "allowed roots and MCP roots must both hold: MCP refuses", path: w.other, allowedRoots: []string{w.base}, mcpRoots: []string{w.shared}, want: ruleMCPRoots},
		{name: "allowed roots and MCP roots must both hold: allowed refuses", path: w.other, allowedRoots: []string{w.shared}, mcpRoots: []string{w.base}, want: ruleAllowed},
		{name: "allowed roots and MCP roots both hold", path: w.other, allowedRoots: []string{filepath.Dir(w.other)}, mcpRoots: []string{w.other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := WorkspacePolicy{Home: w.home, AllowedRoots: tt.allowedRoots}
			got, err := p.CheckWithRoots(tt.path, tt.mcpRoots)
			if tt.want != "" {
				if err == nil {
					t.Fatalf("accepted as %q, want refused: %s", got, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, sandbox.ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid naming %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			want := tt.wantPath
			if want == "" {
				want = tt.path
			}
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestWorkspacePolicyHomeSymlink: a HOME given through a symlink protects its real folders.
func TestWorkspacePolicyHomeSymlink(t *testing.T) {
	w := newWorkspaceTree(t)
	p := WorkspacePolicy{Home: filepath.Join(w.base, "links", "to-home")}
	for path, want := range map[string]string{
		w.home:                        "home folder itself",
		filepath.Join(w.home, ".ssh"): "credentials folder",
		filepath.Join(w.base, "home"): "contains the home folder",
	} {
		if _, err := p.Check(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want %q", path, err, want)
		}
	}
	if _, err := p.Check(w.project); err != nil {
		t.Errorf("project refused: %v", err)
	}
}
