package gitwork

import (
	"context"
	"fmt"
	"strings"
)

// Diff is the sandbox's work against its base.
type Diff struct {
	Patch     string   // git diff base..tip
	Files     []string // "<status>\t<path>" lines of --name-status
	Commits   []string // "<short sha> <subject>" of base..head, newest first
	Diverged  bool     // base is not an ancestor of head: the agent rewrote history below it
	Truncated bool
}

// Diff computes the work in the results repository only, with external diff and textconv off, so what it
// shows is the content as stored, whatever the agent's attributes say.
func (g *Git) Diff(ctx context.Context, results, base string, c Collected, maxPatch, maxFiles int) (Diff, error) {
	var d Diff
	tip := c.Snapshot
	if tip == "" {
		tip = c.Head
	}
	patch, err := g.bare(ctx, results, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--binary", "--no-renames", base, tip, "--")
	if err != nil {
		return d, err
	}
	if patch != "" {
		patch += "\n"
	}
	if len(patch) > maxPatch {
		patch = patch[:maxPatch] + fmt.Sprintf("\n… [%d more bytes]\n", len(patch)-maxPatch)
		d.Truncated = true
	}
	d.Patch = patch
	files, err := g.bare(ctx, results, "diff", "--no-ext-diff", "--no-textconv", "--name-status", "--no-renames", base, tip, "--")
	if err != nil {
		return d, err
	}
	d.Files = []string{}
	for _, f := range strings.Split(files, "\n") {
		if f == "" {
			continue
		}
		if len(d.Files) == maxFiles {
			d.Truncated = true
			break
		}
		d.Files = append(d.Files, f)
	}
	d.Diverged = !g.isAncestor(ctx, results, base, c.Head)
	d.Commits = []string{}
	if !d.Diverged && c.Head != base {
		log, err := g.bare(ctx, results, "log", "-n", "50", "--no-decorate", "--format=%h %s", base+".."+c.Head, "--")
		if err != nil {
			return d, err
		}
		for _, l := range strings.Split(log, "\n") {
			if l != "" {
				d.Commits = append(d.Commits, l)
			}
		}
	}
	return d, nil
}

func (g *Git) isAncestor(ctx context.Context, gitDir, a, b string) bool {
	_, err := g.Run(ctx, Call{GitDir: gitDir, Args: []string{"merge-base", "--is-ancestor", a, b}})
	return err == nil
}

// LandSpec says where to land.
type LandSpec struct {
	Top     string // the user's working tree
	Results string
	Tip     string // the commit to land
	Branch  string // the branch it becomes in the user's repository
	Into    string // optional: a branch to fast-forward or merge it into
}

// Landed is what Land did.
type Landed struct {
	Branch        string   `json:"branch"`
	Commit        string   `json:"commit"`
	AlreadyLanded bool     `json:"already_landed"`
	Into          string   `json:"into,omitempty"`
	IntoCommit    string   `json:"into_commit,omitempty"`
	Integration   string   `json:"integration,omitempty"`
	Conflicts     []string `json:"conflicts,omitempty"`
}

// ErrConflict: merging into the target branch conflicts; nothing was changed.
var ErrConflict = fmt.Errorf("merge conflicts")

// Land fetches the tip from the results repository into the user's repository as refs/heads/<branch>
// (a fast-forward only: an existing branch with other commits is refused), then optionally integrates it
// into Into by fast-forward or by a merge computed with merge-tree (no working tree, no index). The
// user's working tree, index and HEAD are never touched, and a branch checked out in a worktree is never
// moved. Hooks never run (core.hooksPath=/dev/null): neither the sandbox's nor the user's.
func (g *Git) Land(ctx context.Context, s LandSpec) (Landed, error) {
	res := Landed{Branch: s.Branch, Commit: s.Tip}
	if !ValidBranch(s.Branch) || (s.Into != "" && !ValidBranch(s.Into)) {
		return res, fmt.Errorf("branch name %q is not valid", s.Branch+" "+s.Into)
	}
	if _, err := g.bare(ctx, s.Results, "update-ref", "refs/sandbox/land", s.Tip); err != nil {
		return res, err
	}
	old, _ := g.run(ctx, s.Top, "rev-parse", "--verify", "-q", "refs/heads/"+s.Branch)
	if old == s.Tip {
		res.AlreadyLanded = true
	} else {
		if wt := g.checkedOut(ctx, s.Top, s.Branch); wt != "" {
			return res, fmt.Errorf("branch %s is checked out in %s: land to another branch", s.Branch, wt)
		}
		_, err := g.Run(ctx, Call{Dir: s.Top, Args: []string{"fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
			"--", s.Results, "refs/sandbox/land:refs/heads/" + s.Branch}})
		if err != nil {
			if old != "" {
				return res, fmt.Errorf("branch %s already exists in %s with other commits: land to another branch (or delete it)", s.Branch, s.Top)
			}
			return res, err
		}
	}
	if s.Into == "" {
		return res, nil
	}
	return g.integrate(ctx, s, res)
}

func (g *Git) integrate(ctx context.Context, s LandSpec, res Landed) (Landed, error) {
	res.Into = s.Into
	target, err := g.run(ctx, s.Top, "rev-parse", "--verify", "-q", "refs/heads/"+s.Into)
	if err != nil || target == "" {
		return res, fmt.Errorf("branch %s does not exist in %s: create it first or land without into", s.Into, s.Top)
	}
	if wt := g.checkedOut(ctx, s.Top, s.Into); wt != "" {
		return res, fmt.Errorf("branch %s is checked out in %s, and landing never touches a working tree: merge %s there yourself, or land into another branch", s.Into, wt, s.Branch)
	}
	switch {
	case target == s.Tip || g.isAncestorIn(ctx, s.Top, s.Tip, target):
		res.Integration, res.IntoCommit = "already-contained", target
		return res, nil
	case g.isAncestorIn(ctx, s.Top, target, s.Tip):
		if _, err := g.run(ctx, s.Top, "update-ref", "-m", "sandbox-mcp: land "+s.Branch, "refs/heads/"+s.Into, s.Tip, target); err != nil {
			return res, err
		}
		res.Integration, res.IntoCommit = "fast-forward", s.Tip
		return res, nil
	}
	out, err := g.Run(ctx, Call{Dir: s.Top, Args: []string{"merge-tree", "--write-tree", "--name-only", "--no-messages", target, s.Tip}})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if exitCode(err) == 1 {
		for _, l := range lines[1:] {
			if l != "" && len(res.Conflicts) < 50 {
				res.Conflicts = append(res.Conflicts, l)
			}
		}
		return res, fmt.Errorf("%w merging %s into %s (%s): nothing was changed; %s holds the work", ErrConflict, s.Branch, s.Into, strings.Join(res.Conflicts, ", "), s.Branch)
	}
	if err != nil {
		return res, err
	}
	tree := lines[0]
	if !shaRE.MatchString(tree) {
		return res, fmt.Errorf("git merge-tree printed %q", tree)
	}
	commit, err := g.run(ctx, s.Top, "commit-tree", "-p", target, "-p", s.Tip, "-m", fmt.Sprintf("Merge branch '%s' into %s", s.Branch, s.Into), tree)
	if err != nil {
		return res, err
	}
	if _, err := g.run(ctx, s.Top, "update-ref", "-m", "sandbox-mcp: merge "+s.Branch, "refs/heads/"+s.Into, commit, target); err != nil {
		return res, err
	}
	res.Integration, res.IntoCommit = "merge", commit
	return res, nil
}

func (g *Git) isAncestorIn(ctx context.Context, dir, a, b string) bool {
	_, err := g.Run(ctx, Call{Dir: dir, Args: []string{"merge-base", "--is-ancestor", a, b}})
	return err == nil
}

// checkedOut returns the worktree where branch is checked out, or "".
func (g *Git) checkedOut(ctx context.Context, top, branch string) string {
	out, err := g.run(ctx, top, "worktree", "list", "--porcelain")
	if err != nil {
		return ""
	}
	wt := ""
	for _, l := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(l, "worktree "); ok {
			wt = p
		}
		if l == "branch refs/heads/"+branch {
			return wt
		}
	}
	return ""
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b in the results repository.
func (g *Git) IsAncestor(ctx context.Context, results, a, b string) bool {
	return a == b || g.isAncestor(ctx, results, a, b)
}
