package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// maxDiff and the untracked-list bounds keep get_diff under Claude Code's 25 k-token tool-output limit
// with room to spare: the diff travels twice (structured content and its text rendering), so
// 2 × (30 000 + 6 000) bytes ≈ 72 kB ≈ 20 k tokens at the worst.
const (
	maxDiff           = 30_000
	maxUntracked      = 200
	maxUntrackedBytes = 6_000
)

// DiffResult is get_diff's answer.
type DiffResult struct {
	Sandbox   string   `json:"sandbox"`
	Workspace string   `json:"workspace"`
	Base      string   `json:"base,omitempty"`
	Diff      string   `json:"diff"`
	Untracked []string `json:"untracked"`
	// ControlChanges are changes to what configures git itself; each deserves a look before the user runs
	// git in this folder on the host.
	ControlChanges []string `json:"control_changes,omitempty"`
	Truncated      bool     `json:"truncated"`
	// Isolation is set for a sandbox on its own clone (land.go): the diff is then its branch and
	// uncommitted work against the base, and Untracked is empty (new files are in the diff).
	Isolation *DiffIsolation `json:"isolation,omitempty"`
}

// controlNames are the files in the working tree that configure git: an agent can hide changes with them
// (a .gitignore that ignores itself, `* -diff` in .gitattributes) or select filters and drivers.
var controlNames = []string{".gitattributes", ".gitignore", ".gitmodules"}

// Diff returns the workspace's changes as the sandbox sees them: git diff against the commit recorded
// when the sandbox was created (else HEAD) and the untracked files, run inside the sandbox with git there
// and hardened (gitsafe.go); plus any change to git's control files.
func (m *Manager) Diff(ctx context.Context, sandboxName string) (DiffResult, error) {
	rec, err := m.sandboxRecord(sandboxName)
	if err != nil {
		return DiffResult{}, err
	}
	defer m.use(ctx, rec.Name)()              // a use, for --idle-ttl (ttl.go)
	if meta, ok := m.loadMeta(rec.Name); ok { // isolation (land.go)
		return m.isolatedDiff(ctx, rec, meta)
	}
	b, err := m.backend(rec.Backend)
	if err != nil {
		return DiffResult{}, err
	}
	git := func(args ...string) (string, error) { return m.git(ctx, b, rec, args...) }
	diffArgs := []string{"diff", "--no-color", "--no-ext-diff", "--no-textconv"}
	base := rec.BaseCommit
	if base == "" {
		base = "HEAD"
	}
	res := DiffResult{Sandbox: rec.Name, Workspace: rec.Workspace, Base: rec.BaseCommit, Untracked: []string{}}
	diff, err := git(append(diffArgs, base, "--")...)
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		switch {
		case ee.Code == 126 || ee.Code == 127 || strings.Contains(ee.Stderr, "executable file not found"):
			return res, sandbox.Errorf(sandbox.Invalid, "git is not installed in sandbox %q: use a template with git", rec.Name)
		case strings.Contains(strings.ToLower(ee.Stderr), "not a git repository"):
			// git 2.39 outside a repo: "warning: Not a git repository. Use --no-index…", usage, exit 129.
			if c := controlChange(rec.GitControl, m.gitControl(ctx, b, rec)); c != "" {
				return res, sandbox.Errorf(sandbox.Invalid, "workspace %s is not a git repository any more: %s", rec.Workspace, c)
			}
			return res, sandbox.Errorf(sandbox.Invalid, "workspace %s is not a git repository: run git init there (and commit a baseline) to track the agent's changes", rec.Workspace)
		case strings.Contains(ee.Stderr, "ambiguous argument 'HEAD'") || strings.Contains(ee.Stderr, "bad revision 'HEAD'"):
			// No commit yet: everything staged or not is new.
			diff, err = git(append(diffArgs, "--cached", "--")...)
			if err == nil {
				var unstaged string
				unstaged, err = git(append(diffArgs, "--")...)
				diff += unstaged
			}
		}
	}
	if err != nil {
		return res, gone(rec.Name, fmt.Errorf("git diff in %q: %w", rec.Name, err))
	}
	res.ControlChanges = diffControlFiles(diff)
	if len(diff) > maxDiff {
		diff = diff[:maxDiff] + fmt.Sprintf("\n… [%d more bytes; look at the files in the workspace]\n", len(diff)-maxDiff)
		res.Truncated = true
	}
	res.Diff = diff
	files, err := git("ls-files", "--others", "--exclude-standard")
	if err != nil {
		return res, gone(rec.Name, fmt.Errorf("git ls-files in %q: %w", rec.Name, err))
	}
	listed := 0
	for _, f := range strings.Split(strings.TrimSpace(files), "\n") {
		if f == "" {
			continue
		}
		if len(res.Untracked) == maxUntracked || listed+len(f) > maxUntrackedBytes {
			res.Truncated = true
			break
		}
		listed += len(f)
		res.Untracked = append(res.Untracked, f)
	}
	res.ControlChanges = append(res.ControlChanges, m.controlChanges(ctx, b, rec)...)
	return res, nil
}

// controlChanges finds the control-file changes the diff cannot show: new control files, ignored ones
// included (a .gitignore that ignores itself hides from ls-files --exclude-standard), HEAD moved away
// from the base (a commit made inside the sandbox), and .git itself changed.
func (m *Manager) controlChanges(ctx context.Context, b sandbox.Backend, rec state.Sandbox) []string {
	var out []string
	args := []string{"ls-files", "--others", "--"}
	for _, n := range controlNames {
		args = append(args, ":(glob)**/"+n)
	}
	if files, err := m.git(ctx, b, rec, args...); err == nil {
		for _, f := range strings.Split(strings.TrimSpace(files), "\n") {
			if f != "" && len(out) < 20 {
				out = append(out, "new "+clipPath(f)+" (it can hide files or change how git shows and filters them)")
			}
		}
	}
	if rec.BaseCommit != "" {
		if head := m.headCommit(ctx, b, rec); head != rec.BaseCommit {
			out = append(out, fmt.Sprintf("HEAD moved from %s to %s since the sandbox was created (the diff is against the first)", rec.BaseCommit, cmp.Or(head, "no commit")))
		}
	}
	if c := controlChange(rec.GitControl, m.gitControl(ctx, b, rec)); c != "" {
		out = append(out, c)
	}
	return out
}

// diffControlFiles lists the control files a diff changes, from its "diff --git a/X b/Y" lines.
func diffControlFiles(diff string) []string {
	var out []string
	for _, line := range strings.Split(diff, "\n") {
		rest, ok := strings.CutPrefix(line, "diff --git ")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, " b/")
		if i < 0 {
			continue
		}
		path := rest[i+3:]
		base := path[strings.LastIndex(path, "/")+1:]
		if slices.Contains(controlNames, strings.TrimSuffix(base, `"`)) && len(out) < 20 {
			out = append(out, "changed "+clipPath(path)+" (it can hide files or change how git shows and filters them)")
		}
	}
	return out
}

// clipPath bounds a path the agent chose.
func clipPath(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + "…"
}
