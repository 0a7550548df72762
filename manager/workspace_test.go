package manager

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// workspaceTree is a fake machine in a temp dir: a HOME with credential folders and a project, folders
// outside it, and symlinks that try to reach what the policy refuses.
type workspaceTree struct {
	base, home, project, other, shared, file string
	// Relocated folders the fake environment (env) points at.
	xdgConfig, runtimeDir, pathDir, stateDir, dockerConfig string
	env                                                    map[string]string
}

// policy is the policy of the fake machine: its HOME, state dir and environment.
func (w workspaceTree) policy(allowedRoots ...string) WorkspacePolicy {
	return WorkspacePolicy{Home: w.home, AllowedRoots: allowedRoots, StateDir: w.stateDir,
		Getenv: func(k string) string { return w.env[k] }}
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

		xdgConfig:    filepath.Join(base, "xdg", "config"),
		runtimeDir:   filepath.Join(base, "run-user"),
		pathDir:      filepath.Join(base, "tools", "bin"),
		stateDir:     filepath.Join(base, "srv", "state"),
		dockerConfig: filepath.Join(base, "cfgs", "docker"),
	}
	w.env = map[string]string{"HOME": w.home, "XDG_CONFIG_HOME": w.xdgConfig, "XDG_RUNTIME_DIR": w.runtimeDir,
		"XDG_STATE_HOME": "relative/ignored", "PATH": w.pathDir + ":relative/bin::/usr/bin:/", "DOCKER_CONFIG": w.dockerConfig}
	for _, d := range []string{w.project, w.other, filepath.Join(w.shared, "inside"), w.shared + "-not",
		filepath.Join(w.home, ".ssh", "keys"), filepath.Join(w.home, ".config", "gcloud"), filepath.Join(w.home, ".aws"),
		filepath.Join(w.home, ".local", "state", "sandbox-mcp"), filepath.Join(w.home, ".local", "share", "app"),
		filepath.Join(w.home, ".npm"), filepath.Join(w.home, ".dotfiles", "proj"), filepath.Join(w.home, "Library", "Keychains"),
		filepath.Join(w.xdgConfig, "app"), filepath.Join(w.runtimeDir, "docker"), filepath.Join(w.pathDir, "sub"),
		filepath.Join(w.stateDir, "sandboxes"), w.dockerConfig} {
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
		"links/to-state":        w.stateDir,
		"links/to-local":        filepath.Join(w.home, ".local"),
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
		ruleTemp        = "is the temporary folder every program shares"
		ruleHidden      = "is inside the hidden folder"
		ruleHasCreds    = "contains the credentials folder"
		ruleXDG         = "is inside the XDG folder"
		ruleHasXDG      = "contains the XDG folder"
		rulePATH        = "is inside a folder on the server's PATH"
		ruleHasPATH     = "contains a folder on the server's PATH"
		ruleState       = "is inside sandbox-mcp's state folder"
		ruleHasState    = "contains sandbox-mcp's state folder"
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

		// Containment (issue 10, item 1): credential folders, the state dir, XDG dirs and PATH folders may
		// be neither the workspace, nor contain it, nor be inside it; hidden home folders are refused.
		{name: "~/.config (holds gh and gcloud credentials)", path: filepath.Join(w.home, ".config"), want: ruleHasCreds},
		{name: "~/.local (holds the state dir)", path: filepath.Join(w.home, ".local"), want: ruleHasCreds},
		{name: "~/.local through a symlink", path: link("to-local"), want: ruleHasCreds},
		{name: "~/.local/state (the default XDG state dir)", path: filepath.Join(w.home, ".local", "state"), want: ruleHasCreds},
		{name: "~/.local/share/app (inside the default XDG data dir)", path: filepath.Join(w.home, ".local", "share", "app"), want: ruleXDG},
		{name: "a hidden top-level folder of home", path: filepath.Join(w.home, ".npm"), want: ruleHidden},
		{name: "a project inside a hidden folder of home", path: filepath.Join(w.home, ".dotfiles", "proj"), want: ruleHidden},
		{name: "an allowed root inside a hidden folder lifts the hidden rule", path: filepath.Join(w.home, ".dotfiles", "proj"), allowedRoots: []string{filepath.Join(w.home, ".dotfiles")}},
		{name: "an allowed root inside a hidden folder does not lift the state rule", path: filepath.Join(w.home, ".local", "state", "sandbox-mcp"), allowedRoots: []string{filepath.Join(w.home, ".local")}, want: ruleCredentials},
		{name: "~/Library (macOS keychains)", path: filepath.Join(w.home, "Library", "Keychains"), want: ruleCredentials},
		{name: "$DOCKER_CONFIG outside home", path: w.dockerConfig, want: ruleCredentials},
		{name: "a folder containing $DOCKER_CONFIG", path: filepath.Dir(w.dockerConfig), want: ruleHasCreds},
		{name: "$XDG_CONFIG_HOME outside home", path: w.xdgConfig, want: ruleXDG},
		{name: "inside $XDG_CONFIG_HOME", path: filepath.Join(w.xdgConfig, "app"), want: ruleXDG},
		{name: "a folder containing $XDG_CONFIG_HOME", path: filepath.Dir(w.xdgConfig), want: ruleHasXDG},
		{name: "inside $XDG_RUNTIME_DIR (sockets)", path: filepath.Join(w.runtimeDir, "docker"), want: ruleXDG},
		{name: "a folder on PATH", path: w.pathDir, want: rulePATH},
		{name: "inside a folder on PATH", path: filepath.Join(w.pathDir, "sub"), want: rulePATH},
		{name: "a folder containing a folder on PATH", path: filepath.Dir(w.pathDir), want: ruleHasPATH},
		{name: "the state dir", path: w.stateDir, want: ruleState},
		{name: "inside the state dir", path: filepath.Join(w.stateDir, "sandboxes"), want: ruleState},
		{name: "a symlink to the state dir", path: link("to-state"), want: ruleState},
		{name: "a folder containing the state dir", path: filepath.Dir(w.stateDir), want: ruleHasState},
		{name: "the temporary folder itself", path: "/tmp", want: ruleTemp},
	}
	// System folders and folders inside them (issue 10, item 2), where this machine has them.
	for _, d := range []string{"/etc/ssh", "/run/lock", "/usr/local/bin", "/var/lib", "/proc/sys", "/sys/fs/cgroup",
		"/dev/shm", "/var/tmp", "/usr/lib", "/boot/grub", "/etc/../etc/ssh/."} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			tests = append(tests, struct {
				name         string
				path         string
				allowedRoots []string
				mcpRoots     []string
				want         string
				wantPath     string
			}{name: "system subfolder " + d, path: d, want: "system folder"})
		}
	}
	hostile := 0
	for _, tt := range tests {
		if tt.want != "" {
			hostile++
		}
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.policy(tt.allowedRoots...).CheckWithRoots(tt.path, tt.mcpRoots)
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
	t.Logf("workspace policy: %d hostile workspaces refused, %d accepted", hostile, len(tests)-hostile)
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

// TestWorkspacePolicyTempUnderSystem: a project in the user's temporary folder is accepted even where
// that folder lies under a system folder (macOS: /private/var/folders/…/T); the folder itself is not.
func TestWorkspacePolicyTempUnderSystem(t *testing.T) {
	tmp, err := os.MkdirTemp("/var/tmp", "policy-test-")
	if err != nil {
		testenv.Missing(t, "a writable /var/tmp", err.Error())
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	proj := filepath.Join(tmp, "project")
	if err := os.Mkdir(proj, 0o700); err != nil {
		t.Fatal(err)
	}
	p := WorkspacePolicy{Home: t.TempDir(), Getenv: func(k string) string { return map[string]string{"TMPDIR": tmp}[k] }}
	if _, err := p.Check(proj); err != nil {
		t.Errorf("a project in TMPDIR=%s was refused: %v", tmp, err)
	}
	if _, err := p.Check(tmp); err == nil || !strings.Contains(err.Error(), "temporary folder") {
		t.Errorf("TMPDIR itself: %v, want refused", err)
	}
	if _, err := (WorkspacePolicy{Home: t.TempDir()}).Check(proj); err == nil || !strings.Contains(err.Error(), "inside the system folder /var") {
		t.Errorf("without TMPDIR, %s: %v, want refused as inside /var", proj, err)
	}
}

// TestWorkspacePolicyIdentity: a guarded folder reached under another name (here a bind mount of ~/.ssh,
// which no symlink resolution can see through) is recognised by identity and refused.
func TestWorkspacePolicyIdentity(t *testing.T) {
	w := newWorkspaceTree(t)
	view := filepath.Join(w.base, "view")
	if err := os.Mkdir(view, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", filepath.Join(w.home, ".ssh"), view).CombinedOutput(); err != nil {
		testenv.Missing(t, "a bind mount (root)", fmt.Sprintf("%v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", view).Run() })
	for _, path := range []string{view, filepath.Join(view, "keys")} {
		if _, err := w.policy().Check(path); err == nil || !strings.Contains(err.Error(), "is inside the credentials folder") {
			t.Errorf("Check(%s), a bind mount of ~/.ssh: %v, want refused as the credentials folder", path, err)
		}
	}
}

// TestWithinName: where the file system ignores case, names that differ only in case match.
func TestWithinName(t *testing.T) {
	defer func(old bool) { caseInsensitiveFS = old }(caseInsensitiveFS)
	for _, tc := range []struct {
		fold       bool
		path, dir  string
		want, same bool
	}{
		{false, "/System/Library", "/system", false, false},
		{true, "/System/Library", "/system", true, false},
		{true, "/users/ME/library", "/Users/me/Library", true, true},
		{true, "/Users/me/Libraryx", "/Users/me/Library", false, false},
		{false, "/a/b", "/a", true, false},
		{false, "/ab", "/a", false, false},
	} {
		caseInsensitiveFS = tc.fold
		if got := withinName(tc.path, tc.dir); got != tc.want {
			t.Errorf("fold=%v withinName(%s, %s) = %v, want %v", tc.fold, tc.path, tc.dir, got, tc.want)
		}
		if got := sameName(tc.path, tc.dir); got != tc.same {
			t.Errorf("fold=%v sameName(%s, %s) = %v, want %v", tc.fold, tc.path, tc.dir, got, tc.same)
		}
	}
}
