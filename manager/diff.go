package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
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
	Sandbox   string   `json:"sandbox" jsonschema_description:"Sandbox name."`
	Workspace string   `json:"workspace" jsonschema_description:"The folder diffed, inside the sandbox (the same path as on the host)."`
	Diff      string   `json:"diff" jsonschema_description:"git diff of the workspace against HEAD (staged and unstaged changes)."`
	Untracked []string `json:"untracked" jsonschema_description:"New files git does not track yet (not ignored)."`
	Truncated bool     `json:"truncated" jsonschema_description:"True when the diff or the file list was cut to stay bounded."`
	// Isolation is set for a sandbox on its own clone (land.go): the diff is then its branch and
	// uncommitted work against the base, and Untracked is empty (new files are in the diff).
	Isolation *DiffIsolation `json:"isolation,omitempty" jsonschema_description:"For a sandbox on its own clone: its branch, base, commits and changed files."`
}

// Diff returns the workspace's changes as the sandbox sees them: `git diff HEAD` and the untracked files,
// run inside the sandbox with git there.
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
	// safe.directory: the workspace belongs to the host user, who may not be the sandbox's user, and git
	// refuses "dubious ownership" otherwise. Given on the command line, it counts as protected config.
	git := func(args ...string) (string, error) {
		res, err := b.Exec(ctx, rec.Name, sandbox.ExecSpec{
			Args:    append([]string{"git", "-c", "safe.directory=*", "-c", "core.quotePath=false", "-C", rec.Workspace}, args...),
			Timeout: 60 * time.Second,
		})
		return string(res.Stdout), err
	}
	res := DiffResult{Sandbox: rec.Name, Workspace: rec.Workspace, Untracked: []string{}}
	diff, err := git("diff", "--no-color", "--no-ext-diff", "HEAD", "--")
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		switch {
		case ee.Code == 126 || ee.Code == 127 || strings.Contains(ee.Stderr, "executable file not found"):
			return res, fmt.Errorf("git is not installed in sandbox %q: use a template with git: %w", rec.Name, sandbox.ErrInvalid)
		case strings.Contains(strings.ToLower(ee.Stderr), "not a git repository"):
			// git 2.39 outside a repo: "warning: Not a git repository. Use --no-index…", usage, exit 129.
			return res, fmt.Errorf("workspace %s is not a git repository: run git init there (and commit a baseline) to track the agent's changes: %w", rec.Workspace, sandbox.ErrInvalid)
		case strings.Contains(ee.Stderr, "ambiguous argument 'HEAD'") || strings.Contains(ee.Stderr, "bad revision 'HEAD'"):
			// No commit yet: everything staged or not is new.
			diff, err = git("diff", "--no-color", "--no-ext-diff", "--cached", "--")
			if err == nil {
				var unstaged string
				unstaged, err = git("diff", "--no-color", "--no-ext-diff", "--")
				diff += unstaged
			}
		}
	}
	if err != nil {
		return res, gone(rec.Name, fmt.Errorf("git diff in %q: %w", rec.Name, err))
	}
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
	return res, nil
}
