package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Every git this server runs, runs inside the sandbox over a workspace the agent can write: the agent
// controls .gitattributes and, with --writable-git, .git/config and hooks. So git runs with everything
// that could execute the agent's code or change what we see switched off: no hooks, no fsmonitor, no
// system or global config, no external diff or textconv (--no-ext-diff, --no-textconv at the call), no
// pager, no prompt, no optional index writes.

// gitSafeConfig is given both as -c options and as GIT_CONFIG_COUNT entries (git ≥ 2.31), so that git
// started by the fingerprint script gets it too. Command-line config counts as protected config.
var gitSafeConfig = [][2]string{
	{"safe.directory", "*"}, // the workspace belongs to the host user, who may not be the sandbox's user
	{"core.quotePath", "false"},
	{"core.hooksPath", "/dev/null"},
	{"core.fsmonitor", "false"},
	{"core.untrackedCache", "false"},
	{"core.pager", "cat"},
}

func gitSafeArgs(ws string, args ...string) []string {
	out := []string{"git"}
	for _, kv := range gitSafeConfig {
		out = append(out, "-c", kv[0]+"="+kv[1])
	}
	return append(append(out, "-C", ws), args...)
}

func gitSafeEnv() []string {
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_PAGER=cat", "PAGER=cat",
		"GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_CONFIG_COUNT=" + strconv.Itoa(len(gitSafeConfig))}
	for i, kv := range gitSafeConfig {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

// git runs git in the sandbox's workspace with gitSafeConfig.
func (m *Manager) git(ctx context.Context, b sandbox.Backend, rec state.Sandbox, args ...string) (string, error) {
	res, err := b.Exec(ctx, rec.Name, sandbox.ExecSpec{Args: gitSafeArgs(m.insideDir(rec), args...), Env: gitSafeEnv(), Timeout: 60 * time.Second})
	return string(res.Stdout), err
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// headCommit returns the workspace's HEAD commit, or "" when there is none (no repository, no commit,
// no git).
func (m *Manager) headCommit(ctx context.Context, b sandbox.Backend, rec state.Sandbox) string {
	out, err := m.git(ctx, b, rec, "rev-parse", "--verify", "-q", "HEAD^{commit}")
	if c := strings.TrimSpace(out); err == nil && commitRE.MatchString(c) {
		return c
	}
	return ""
}

// gitControlScript prints what .git is (absent, folder, file, symlink) and, for a folder, the names and
// blob hashes of its config, commondir, info/* and hooks/*; for a file (a worktree or submodule's gitdir
// pointer), its content. A fixed script: the workspace comes as $1, never inside the script text.
const gitControlScript = `cd -- "$1" 2>/dev/null || exit 0
if [ -L .git ]; then echo symlink
elif [ -f .git ]; then echo file; cat .git
elif [ -d .git ]; then
  echo folder
  l=$(for f in .git/config .git/commondir .git/info/* .git/hooks/*; do [ -f "$f" ] && printf '%s\n' "$f"; done)
  printf '%s\n' "$l"
  [ -n "$l" ] && printf '%s\n' "$l" | git hash-object --no-filters --stdin-paths
else echo absent; fi
exit 0`

// gitControl fingerprints the workspace's git control files as "<kind>:<sha256 prefix>", or "" when the
// sandbox cannot tell (no sh, exec failed).
func (m *Manager) gitControl(ctx context.Context, b sandbox.Backend, rec state.Sandbox) string {
	res, err := b.Exec(ctx, rec.Name, sandbox.ExecSpec{Args: []string{"sh", "-c", gitControlScript, "sh", m.insideDir(rec)},
		Env: gitSafeEnv(), Timeout: 60 * time.Second})
	if err != nil {
		return ""
	}
	return gitControlOf(res.Stdout)
}

// gitControlOf is the fingerprint of gitControlScript's output: its first line (the kind) and a hash.
func gitControlOf(out []byte) string {
	kind, _, _ := strings.Cut(string(out), "\n")
	if kind == "" {
		return ""
	}
	sum := sha256.Sum256(out)
	return kind + ":" + hex.EncodeToString(sum[:8])
}

// noGitInFolder reports that a sandbox working directly in the user's folder (no clone: isolation.go) has
// no .git there at creation, seen on the host, where the policy has just checked the same path. Then the
// baseline is known without asking the sandbox (no commit; control "absent"), which saves create two execs.
// A clone is never judged from the host: the bundle path's clone exists only inside the sandbox.
func (m *Manager) noGitInFolder(rec state.Sandbox) bool {
	if _, clone := m.loadMeta(rec.Name); clone {
		return false
	}
	_, err := os.Lstat(filepath.Join(rec.Workspace, ".git"))
	return errors.Is(err, fs.ErrNotExist)
}

// controlChange describes how the fingerprint changed since creation, or "" when it did not (or either
// side is unknown).
func controlChange(was, now string) string {
	if was == "" || now == "" || was == now {
		return ""
	}
	wasKind, _, _ := strings.Cut(was, ":")
	nowKind, _, _ := strings.Cut(now, ":")
	if wasKind != nowKind {
		return fmt.Sprintf(".git was %s when the sandbox was created and is now %s: inspect it before running git in this folder on the host", wasKind, nowKind)
	}
	return ".git's config, hooks or info files changed since the sandbox was created: inspect them before running git in this folder on the host"
}
