package fakecli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// On-disk state. Several fake invocations run at once (parallel execs from the
// code under test), so every read-modify-write of meta.json happens under an
// flock on $FAKECLI_ROOT/<prog>/.lock and every write is temp+rename, which
// lets lock-free readers (ls) never see a torn file.

// meta is the sandbox record, $FAKECLI_ROOT/<prog>/<name>/meta.json.
type meta struct {
	Name       string   `json:"name"`
	Agent      string   `json:"agent"`
	Status     string   `json:"status"` // running | stopped
	Workspaces []string `json:"workspaces"`
	ReadOnly   []string `json:"readonly,omitempty"` // extra workspaces given with :ro
	Template   string   `json:"template"`
	Created    string   `json:"created"`         // RFC3339
	Env        []string `json:"env,omitempty"`   // sbx create -e / --env-file, K=V
	Ports      []port   `json:"ports,omitempty"` // published specs; HostPort 0 = ephemeral
	// Bound are the host bindings of the running VM (vm.go); empty while stopped.
	Bound []port `json:"bound,omitempty"`
	// Addr is the VM's own loopback address (sbx only, vm.go), kept across restarts.
	Addr string `json:"addr,omitempty"`
	// VM is "<pid> <starttime>" of the sandbox's VM process (sbx only, vm.go).
	VM string `json:"vm,omitempty"`
	// Proxy is the host:port of the running VM's network proxy (sbx only, proxy.go); empty while stopped.
	Proxy  string `json:"proxy,omitempty"`
	CPUs   int    `json:"cpus,omitempty"`
	Memory string `json:"memory,omitempty"`
	// Zombie simulates spec §6: ls says running, exec fails. Tests set it by
	// editing meta.json; nothing in the double sets it.
	Zombie bool `json:"zombie,omitempty"`
}

// port is one sbx -p mapping, in the shape of `sbx ls --json` and
// `sbx ports --json` (docker/docs reference/cli/sbx/ports).
type port struct {
	HostIP      string `json:"host_ip"`
	HostPort    int    `json:"host_port"`
	SandboxPort int    `json:"sandbox_port"`
	Protocol    string `json:"protocol"`
}

var errNotFound = errors.New("sandbox not found")

func (e *env) dir(name string) string      { return filepath.Join(e.root, name) }
func (e *env) rootfs(name string) string   { return filepath.Join(e.root, name, "root") }
func (e *env) metaPath(name string) string { return filepath.Join(e.root, name, "meta.json") }

// lock takes the per-prog exclusive lock; the returned func releases it.
func (e *env) lock() (func(), error) {
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(e.root, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// load reads one sandbox record. A name that could escape the state dir is
// simply "not found" rather than a path traversal.
func (e *env) load(name string) (*meta, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return nil, errNotFound
	}
	b, err := os.ReadFile(e.metaPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("corrupt state for %q: %w", name, err)
	}
	return &m, nil
}

func (e *env) save(m *meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(e.dir(m.Name), ".meta-*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), e.metaPath(m.Name))
}

// list returns all sandboxes sorted by name; half-created dirs (no meta.json
// yet) are skipped.
func (e *env) list() ([]*meta, error) {
	ents, err := os.ReadDir(e.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*meta
	for _, de := range ents {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		m, err := e.load(de.Name())
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// copyTree copies src into dst keeping modes and symlinks (targets verbatim),
// like a container image's filesystem. Directory modes are applied after
// their contents so read-only template dirs still copy.
func copyTree(src, dst string) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.IsDir():
			dirs = append(dirs, dirMode{target, info.Mode().Perm()})
			return os.MkdirAll(target, 0o700)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, fifos, devices: not part of a template
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// removeTree deletes a sandbox dir even when the template made parts of it
// read-only (RemoveAll needs write permission on every directory).
func removeTree(dir string) error {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
