package gitwork

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Collected is the sandbox's work as found in the results repository.
type Collected struct {
	Head     string // the sandbox branch's (HEAD's) commit
	Snapshot string // Head plus the uncommitted work; Head itself when there is none
}

// Dirty reports whether there is uncommitted work.
func (c Collected) Dirty() bool { return c.Snapshot != "" && c.Snapshot != c.Head }

// Refs in the results repository.
const (
	refHead     = "refs/sandbox/head"
	refSnapshot = "refs/sandbox/snapshot"
	refBase     = "refs/sandbox/base"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// CollectDir collects the work of a clone the host can read (bind-mounted clones). git never runs in the
// clone: its HEAD is read as a file, its objects through an alternate of the results repository, and its
// working tree is hashed with the results repository's configuration and a private index.
func (g *Git) CollectDir(ctx context.Context, results, clone string) (Collected, error) {
	head, err := ReadHead(filepath.Join(clone, ".git"))
	if err != nil {
		return Collected{}, err
	}
	if err := AddAlternate(results, filepath.Join(clone, ".git", "objects")); err != nil {
		return Collected{}, err
	}
	if t, err := g.bare(ctx, results, "cat-file", "-t", head); err != nil || t != "commit" {
		return Collected{}, fmt.Errorf("the sandbox's HEAD %s is not a commit in its clone", head)
	}
	snap, err := g.snapshot(ctx, results, clone, head, filepath.Join(results, "collect.index"), "", "sandbox-mcp: uncommitted work")
	if err != nil {
		return Collected{}, err
	}
	if err := g.setRefs(ctx, results, head, snap); err != nil {
		return Collected{}, err
	}
	return Collected{Head: head, Snapshot: snap}, nil
}

func (g *Git) setRefs(ctx context.Context, results, head, snap string) error {
	if _, err := g.bare(ctx, results, "update-ref", refHead, head); err != nil {
		return err
	}
	_, err := g.bare(ctx, results, "update-ref", refSnapshot, snap)
	return err
}

// Last returns the last collected work, for a sandbox whose clone is gone.
func (g *Git) Last(ctx context.Context, results string) (Collected, error) {
	head, err := g.bare(ctx, results, "rev-parse", "--verify", "-q", refHead)
	if err != nil || head == "" {
		return Collected{}, fmt.Errorf("no work was ever collected from this sandbox")
	}
	snap, _ := g.bare(ctx, results, "rev-parse", "--verify", "-q", refSnapshot)
	return Collected{Head: head, Snapshot: snap}, nil
}

// ReadHead reads the commit HEAD points to in gitDir without running git there: HEAD, a loose ref or
// packed-refs, each bounded and checked. Anything else (a reftable, a symlink loop, garbage) is an error.
func ReadHead(gitDir string) (string, error) { return readRef(gitDir, "HEAD") }

// readRef reads ref (HEAD or a full ref name) in gitDir as ReadHead does.
func readRef(gitDir, ref string) (string, error) {
	for range 5 {
		var v string
		if b, err := readSmall(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
			v = strings.TrimSpace(string(b))
		} else if p, ok := packedRef(gitDir, ref); ok {
			v = p
		} else {
			return "", fmt.Errorf("the sandbox's clone has no %s (was its branch deleted?)", ref)
		}
		if shaRE.MatchString(v) {
			return v, nil
		}
		target, ok := strings.CutPrefix(v, "ref: ")
		if !ok || !strings.HasPrefix(target, "refs/heads/") || strings.Contains(target, "..") || !ValidBranch(strings.TrimPrefix(target, "refs/heads/")) {
			return "", fmt.Errorf("the sandbox's HEAD is not a branch or a commit")
		}
		ref = target
	}
	return "", fmt.Errorf("the sandbox's HEAD is a chain of symbolic refs")
}

func readSmall(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4096 {
		return nil, fmt.Errorf("not a small regular file: %s", path)
	}
	return os.ReadFile(path)
}

func packedRef(gitDir, ref string) (string, bool) {
	path := filepath.Join(gitDir, "packed-refs")
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && shaRE.MatchString(sha) {
			return sha, true
		}
	}
	return "", false
}

// InsideScript runs inside a sandbox whose clone only the sandbox can reach (bundle path, sbx --clone):
// it records the uncommitted work as a commit with a private index (the agent's index is not touched) and
// points refs/sandbox-mcp/{head,snapshot} at HEAD and at that commit. With "bundle" as $2 it then writes a
// bundle of both refs to stdout, without the objects of the base ($3), or nothing when both are the base. It runs the sandbox's own git: that
// is the agent's territory, and what it returns is checked on the host (fsck on fetch).
const InsideScript = `set -e
cd "$1"
g() { git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c safe.directory='*' -c gc.auto=0 \
  -c user.name=sandbox-mcp -c user.email=sandbox-mcp@localhost -c commit.gpgSign=false "$@"; }
head=$(g rev-parse --verify HEAD^{commit})
idx=$(mktemp)
trap 'rm -f "$idx"' EXIT
rm -f "$idx"
export GIT_INDEX_FILE="$idx"
g read-tree "$head"
g add -A --ignore-errors -- . >/dev/null 2>&1 || true
tree=$(g write-tree)
unset GIT_INDEX_FILE
if [ "$tree" = "$(g rev-parse "$head^{tree}")" ]; then snap=$head; else
  d=$(g log -1 --format=%ct "$head")
  snap=$(GIT_AUTHOR_DATE="@$d +0000" GIT_COMMITTER_DATE="@$d +0000" g commit-tree -p "$head" -m "sandbox-mcp: uncommitted work" "$tree")
fi
g update-ref refs/sandbox-mcp/head "$head"
g update-ref refs/sandbox-mcp/snapshot "$snap"
if [ "$2" = bundle ]; then
  if [ "$head" = "$3" ] && [ "$snap" = "$3" ]; then exit 0; fi
  if [ -n "$3" ] && g cat-file -e "$3^{commit}" 2>/dev/null && g merge-base --is-ancestor "$3" "$head"; then
    g bundle create - refs/sandbox-mcp/head refs/sandbox-mcp/snapshot "^$3"
  else
    g bundle create - refs/sandbox-mcp/head refs/sandbox-mcp/snapshot
  fi
fi
`

// CollectFetch fetches refs/sandbox-mcp/{head,snapshot} from source (a bundle file, or a remote the
// backend gives, such as sbx's sandbox-<name>) into the results repository, with fsck on every object.
func (g *Git) CollectFetch(ctx context.Context, results, source string) (Collected, error) {
	_, err := g.Run(ctx, Call{GitDir: results, Args: []string{"fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--",
		source, "+refs/sandbox-mcp/head:" + refHead, "+refs/sandbox-mcp/snapshot:" + refSnapshot}})
	if err != nil {
		return Collected{}, err
	}
	return g.Last(ctx, results)
}

// SetRefs records collected work found some other way (e.g. a sandbox that reported no change).
func (g *Git) SetRefs(ctx context.Context, results string, c Collected) error {
	return g.setRefs(ctx, results, c.Head, c.Snapshot)
}

// Count returns the number of commits in base..tip.
func (g *Git) Count(ctx context.Context, results, base, tip string) (int, error) {
	out, err := g.bare(ctx, results, "rev-list", "--count", base+".."+tip, "--")
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = fmt.Sscan(out, &n)
	return n, err
}

// RemoteURL returns the URL of a remote in the user's repository (sbx adds sandbox-<name>).
func (g *Git) RemoteURL(ctx context.Context, top, remote string) (string, error) {
	out, err := g.run(ctx, top, "config", "--get", "remote."+remote+".url")
	if err != nil || out == "" || strings.HasPrefix(out, "-") {
		return "", fmt.Errorf("the repository %s has no remote %s", top, remote)
	}
	return out, nil
}
