package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/gitwork"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Isolation modes (docs/isolation.md).
const (
	IsolationClone  = "clone"
	IsolationDirect = "direct"
)

// How a clone reaches the sandbox.
const (
	CloneMount  = "mount"  // a server-owned clone on the host, bind-mounted at the workspace's path
	CloneBundle = "bundle" // a git bundle copied in over exec -i and cloned inside; results come back as a bundle
	CloneSbx    = "sbx"    // sbx create --clone; results come back through its sandbox-<name> remote
)

// IsolationInfo tells the caller how the sandbox is isolated.
type IsolationInfo struct {
	Mode      string `json:"mode"`
	Transport string `json:"transport,omitempty"`
	Branch    string `json:"branch,omitempty"`
	Base      string `json:"base,omitempty"`
	Note      string `json:"note,omitempty"`
}

// isoMeta is what we keep of an isolated sandbox, in <state>/work/<name>/isolation.json. It lives beside
// the clone and outlives the sandbox and its record, until the work is landed or discarded.
type isoMeta struct {
	Sandbox   string    `json:"sandbox"`
	Workspace string    `json:"workspace"` // the user's repository (its top folder)
	Transport string    `json:"transport"`
	Branch    string    `json:"branch"`
	Base      string    `json:"base"`
	Snapshot  bool      `json:"snapshot,omitempty"`
	Created   time.Time `json:"created"`
	// LandedTip is the last commit land_sandbox brought into the user's repository, and LandedBranch where.
	LandedTip    string `json:"landed_tip,omitempty"`
	LandedBranch string `json:"landed_branch,omitempty"`
	// Backend is the sandbox's backend (older records: sbx for the sbx transport, docker otherwise).
	Backend string `json:"backend,omitempty"`
	// Inside is where the clone is inside the sandbox when that is not Workspace's path: the bundle path on
	// sbx and docker-sandbox, whose create wants a host folder to mount, mounts an empty server-owned one
	// instead of the user's, and the clone is made in it.
	Inside string `json:"inside,omitempty"`
}

func (m *Manager) workDir(name string) string { return filepath.Join(m.cfg.Store.Dir(), "work", name) }
func resultsDir(dir string) string            { return filepath.Join(dir, "results.git") }
func cloneDir(dir string) string              { return filepath.Join(dir, "clone") }
func mountDir(dir string) string              { return filepath.Join(dir, "sandbox") }

// inside is the clone's path inside the sandbox.
func (meta isoMeta) inside() string {
	if meta.Inside != "" {
		return meta.Inside
	}
	return meta.Workspace
}

// insideDir is where the agent works inside the sandbox: the workspace's path, or, for a clone made in a
// server-owned folder (isoMeta.Inside), that folder.
func (m *Manager) insideDir(rec state.Sandbox) string {
	if meta, ok := m.loadMeta(rec.Name); ok && meta.Workspace == rec.Workspace {
		return meta.inside()
	}
	return rec.Workspace
}

// hostGit runs git on the host, hardened (gitwork); git inside the sandbox is m.git (gitsafe.go).
func (m *Manager) hostGit() *gitwork.Git { return &gitwork.Git{} }

func (m *Manager) loadMeta(name string) (isoMeta, bool) {
	var meta isoMeta
	b, err := os.ReadFile(filepath.Join(m.workDir(name), "isolation.json"))
	if err != nil || json.Unmarshal(b, &meta) != nil || meta.Sandbox != name {
		return isoMeta{}, false
	}
	return meta, true
}

func (m *Manager) saveMeta(meta isoMeta) error {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(m.workDir(meta.Sandbox), "isolation.json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (meta isoMeta) info(note string) *IsolationInfo {
	return &IsolationInfo{Mode: IsolationClone, Transport: meta.Transport, Branch: meta.Branch, Base: meta.Base, Note: note}
}

// isoPlan is what create_sandbox decided about isolation before creating the sandbox.
type isoPlan struct {
	meta    isoMeta
	clone   bool // false: direct mode
	fresh   bool // this call made the work directory (and removes it on failure)
	note    string
	results string
	bundle  string // bundle path: the file to copy in
}

// planIsolation picks the mode and, for clone mode, prepares the results repository and the clone (mount)
// or the bundle. It runs before the backend creates anything.
func (m *Manager) planIsolation(ctx context.Context, b sandbox.Backend, name, ws string, req CreateSandboxRequest) (*isoPlan, error) {
	mode := req.Isolation
	if mode != "" && mode != IsolationClone && mode != IsolationDirect {
		return nil, invalidf("isolation %q is unknown: use clone or direct", mode)
	}
	if mode == IsolationDirect {
		if req.Base != "" || req.IncludeUncommitted {
			return nil, invalidf("a base and uncommitted changes apply to clone isolation only")
		}
		return &isoPlan{}, nil
	}
	g := m.hostGit()
	repo, err := g.Inspect(ctx, ws)
	switch {
	case errors.Is(err, gitwork.ErrNotRepo) && mode == "":
		return &isoPlan{}, nil // a plain folder: direct is the only mode
	case errors.Is(err, gitwork.ErrNotRepo):
		return nil, remedy.Errorf(sandbox.Invalid, remedy.DirectIsolation, "workspace %s is not a git repository, so it cannot be cloned: run git init and commit there", ws)
	case err != nil:
		return nil, fmt.Errorf("inspect the workspace's repository: %w", err)
	case repo.Top != ws && mode == "":
		return &isoPlan{note: fmt.Sprintf("direct mode: %s is inside the repository %s, not its top folder; pass the top folder to work on a clone", ws, repo.Top)}, nil
	case repo.Top != ws:
		return nil, remedy.Errorf(sandbox.Invalid, remedy.DirectIsolation, "workspace %s is inside the git repository %s: pass its top folder to work on a clone", ws, repo.Top)
	case repo.Head == "" && req.Base == "":
		if mode == "" {
			return &isoPlan{note: "direct mode: the repository has no commit yet; commit a baseline to work on a clone"}, nil
		}
		return nil, remedy.Errorf(sandbox.Invalid, remedy.DirectIsolation, "repository %s has no commit yet: commit a baseline first", ws)
	}
	transport, inside := CloneMount, ""
	dir := m.workDir(name)
	nc, native := b.(sandbox.NativeCloner)
	switch {
	case b.Name() == "sbx" && native && nc.NativeClone() && req.Base == "" && !req.IncludeUncommitted:
		transport = CloneSbx
	case b.Name() == "sbx" || b.Name() == "docker-sandbox":
		// No --clone (the plugin; sbx before 0.31), or a base or snapshot sbx --clone cannot start from
		// (it clones HEAD): the bundle path, through exec -i. Both CLIs mount a workspace at its own path
		// (the plugin requires one): an empty server-owned folder, in which the clone is made.
		transport, inside = CloneBundle, mountDir(dir)
	case b.Name() == "docker" && m.cfg.CloneTransport == CloneBundle:
		transport = CloneBundle
	case b.Name() != "docker":
		if mode == IsolationClone {
			return nil, remedy.Errorf(sandbox.Invalid, remedy.DirectIsolation, "backend %s has no clone mode: use the docker, sbx or docker-sandbox backend", b.Name())
		}
		return &isoPlan{note: "direct mode: backend " + b.Name() + " has no clone mode"}, nil
	}
	if old, ok := m.loadMeta(name); ok {
		if old.Workspace == ws && old.Transport == transport && transport == CloneMount {
			if _, err := os.Stat(cloneDir(dir)); err == nil {
				// The sandbox vanished (pruned, removed by hand) but its clone is here: carry on with it.
				return &isoPlan{meta: old, clone: true, results: resultsDir(dir), note: "the sandbox's earlier clone and branch were kept and are used again"}, nil
			}
		}
		return nil, remedy.Errorf(sandbox.Invalid, remedy.LandDiscardOrRename, "sandbox name %q still holds work that was not landed or discarded (from %s)", name, old.Workspace)
	}
	branch := "sandbox/" + name
	p := &isoPlan{clone: true, fresh: true, results: resultsDir(dir)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fail := func(err error) (*isoPlan, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	prep, err := g.Prepare(ctx, gitwork.PrepareSpec{Repo: repo, Base: req.Base, Branch: branch, Results: p.results, IncludeUncommitted: req.IncludeUncommitted})
	if err != nil {
		return fail(invalidf("prepare the clone of %s: %v", ws, err))
	}
	p.meta = isoMeta{Sandbox: name, Workspace: ws, Transport: transport, Backend: b.Name(), Inside: inside, Branch: branch, Base: prep.Base,
		Snapshot: prep.Snapshot, Created: time.Now().UTC()}
	switch {
	case prep.Snapshot:
		p.note = fmt.Sprintf("the clone includes your %d uncommitted file(s) as a snapshot commit on %.12s", repo.Dirty, prep.BaseRef)
	case repo.Dirty > 0 && transport != CloneSbx:
		p.note = fmt.Sprintf("the clone starts from %.12s: %d uncommitted file(s) in your folder were not included (include uncommitted changes to bring them in)", prep.BaseRef, repo.Dirty)
	case repo.Dirty > 0:
		p.note = fmt.Sprintf("the clone starts from HEAD %.12s (sbx --clone): %d uncommitted file(s) in your folder were not included (include uncommitted changes to bring them in)", prep.BaseRef, repo.Dirty)
	}
	switch transport {
	case CloneMount:
		err = g.Clone(ctx, repo.Top, p.results, branch, cloneDir(dir))
	case CloneBundle:
		p.bundle = filepath.Join(dir, "in.bundle")
		err = g.Bundle(ctx, p.results, branch, p.bundle)
		if err == nil && inside != "" {
			err = os.Mkdir(inside, 0o700) // empty: nothing of the user's
		}
	}
	if err != nil {
		return fail(fmt.Errorf("make the sandbox's clone: %w", err))
	}
	if err := m.saveMeta(p.meta); err != nil {
		return fail(err)
	}
	return p, nil
}

// apply sets what the backend needs to know in the sandbox spec.
func (p *isoPlan) apply(m *Manager, spec *sandbox.Spec) {
	if !p.clone {
		return
	}
	spec.ReadOnly = nil // the read-only .git overlay protects the user's folder, which a clone does not mount
	switch p.meta.Transport {
	case CloneMount:
		spec.Mount = cloneDir(m.workDir(p.meta.Sandbox))
	case CloneBundle:
		if p.meta.Inside != "" {
			spec.Workspace = p.meta.Inside // a CLI that mounts a workspace gets the empty server-owned folder
		} else {
			spec.NoMount = true
		}
	case CloneSbx:
		spec.Clone = true
	}
}

// seed finishes the clone inside a sandbox the backend just created: the bundle path copies the bundle
// in and clones it at the workspace's path; sbx gets its branch.
func (m *Manager) seed(ctx context.Context, b sandbox.Backend, p *isoPlan) error {
	if !p.clone || !p.fresh {
		return nil
	}
	ws, name := p.meta.inside(), p.meta.Sandbox
	switch p.meta.Transport {
	case CloneBundle:
		// Docker made the working directory, owned by root: open it to the sandbox's user (root in the
		// container has no capability, but owns it). A mounted server-owned folder is the user's already.
		if p.meta.Inside == "" {
			if _, err := b.Exec(ctx, name, sandbox.ExecSpec{User: "0", Args: []string{"chmod", "0777", ws}, Timeout: 30 * time.Second}); err != nil {
				return fmt.Errorf("prepare the workspace folder in %q: %w", name, err)
			}
		}
		f, err := os.Open(p.bundle)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = b.Exec(ctx, name, sandbox.ExecSpec{Stdin: f, Timeout: 10 * time.Minute, Args: []string{"sh", "-c",
			`set -e; t=$(mktemp); trap 'rm -f "$t"' EXIT; cat > "$t"
g() { git -c core.hooksPath=/dev/null -c safe.directory='*' "$@"; }
g clone -q --branch "$2" "$t" "$1"; g -C "$1" remote remove origin`, "sh", ws, p.meta.Branch}})
		if err != nil {
			return fmt.Errorf("clone the bundle inside %q (the image needs git): %w", name, err)
		}
		_ = os.Remove(p.bundle)
	case CloneSbx:
		_, err := b.Exec(ctx, name, sandbox.ExecSpec{Timeout: time.Minute, Args: []string{"sh", "-c",
			`git -c core.hooksPath=/dev/null -c safe.directory='*' checkout -q -B "$1"`, "sh", p.meta.Branch}})
		if err != nil {
			return fmt.Errorf("make branch %s in sbx clone %q: %w", p.meta.Branch, name, err)
		}
	}
	return nil
}

// discard removes a work directory this call made (create failed).
func (p *isoPlan) discard(m *Manager) {
	if p != nil && p.fresh {
		_ = os.RemoveAll(m.workDir(p.meta.Sandbox))
	}
}

// isolationInfo is the create_sandbox answer's isolation part for an existing sandbox.
func (m *Manager) isolationInfo(name, note string) *IsolationInfo {
	if meta, ok := m.loadMeta(name); ok {
		return meta.info(note)
	}
	if note == "" {
		note = "the sandbox works in your folder itself"
	}
	return &IsolationInfo{Mode: IsolationDirect, Note: note}
}
