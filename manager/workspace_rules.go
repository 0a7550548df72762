package manager

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The folders the workspace policy guards, and how a path is compared with them.
//
// A path is compared by name (case-insensitively where the file system usually is: macOS, Windows) and
// by identity (os.SameFile on the path and each of its ancestors), so that another spelling of a guarded
// folder — other case, a bind mount, a hard-linked name — is recognised as the folder itself.

// credentialDirs are folders under the home directory that hold credentials. A sandbox must never mount
// them, anything inside them, nor anything that contains them, however the path is spelt.
var credentialDirs = []string{".ssh", ".aws", ".azure", ".config/gcloud", ".config/gh", ".docker", ".gnupg",
	".kube", ".password-store", ".local/share/keyrings", ".config/sandbox-mcp", ".local/state/sandbox-mcp",
	".cargo", ".terraform.d", ".m2", ".gradle", "Library"}

// credentialEnv names variables that move a credential folder out of its default place.
var credentialEnv = []string{"DOCKER_CONFIG", "GNUPGHOME", "CLOUDSDK_CONFIG", "PASSWORD_STORE_DIR"}

// systemDirs are never workspaces, nor is anything inside them: mounting them would hand the host (its
// configuration, its programs, its sockets, its kernel interfaces) to the agent. "/" is refused on its
// own (everything is inside it). The macOS entries exist only there; elsewhere they match nothing.
var systemDirs = []string{"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
	"/run", "/sbin", "/sys", "/usr", "/var", "/snap",
	"/private", "/System", "/Library", "/Applications", "/opt/homebrew", "/cores"}

// caseInsensitiveFS: names that differ only in case are the same folder on these systems' default file
// systems (APFS, NTFS). Identity catches the rest.
var caseInsensitiveFS = runtime.GOOS == "darwin" || runtime.GOOS == "windows"

// guarded is one folder a workspace may neither be, be inside, nor contain.
type guarded struct {
	path, what string
}

// guardedDirs lists the folders of this machine's configuration: the credential folders, the server's
// state directory, the XDG base directories and every folder on the server's PATH (an agent that can
// write one plants programs the server or the user runs). Relative and empty entries are skipped, and so
// is "/" (refused on its own; as a guarded folder it would refuse everything).
func (p WorkspacePolicy) guardedDirs(home string) []guarded {
	getenv := p.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out []guarded
	add := func(path, what string) {
		if filepath.IsAbs(path) && filepath.Clean(path) != "/" {
			out = append(out, guarded{path: filepath.Clean(path), what: what})
		}
	}
	if home != "" {
		for _, d := range credentialDirs {
			add(filepath.Join(home, d), "the credentials folder")
		}
	}
	for _, name := range credentialEnv {
		add(getenv(name), "the credentials folder ($"+name+")")
	}
	add(p.StateDir, "sandbox-mcp's state folder (sandbox-agent tokens, records)")
	for _, x := range []struct{ env, def string }{
		{"XDG_CONFIG_HOME", ".config"}, {"XDG_DATA_HOME", ".local/share"}, {"XDG_STATE_HOME", ".local/state"},
		{"XDG_RUNTIME_DIR", ""},
	} {
		d := getenv(x.env)
		if !filepath.IsAbs(d) && home != "" && x.def != "" {
			d = filepath.Join(home, x.def)
		}
		add(d, "the XDG folder ($"+x.env+")")
	}
	for _, d := range filepath.SplitList(getenv("PATH")) {
		add(d, "a folder on the server's PATH")
	}
	return out
}

// tempDirs are the current user's temporary folders: a folder strictly inside one is not refused for
// being inside a system folder (macOS keeps TMPDIR under /private/var/folders).
func (p WorkspacePolicy) tempDirs() []string {
	var out []string
	if p.Getenv != nil {
		if t := p.Getenv("TMPDIR"); filepath.IsAbs(t) {
			out = append(out, resolve(t))
		}
	}
	return append(out, resolve("/tmp"))
}

// idx compares paths by name and by identity, caching what it stats during one check.
type idx struct {
	stats map[string]os.FileInfo
}

func newIdx() *idx { return &idx{stats: map[string]os.FileInfo{}} }

func (x *idx) stat(p string) os.FileInfo {
	if fi, ok := x.stats[p]; ok {
		return fi
	}
	fi, err := os.Stat(p)
	if err != nil {
		fi = nil
	}
	x.stats[p] = fi
	return fi
}

// same reports whether a and b name the same folder.
func (x *idx) same(a, b string) bool {
	if sameName(a, b) {
		return true
	}
	fa, fb := x.stat(a), x.stat(b)
	return fa != nil && fb != nil && os.SameFile(fa, fb)
}

// within reports whether path is dir or below it, by name or because path or one of its ancestors is
// dir itself.
func (x *idx) within(path, dir string) bool {
	if withinName(path, dir) {
		return true
	}
	fd := x.stat(dir)
	if fd == nil {
		return false
	}
	for a := path; ; a = filepath.Dir(a) {
		if fa := x.stat(a); fa != nil && os.SameFile(fa, fd) {
			return true
		}
		if a == filepath.Dir(a) {
			return false
		}
	}
}

func sameName(a, b string) bool {
	if caseInsensitiveFS {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// withinName reports whether path is dir or below it, comparing names only.
func withinName(path, dir string) bool {
	if sameName(path, dir) {
		return true
	}
	if caseInsensitiveFS {
		path, dir = strings.ToLower(path), strings.ToLower(dir)
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// hiddenHomeDir returns the hidden top-level folder of home that path is, or is inside ("" if none):
// tool configuration and credentials live there (~/.config, ~/.local, ~/.npm, ~/.cargo…).
func (x *idx) hiddenHomeDir(path, home string) string {
	for a := path; a != filepath.Dir(a); a = filepath.Dir(a) {
		if strings.HasPrefix(filepath.Base(a), ".") && x.same(filepath.Dir(a), home) {
			return a
		}
	}
	return ""
}
