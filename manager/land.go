package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/gitwork"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// ErrUnlanded: the sandbox's clone holds work that was not landed, so it is not destroyed.
var ErrUnlanded = sandbox.Errorf(sandbox.Invalid, "unlanded work")

// KeepWork says what destroy_sandbox does with a clone's unlanded work: refuse (the zero value), land it
// to LandTo first, or Discard it.
type KeepWork struct {
	LandTo  string
	Discard bool
}

// LandRequest is land_sandbox's input after binding.
type LandRequest struct {
	Sandbox string
	// Branch is the branch it becomes in the user's repository; default the sandbox's own (sandbox/<name>).
	Branch string
	// Into, when set, is fast-forwarded or merged (without a working tree) to include the work.
	Into string
	// Check runs in the sandbox (sh -c, in the workspace) first; a non-zero exit lands nothing.
	Check        string
	CheckTimeout time.Duration
	// IncludeUncommitted lands uncommitted work too, as a commit on top of the sandbox's branch.
	IncludeUncommitted bool
}

// LandResult is land_sandbox's answer.
type LandResult struct {
	gitwork.Landed
	Sandbox     string `json:"sandbox"`
	Workspace   string `json:"workspace"`
	Commits     int    `json:"commits"`
	Uncommitted bool   `json:"uncommitted"`
	CheckOutput string `json:"check_output,omitempty"`
	Note        string `json:"note,omitempty"`
}

// DiffIsolation is get_diff's extra part for a sandbox working on a clone.
type DiffIsolation struct {
	Branch      string   `json:"branch"`
	Base        string   `json:"base"`
	Head        string   `json:"head"`
	Commits     []string `json:"commits"`
	Files       []string `json:"files"`
	Uncommitted bool     `json:"uncommitted"`
	Diverged    bool     `json:"diverged,omitempty"`
	Landed      bool     `json:"landed"`
}

// dropWork removes a destroyed sandbox's work directory.
func (m *Manager) dropWork(name string) {
	if _, ok := m.loadMeta(name); ok {
		if err := os.RemoveAll(m.workDir(name)); err != nil {
			m.log.Error("remove the work directory", "sandbox", name, "err", err)
		}
	}
}

// collect brings the sandbox's current work into its results repository. When the sandbox can no longer
// be asked (bundle or sbx path, sandbox gone), the last collected work is returned with a note.
func (m *Manager) collect(ctx context.Context, b sandbox.Backend, meta isoMeta) (gitwork.Collected, string, error) {
	g, dir := m.hostGit(), m.workDir(meta.Sandbox)
	results := resultsDir(dir)
	switch meta.Transport {
	case CloneMount:
		c, err := g.CollectDir(ctx, results, cloneDir(dir))
		return c, "", err
	case CloneBundle:
		out := filepath.Join(dir, "out.bundle")
		f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return gitwork.Collected{}, "", err
		}
		_, err = b.Exec(ctx, meta.Sandbox, sandbox.ExecSpec{Stdout: f, Timeout: 10 * time.Minute,
			Args: []string{"sh", "-c", gitwork.InsideScript, "sh", meta.inside(), "bundle", meta.Base}})
		f.Close()
		defer os.Remove(out)
		if err != nil {
			return m.lastCollected(ctx, meta, err)
		}
		if fi, err := os.Stat(out); err == nil && fi.Size() == 0 {
			c := gitwork.Collected{Head: meta.Base, Snapshot: meta.Base}
			return c, "", g.SetRefs(ctx, results, c)
		}
		c, err := g.CollectFetch(ctx, results, out)
		return c, "", err
	case CloneSbx:
		if _, err := b.Exec(ctx, meta.Sandbox, sandbox.ExecSpec{Timeout: 5 * time.Minute,
			Args: []string{"sh", "-c", gitwork.InsideScript, "sh", ".", "refs"}}); err != nil {
			return m.lastCollected(ctx, meta, err)
		}
		// sbx --clone: "the agent's commits are accessible via the sandbox-<name> git remote on the host".
		// Its URL's form is not documented: gitwork.CollectRemote takes a loopback git:// or a local path.
		url, err := g.RemoteURL(ctx, meta.Workspace, "sandbox-"+meta.Sandbox)
		if err != nil {
			return m.lastCollected(ctx, meta, err)
		}
		c, err := g.CollectRemote(ctx, results, url)
		if err != nil {
			return c, "", fmt.Errorf("fetch from the remote sandbox-%s sbx added to %s: %w", meta.Sandbox, meta.Workspace, err)
		}
		return c, "", nil
	}
	return gitwork.Collected{}, "", fmt.Errorf("unknown clone transport %q", meta.Transport)
}

func (m *Manager) lastCollected(ctx context.Context, meta isoMeta, cause error) (gitwork.Collected, string, error) {
	c, err := m.hostGit().Last(ctx, resultsDir(m.workDir(meta.Sandbox)))
	if err != nil {
		return c, "", fmt.Errorf("collect the work of sandbox %q: %w", meta.Sandbox, cause)
	}
	return c, fmt.Sprintf("sandbox %s cannot be reached (%v); this is its last collected work", meta.Sandbox, firstLine([]byte(cause.Error()))), nil
}

// isolatedDiff is get_diff for a sandbox on a clone: its branch and uncommitted work against the base,
// computed on the host in the server-owned results repository only.
func (m *Manager) isolatedDiff(ctx context.Context, rec state.Sandbox, meta isoMeta) (DiffResult, error) {
	b, err := m.backend(rec.Backend)
	if err != nil {
		return DiffResult{}, err
	}
	c, _, err := m.collect(ctx, b, meta)
	if err != nil {
		return DiffResult{}, gone(rec.Name, err)
	}
	d, err := m.hostGit().Diff(ctx, resultsDir(m.workDir(meta.Sandbox)), meta.Base, c, maxDiff, maxUntracked)
	if err != nil {
		return DiffResult{}, fmt.Errorf("diff the work of sandbox %q: %w", rec.Name, err)
	}
	landed := meta.LandedTip != "" && m.hostGit().IsAncestor(ctx, resultsDir(m.workDir(meta.Sandbox)), c.Snapshot, meta.LandedTip)
	return DiffResult{Sandbox: rec.Name, Workspace: rec.Workspace, Diff: d.Patch, Untracked: []string{}, Truncated: d.Truncated,
		Isolation: &DiffIsolation{Branch: meta.Branch, Base: meta.Base, Head: c.Head, Commits: d.Commits, Files: d.Files,
			Uncommitted: c.Dirty(), Diverged: d.Diverged, Landed: landed}}, nil
}

// LandSandbox brings the sandbox's work into the user's repository (land_sandbox).
func (m *Manager) LandSandbox(ctx context.Context, req LandRequest) (LandResult, error) {
	if err := sandbox.ValidateName("sandbox", req.Sandbox); err != nil {
		return LandResult{}, err
	}
	defer m.lockSandbox(req.Sandbox)()
	meta, ok := m.loadMeta(req.Sandbox)
	if !ok {
		if _, err := m.cfg.Store.GetSandbox(req.Sandbox); err == nil {
			return LandResult{}, remedy.Errorf(sandbox.Invalid, remedy.SeeDiff, "sandbox %q works in your folder directly (isolation direct): its changes are in the workspace already", req.Sandbox)
		}
		return LandResult{}, sandbox.Errorf(sandbox.NotFound, "sandbox %q has no work to land: it was destroyed and its clone discarded (or never existed); a branch landed before is still in your repository", req.Sandbox)
	}
	rec, _ := m.cfg.Store.GetSandbox(req.Sandbox)
	b, err := m.backend(meta.backendName(rec))
	if err != nil {
		return LandResult{}, err
	}
	defer m.use(ctx, req.Sandbox)()
	return m.land(ctx, b, meta, req)
}

func (meta isoMeta) backendName(rec state.Sandbox) string {
	if rec.Backend != "" {
		return rec.Backend
	}
	if meta.Backend != "" {
		return meta.Backend
	}
	if meta.Transport == CloneSbx {
		return "sbx"
	}
	return "docker"
}

// land is LandSandbox with the sandbox's lock held.
func (m *Manager) land(ctx context.Context, b sandbox.Backend, meta isoMeta, req LandRequest) (LandResult, error) {
	res := LandResult{Sandbox: meta.Sandbox, Workspace: meta.Workspace}
	branch := req.Branch
	if branch == "" {
		branch = meta.Branch
	}
	if !gitwork.ValidBranch(branch) || (req.Into != "" && !gitwork.ValidBranch(req.Into)) {
		return res, invalidf("branch %q is not a valid branch name: use letters, digits and . _ / -", branch+req.Into)
	}
	c, note, err := m.collect(ctx, b, meta)
	if err != nil {
		return res, gone(meta.Sandbox, err)
	}
	res.Note, res.Uncommitted = note, c.Dirty()
	tip := c.Head
	if req.IncludeUncommitted {
		tip = c.Snapshot
	}
	g, results := m.hostGit(), resultsDir(m.workDir(meta.Sandbox))
	if tip == meta.Base {
		if res.Uncommitted {
			return res, remedy.Errorf(sandbox.Invalid, remedy.IncludeUncommitted, "sandbox %q has no commits, only uncommitted work", meta.Sandbox)
		}
		return res, invalidf("sandbox %q has no work to land: its branch %s is still at the base %.12s", meta.Sandbox, meta.Branch, meta.Base)
	}
	if req.Check != "" {
		out, err := m.runCheck(ctx, b, meta, req)
		if err != nil {
			return res, err
		}
		res.CheckOutput = out
	}
	if n, err := g.Count(ctx, results, meta.Base, tip); err == nil {
		res.Commits = n
	}
	landed, err := g.Land(ctx, gitwork.LandSpec{Top: meta.Workspace, Results: results, Tip: tip, Branch: branch, Into: req.Into})
	res.Landed = landed
	if err != nil {
		if errors.Is(err, gitwork.ErrConflict) {
			err = invalidf("%v", err)
		}
		meta.LandedTip, meta.LandedBranch = tip, branch // the branch itself landed before the merge was tried
		_ = m.saveMetaIfLanded(ctx, meta, branch, tip)
		return res, fmt.Errorf("land sandbox %q: %w", meta.Sandbox, err)
	}
	meta.LandedTip, meta.LandedBranch = tip, branch
	if err := m.saveMeta(meta); err != nil {
		return res, err
	}
	m.log.Info("sandbox work landed", "sandbox", meta.Sandbox, "branch", branch, "commit", tip, "into", req.Into)
	return res, nil
}

// saveMetaIfLanded records a landing only when the branch really holds the tip.
func (m *Manager) saveMetaIfLanded(ctx context.Context, meta isoMeta, branch, tip string) error {
	out, err := m.hostGit().Run(ctx, gitwork.Call{Dir: meta.Workspace, Args: []string{"rev-parse", "--verify", "-q", "refs/heads/" + branch}})
	if err != nil || strings.TrimSpace(out) != tip {
		return err
	}
	return m.saveMeta(meta)
}

// maxCheckOutput bounds what a check command's output contributes to a result.
const maxCheckOutput = 2000

// runCheck runs the check command in the sandbox, in the workspace. A failure is a one-line error.
func (m *Manager) runCheck(ctx context.Context, b sandbox.Backend, meta isoMeta, req LandRequest) (string, error) {
	timeout := req.CheckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	var out bytes.Buffer
	_, err := b.Exec(ctx, meta.Sandbox, sandbox.ExecSpec{Args: []string{"sh", "-c", req.Check + " 2>&1"}, Workdir: meta.inside(),
		Stdout: &out, Timeout: timeout})
	tail := strings.Join(strings.Fields(lastBytes(out.String(), maxCheckOutput)), " ")
	var ee *sandbox.ExitError
	switch {
	case errors.As(err, &ee):
		return "", invalidf("check %q failed in sandbox %s (exit %d): %s; nothing was landed", firstLine([]byte(req.Check)), meta.Sandbox, ee.Code, lastBytes(tail, 300))
	case err != nil:
		return "", gone(meta.Sandbox, fmt.Errorf("run the check in sandbox %q (it must be running to check): %w", meta.Sandbox, err))
	}
	return lastBytes(out.String(), maxCheckOutput), nil
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// keepWork is destroy_sandbox's guard: a sandbox on a clone whose work was not landed is refused, unless
// the caller lands it first (LandTo) or discards it.
func (m *Manager) keepWork(ctx context.Context, b sandbox.Backend, rec state.Sandbox, keep []KeepWork) (*LandResult, error) {
	meta, ok := m.loadMeta(rec.Name)
	if !ok {
		return nil, nil
	}
	var k KeepWork
	if len(keep) > 0 {
		k = keep[0]
	}
	if k.Discard {
		return nil, nil
	}
	if k.LandTo != "" {
		res, err := m.land(ctx, b, meta, LandRequest{Sandbox: rec.Name, Branch: k.LandTo, IncludeUncommitted: true})
		if err != nil && !strings.Contains(err.Error(), "has no work to land") {
			return nil, err
		}
		if err == nil {
			return &res, nil
		}
		return nil, nil
	}
	c, _, err := m.collect(ctx, b, meta)
	if err != nil {
		return nil, remedy.Errorf(sandbox.Invalid, remedy.LandOrDiscard, "sandbox %q: cannot tell whether its work was landed (%v)", rec.Name, err)
	}
	results := resultsDir(m.workDir(rec.Name))
	if c.Snapshot == meta.Base || (meta.LandedTip != "" && m.hostGit().IsAncestor(ctx, results, c.Snapshot, meta.LandedTip)) {
		return nil, nil
	}
	what := "uncommitted changes"
	if c.Head != meta.Base && !(meta.LandedTip != "" && m.hostGit().IsAncestor(ctx, results, c.Head, meta.LandedTip)) {
		what = "commits"
		if c.Dirty() {
			what = "commits and uncommitted changes"
		}
	}
	return nil, remedy.With(remedy.LandOrDiscard, fmt.Errorf("sandbox %q has %s that were not landed: %w", rec.Name, what, ErrUnlanded))
}
