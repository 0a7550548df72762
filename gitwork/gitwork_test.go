package gitwork

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// sh runs a plain (not hardened) git in dir, as a user or an agent would.
func sh(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main", "-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// userRepo makes a repository with one commit and some uncommitted work, like a user's.
func userRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git")
	}
	ws := t.TempDir()
	sh(t, ws, "init", "-q")
	write(t, ws, "README.md", "one\n")
	write(t, ws, "src/a.go", "package a\n")
	sh(t, ws, "add", ".")
	sh(t, ws, "commit", "-q", "-m", "baseline")
	write(t, ws, "README.md", "one\nlocal edit\n")
	write(t, ws, "staged.txt", "staged\n")
	sh(t, ws, "add", "staged.txt")
	write(t, ws, "untracked.txt", "new\n")
	return ws
}

// fingerprint hashes what the user could lose: HEAD, the index file, every ref and every file of the
// working tree (outside .git/objects, where landing adds objects).
func fingerprint(t *testing.T, ws string) string {
	t.Helper()
	h := sha256.New()
	_ = filepath.Walk(ws, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ws, p)
		if rel == ".git/objects" || rel == ".git/refs" || rel == ".git/logs" || rel == ".git/packed-refs" {
			if fi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			fmt.Fprintf(h, "%s %o %x\n", rel, fi.Mode(), sha256.Sum256(b))
		}
		return nil
	})
	fmt.Fprintln(h, sh(t, ws, "rev-parse", "HEAD"), sh(t, ws, "symbolic-ref", "HEAD"), sh(t, ws, "stash", "list"))
	return fmt.Sprintf("%x", h.Sum(nil))
}

// prepareFor inspects the user's repository ws and prepares, for a sandbox on branch, without the
// uncommitted changes, the results repository work/results.git in a new temporary folder work.
func prepareFor(t *testing.T, g *Git, ws, branch string) (repo Repo, p Prepared, work, results string) {
	t.Helper()
	repo, err := g.Inspect(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	work = t.TempDir()
	results = filepath.Join(work, "results.git")
	p, err = g.Prepare(context.Background(), PrepareSpec{Repo: repo, Branch: branch, Results: results})
	if err != nil {
		t.Fatal(err)
	}
	return repo, p, work, results
}

func TestPrepareCloneCollectLand(t *testing.T) {
	ctx := context.Background()
	g := &Git{}
	ws := userRepo(t)
	before := fingerprint(t, ws)
	repo, err := g.Inspect(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Dirty != 3 || repo.Branch != "main" {
		t.Fatalf("Inspect = %+v, want 3 dirty paths on main", repo)
	}
	work := t.TempDir()
	results, clone := filepath.Join(work, "results.git"), filepath.Join(work, "clone")
	p, err := g.Prepare(ctx, PrepareSpec{Repo: repo, Branch: "sandbox/t1", Results: results, IncludeUncommitted: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Snapshot || p.BaseRef != repo.Head {
		t.Fatalf("Prepare = %+v, want a snapshot on %s", p, repo.Head)
	}
	if err := g.Clone(ctx, ws, results, "sandbox/t1", clone); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(clone, "untracked.txt")); string(b) != "new\n" {
		t.Errorf("the clone lacks the uncommitted snapshot: untracked.txt = %q", b)
	}
	if alt, err := os.ReadFile(filepath.Join(clone, ".git/objects/info/alternates")); err == nil {
		t.Errorf("the clone borrows objects: %s", alt)
	}
	if fingerprint(t, ws) != before {
		t.Fatal("Prepare/Clone changed the user's repository")
	}

	// The agent commits one file and leaves another uncommitted.
	write(t, clone, "feature.txt", "feature\n")
	sh(t, clone, "add", "feature.txt")
	sh(t, clone, "commit", "-q", "-m", "add feature")
	write(t, clone, "wip.txt", "wip\n")
	c, err := g.CollectDir(ctx, results, clone)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Dirty() {
		t.Fatalf("Collected = %+v, want uncommitted work", c)
	}
	d, err := g.Diff(ctx, results, p.Base, c, 30000, 100)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Files, ",") != "A\tfeature.txt,A\twip.txt" || len(d.Commits) != 1 || !strings.Contains(d.Commits[0], "add feature") {
		t.Errorf("Diff = %+v", d)
	}

	l, err := g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/t1"})
	if err != nil || l.AlreadyLanded {
		t.Fatalf("Land = %+v, %v", l, err)
	}
	if got := sh(t, ws, "rev-parse", "sandbox/t1"); got != c.Head {
		t.Errorf("branch = %s, want %s", got, c.Head)
	}
	if l, err := g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/t1"}); err != nil || !l.AlreadyLanded {
		t.Errorf("second Land = %+v, %v; want already landed", l, err)
	}
	if fingerprint(t, ws) != before {
		t.Fatal("Land changed the user's working tree, index or HEAD")
	}

	// Into: main is checked out, so it is refused; another branch is fast-forwarded, then merged.
	if _, err := g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/t1", Into: "main"}); err == nil || !strings.Contains(err.Error(), "checked out") {
		t.Errorf("Land into the checked-out branch: %v", err)
	}
	sh(t, ws, "branch", "integration", repo.Head)
	l, err = g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/t1", Into: "integration"})
	if err != nil || l.Integration != "fast-forward" {
		t.Errorf("Land into integration = %+v, %v", l, err)
	}
	sh(t, ws, "branch", "other", repo.Head)
	tmp := t.TempDir()
	sh(t, ws, "worktree", "add", "-q", tmp, "other")
	write(t, tmp, "other.txt", "x\n")
	sh(t, tmp, "add", "other.txt")
	sh(t, tmp, "commit", "-q", "-m", "other")
	sh(t, ws, "worktree", "remove", tmp)
	l, err = g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/t1", Into: "other"})
	if err != nil || l.Integration != "merge" {
		t.Fatalf("Land into other = %+v, %v", l, err)
	}
	if files := sh(t, ws, "ls-tree", "--name-only", "-r", "other"); !strings.Contains(files, "feature.txt") || !strings.Contains(files, "other.txt") {
		t.Errorf("merge tree lacks a side: %s", files)
	}
}

func TestLandConflictChangesNothing(t *testing.T) {
	ctx := context.Background()
	g := &Git{}
	ws := userRepo(t)
	repo, p, work, results := prepareFor(t, g, ws, "sandbox/c")
	clone := filepath.Join(work, "clone")
	if p.Snapshot {
		t.Error("snapshot made without IncludeUncommitted")
	}
	if err := g.Clone(ctx, ws, results, "sandbox/c", clone); err != nil {
		t.Fatal(err)
	}
	write(t, clone, "src/a.go", "package a // sandbox\n")
	sh(t, clone, "commit", "-q", "-am", "sandbox edit")
	c, _ := g.CollectDir(ctx, results, clone)
	sh(t, ws, "branch", "target", repo.Head)
	tmp := t.TempDir()
	sh(t, ws, "worktree", "add", "-q", tmp, "target")
	write(t, tmp, "src/a.go", "package a // user\n")
	sh(t, tmp, "commit", "-q", "-am", "user edit")
	sh(t, ws, "worktree", "remove", tmp)
	target := sh(t, ws, "rev-parse", "target")
	l, err := g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Head, Branch: "sandbox/c", Into: "target"})
	if err == nil || !strings.Contains(err.Error(), "src/a.go") || len(l.Conflicts) != 1 {
		t.Errorf("conflicting Land = %+v, %v", l, err)
	}
	if sh(t, ws, "rev-parse", "target") != target {
		t.Error("a conflicting land moved the target branch")
	}
}

// TestTamperedCloneRunsNothing: the agent plants hooks, an fsmonitor, a textconv and a filter driver, a
// replace ref and rewritten history in its clone. Collecting, diffing and landing run none of them, and
// the diff shows the stored content.
func TestTamperedCloneRunsNothing(t *testing.T) {
	ctx := context.Background()
	g := &Git{}
	ws := userRepo(t)
	_, p, work, results := prepareFor(t, g, ws, "sandbox/x")
	clone := filepath.Join(work, "clone")
	if err := g.Clone(ctx, ws, results, "sandbox/x", clone); err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(t.TempDir(), "canary")
	evil := "#!/bin/sh\ntouch " + canary + "\ncat\n"
	for _, h := range []string{"pre-commit", "post-checkout", "reference-transaction", "post-merge", "pre-push", "fsmonitor-watchman"} {
		write(t, clone, ".git/hooks/"+h, evil)
	}
	write(t, clone, "evil.sh", evil)
	write(t, clone, "secret.bin", "the truth\n")
	write(t, clone, ".gitattributes", "*.bin diff=lie filter=lie\n")
	sh(t, clone, "add", "-A")
	sh(t, clone, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "work")
	for _, kv := range [][2]string{{"core.fsmonitor", clone + "/evil.sh"}, {"diff.lie.textconv", clone + "/evil.sh"},
		{"filter.lie.clean", clone + "/evil.sh"}, {"filter.lie.smudge", clone + "/evil.sh"}, {"core.pager", clone + "/evil.sh"},
		{"diff.external", clone + "/evil.sh"}, {"uploadpack.packObjectsHook", clone + "/evil.sh"}, {"core.hooksPath", clone + "/.git/hooks"}} {
		sh(t, clone, "config", kv[0], kv[1])
	}
	// Rewritten history: the commit is amended, and a replace ref hides the truth from git in the clone.
	write(t, clone, "secret.bin", "the truth, amended\n")
	sh(t, clone, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "commit", "-q", "-a", "--amend", "-m", "rewritten")
	fake := sh(t, clone, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "commit-tree", "-m", "fake", p.Base+"^{tree}")
	sh(t, clone, "replace", sh(t, clone, "rev-parse", "HEAD"), fake)
	write(t, clone, "wip.bin", "uncommitted truth\n")
	_ = os.Remove(canary) // the agent's own git commands above ran its hooks, inside its clone

	c, err := g.CollectDir(ctx, results, clone)
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Diff(ctx, results, p.Base, c, 30000, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+the truth, amended", "+uncommitted truth", "secret.bin", "evil.sh"} {
		if !strings.Contains(d.Patch, want) {
			t.Errorf("diff lacks %q:\n%s", want, d.Patch)
		}
	}
	if _, err := g.Land(ctx, LandSpec{Top: ws, Results: results, Tip: c.Snapshot, Branch: "sandbox/x"}); err != nil {
		t.Fatal(err)
	}
	if out := sh(t, ws, "show", "sandbox/x:secret.bin"); out != "the truth, amended" {
		t.Errorf("landed secret.bin = %q", out)
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a hook or driver planted by the agent ran on the host")
	}
}

func TestCollectBundle(t *testing.T) {
	ctx := context.Background()
	g := &Git{}
	ws := userRepo(t)
	_, p, work, results := prepareFor(t, g, ws, "sandbox/b")
	inside := filepath.Join(work, "inside")
	bundle := filepath.Join(work, "in.bundle")
	if err := g.Bundle(ctx, results, "sandbox/b", bundle); err != nil {
		t.Fatal(err)
	}
	// What the sandbox does: clone the bundle, work, run InsideScript.
	sh(t, work, "clone", "-q", "--branch", "sandbox/b", bundle, inside)
	inScript := func() []byte {
		var out bytes.Buffer
		cmd := exec.Command("sh", "-c", InsideScript, "sh", inside, "bundle", p.Base)
		cmd.Stdout = &out
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
		if err := cmd.Run(); err != nil {
			t.Fatalf("inside script: %v", err)
		}
		return out.Bytes()
	}
	if out := inScript(); len(out) != 0 {
		t.Errorf("no work, yet the script printed %d bytes", len(out))
	}
	write(t, inside, "b.txt", "b\n")
	sh(t, inside, "add", "b.txt")
	sh(t, inside, "commit", "-q", "-m", "b")
	write(t, inside, "wip.txt", "wip\n")
	if err := os.WriteFile(filepath.Join(work, "out.bundle"), inScript(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := g.CollectFetch(ctx, results, filepath.Join(work, "out.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Diff(ctx, results, p.Base, c, 30000, 100)
	if err != nil || strings.Join(d.Files, ",") != "A\tb.txt,A\twip.txt" {
		t.Errorf("Diff = %+v, %v", d, err)
	}
}
