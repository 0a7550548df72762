package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// isoRepo makes a user's repository: two commits' worth of files and one uncommitted change.
func isoRepo(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	gitInit(t, ws)
	writeFile(t, ws, "lib.txt", "library\n")
	gitT(t, ws, "add", ".")
	gitT(t, ws, "commit", "-q", "-m", "second")
	writeFile(t, ws, "README.md", "hello\nlocal, uncommitted\n")
	return ws
}

// userState hashes everything landing must not change: the working tree, the index file, HEAD (what it
// names and where it points) and the stash. Refs and objects may grow (that is what landing does). Files
// named in skip (relative to ws) are left out.
func userState(t *testing.T, ws string, skip ...string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.Walk(ws, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(ws, p)
		if fi.IsDir() && (rel == ".git/objects" || rel == ".git/refs" || rel == ".git/logs") {
			return filepath.SkipDir
		}
		if fi.Mode().IsRegular() && rel != ".git/packed-refs" && rel != ".git/FETCH_HEAD" && !slices.Contains(skip, rel) {
			b, _ := os.ReadFile(p)
			fmt.Fprintf(h, "%s %o %x\n", rel, fi.Mode(), sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(h, gitT(t, ws, "rev-parse", "HEAD"), gitT(t, ws, "symbolic-ref", "HEAD"), gitT(t, ws, "stash", "list"), gitT(t, ws, "status", "--porcelain"))
	return fmt.Sprintf("%x", h.Sum(nil))
}

// waitIdle polls until the session's turn is over.
func (h *harness) waitIdle(sb, name string) manager.SessionEntry {
	h.T.Helper()
	return h.waitEntry(sb, name, 60*time.Second, func(status string) bool {
		return status != events.StatusRunning && status != events.StatusWaitingPermission
	})
}

func isoDockerImage(t *testing.T) string {
	image := testenv.Docker(t)
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git (apt-get install git)")
	}
	return image
}

// TestDockerIsolationManyAgents: three sandboxes over one repository, each on its own clone and branch,
// run turns at once (the scripted agent writes and commits a file of its own). The user's working tree,
// index and HEAD are byte-identical afterwards; each branch lands with exactly its own change; a failing
// check blocks landing; landing twice is a no-op; destroy keeps unlanded work unless told otherwise.
func TestDockerIsolationManyAgents(t *testing.T) {
	image := isoDockerImage(t)
	for _, tc := range []struct{ name, clone string }{{"mount", "mount"}, {"bundle", "bundle"}} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
			h := startServer(t, append(dockerArgs(t, image, "exec", "none"), "--docker-clone="+tc.clone), env)
			ws := isoRepo(t)
			before := userState(t, ws)
			base := strings.TrimSpace(gitT(t, ws, "rev-parse", "HEAD"))
			names := []string{"iso-" + tc.name + "-a", "iso-" + tc.name + "-b", "iso-" + tc.name + "-c"}
			sessions := map[string]string{}
			for _, n := range names {
				var sb manager.SandboxResult
				h.OK("create_sandbox", map[string]any{"workspace": ws, "name": n}, &sb)
				t.Cleanup(func() { testkit.Docker(t, "rm", "-f", n) })
				if i := sb.Isolation; i == nil || i.Mode != "clone" || i.Branch != "sandbox/"+n || i.Base != base || i.Transport != tc.clone ||
					!strings.Contains(i.Note, "1 uncommitted file(s) in your folder were not included") {
					t.Fatalf("create_sandbox isolation = %+v", sb.Isolation)
				}
				// The server's own read-only files (the relay, the provisioned sandbox-agent, the shared agent
				// installs) are mounted under /opt/sandbox-mcp; nothing else may be on the bundle path.
				mounts := testkit.Docker(t, "inspect", "--format", "{{range .Mounts}}{{.Source}}>{{.Destination}} {{end}}", n)
				var others []string
				userFolder := false
				for _, m := range strings.Fields(mounts) {
					src, dst, _ := strings.Cut(m, ">")
					userFolder = userFolder || strings.HasPrefix(src, ws)
					if !strings.HasPrefix(dst, "/opt/sandbox-mcp/") {
						others = append(others, m)
					}
				}
				if userFolder || (tc.clone == "bundle" && len(others) > 0) {
					t.Fatalf("sandbox %s mounts %q; the user's folder must never be mounted (bundle: nothing of the host's but /opt/sandbox-mcp)", n, mounts)
				}
				var sess struct{ Name string }
				h.OK("create_session", map[string]any{"sandbox": n, "agent": "mock"}, &sess)
				sessions[n] = sess.Name
			}
			// Turns at once: each message returns at once, and the three turns run side by side.
			for _, n := range names {
				var tr manager.TurnResult
				h.OK("send_message", map[string]any{"sandbox": n, "session": sessions[n],
					"message": "write " + n + ".txt from " + n + "; sleep 300; commit add " + n, "wait_seconds": 0}, &tr)
			}
			for _, n := range names {
				if e := h.waitIdle(n, sessions[n]); e.Status != events.StatusIdle {
					t.Fatalf("turn in %s ended %s", n, e.Status)
				}
			}
			for _, n := range names {
				var d manager.DiffResult
				h.OK("get_diff", map[string]any{"sandbox": n}, &d)
				if d.Isolation == nil || !slices.Equal(d.Isolation.Files, []string{"A\t" + n + ".txt"}) || len(d.Isolation.Commits) != 1 ||
					d.Isolation.Uncommitted || !strings.Contains(d.Diff, "+from "+n) {
					t.Errorf("get_diff %s = %+v", n, d)
				}
			}
			if userState(t, ws) != before {
				t.Fatal("the user's working tree, index or HEAD changed while agents worked")
			}

			// A failing check blocks landing.
			got := h.Fails("land_sandbox", map[string]any{"sandbox": names[0], "check": "test -f nonexistent.txt"})
			if !strings.Contains(got, "failed") || !strings.Contains(got, "nothing was landed") || strings.Contains(got, "\n") {
				t.Errorf("land with a failing check = %q", got)
			}
			if out, _ := exec.Command("git", "-C", ws, "rev-parse", "--verify", "-q", "refs/heads/sandbox/"+names[0]).Output(); len(out) != 0 {
				t.Error("a failing check still landed the branch")
			}
			for _, n := range names {
				var l manager.LandResult
				h.OK("land_sandbox", map[string]any{"sandbox": n, "check": "test -f " + n + ".txt"}, &l)
				if l.Branch != "sandbox/"+n || l.Commits != 1 || l.AlreadyLanded {
					t.Errorf("land %s = %+v", n, l)
				}
				if files := strings.TrimSpace(gitT(t, ws, "diff", "--name-only", base, "sandbox/"+n)); files != n+".txt" {
					t.Errorf("branch sandbox/%s brings %q, want exactly %s.txt", n, files, n)
				}
				h.OK("land_sandbox", map[string]any{"sandbox": n}, &l)
				if !l.AlreadyLanded {
					t.Errorf("second land of %s = %+v, want already_landed", n, l)
				}
			}
			if userState(t, ws) != before {
				t.Fatal("landing changed the user's working tree, index or HEAD")
			}

			// Cleanup keeps work: new unlanded work refuses destroy; land_to lands it first; discard drops it.
			h.send(names[1], sessions[names[1]], "write more.txt more; commit more")
			if got := h.Fails("destroy_sandbox", map[string]any{"name": names[1]}); !strings.Contains(got, "not landed") || strings.Contains(got, "\n") {
				t.Errorf("destroy with unlanded work = %q", got)
			}
			var dr manager.DestroyResult
			h.OK("destroy_sandbox", map[string]any{"name": names[1], "land_to": "keep/" + names[1]}, &dr)
			if dr.Landed == nil || strings.TrimSpace(gitT(t, ws, "diff", "--name-only", base, "keep/"+names[1])) != names[1]+".txt\nmore.txt" {
				t.Errorf("destroy land_to = %+v; branch has %q", dr.Landed, gitT(t, ws, "diff", "--name-only", base, "keep/"+names[1]))
			}
			h.OK("destroy_sandbox", map[string]any{"name": names[0]}, &dr) // landed already: no question asked
			h.send(names[2], sessions[names[2]], "write wip.txt unsaved")
			if got := h.Fails("destroy_sandbox", map[string]any{"name": names[2]}); !strings.Contains(got, "uncommitted changes that were not landed") {
				t.Errorf("destroy with uncommitted work = %q", got)
			}
			h.OK("destroy_sandbox", map[string]any{"name": names[2], "discard": true}, &dr)
			if got := h.Fails("land_sandbox", map[string]any{"sandbox": names[2]}); !strings.Contains(got, "destroyed") || !strings.Contains(got, "still in your repository") {
				t.Errorf("land of a destroyed sandbox = %q", got)
			}
			if userState(t, ws) != before {
				t.Fatal("destroy changed the user's working tree, index or HEAD")
			}
		})
	}
}

// TestDockerIsolationTamper: the agent plants hooks, an fsmonitor, attributes with a textconv and a filter
// driver, and rewrites its history inside its clone. Nothing of it runs on the host (a canary the hooks
// would create stays absent), get_diff shows the stored content, and landing executes none of it.
func TestDockerIsolationTamper(t *testing.T) {
	image := isoDockerImage(t)
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	h := startServer(t, dockerArgs(t, image, "exec", "none"), env)
	ws := isoRepo(t)
	before := userState(t, ws)
	canary := filepath.Join(t.TempDir(), "canary")
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": "iso-tamper"}, &sb)
	t.Cleanup(func() { testkit.Docker(t, "rm", "-f", "iso-tamper") })
	var sess struct{ Name string }
	h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
	evil := `printf '#!/bin/sh\ntouch ` + canary + `\ncat\n'`
	script := strings.Join([]string{
		"write secret.bin the truth",
		"commit first",
		"write secret.bin the truth, amended",
		"run git add -A && git -c user.name=a -c user.email=a@a commit -q --amend -m rewritten",
		"run mkdir -p .git/hooks && for h in post-checkout post-merge reference-transaction pre-commit post-commit fsmonitor-watchman pre-auto-gc\ndo " + evil + " > .git/hooks/$h && chmod +x .git/hooks/$h\ndone",
		"run " + evil + " > evil.sh && chmod +x evil.sh",
		"run printf '* diff=lie filter=lie\\n' > .gitattributes",
		"run git config core.fsmonitor $PWD/evil.sh && git config diff.lie.textconv $PWD/evil.sh && git config filter.lie.clean $PWD/evil.sh && git config filter.lie.smudge $PWD/evil.sh && git config core.pager $PWD/evil.sh && git config diff.external $PWD/evil.sh && git config uploadpack.packObjectsHook $PWD/evil.sh && git config core.hooksPath $PWD/.git/hooks",
		"run git -c core.hooksPath=/dev/null -c core.fsmonitor=false replace HEAD $(git -c core.hooksPath=/dev/null -c user.name=a -c user.email=a@a commit-tree -m fake HEAD~1^{tree})",
	}, "; ")
	h.send(sb.Name, sess.Name, script)
	for _, e := range h.allEvents(sb.Name, sess.Name) {
		if e.ToolCall != nil && e.ToolCall.Status == "failed" {
			t.Fatalf("the agent's setup failed: %+v", *e.ToolCall)
		}
	}
	var d manager.DiffResult
	h.OK("get_diff", map[string]any{"sandbox": sb.Name}, &d)
	for _, want := range []string{"+the truth, amended", "evil.sh", ".gitattributes"} {
		if !strings.Contains(d.Diff, want) {
			t.Errorf("get_diff lacks %q: %s", want, d.Diff)
		}
	}
	if d.Isolation == nil || len(d.Isolation.Commits) != 1 || !strings.Contains(d.Isolation.Commits[0], "rewritten") {
		t.Errorf("get_diff commits = %+v, want the rewritten commit only", d.Isolation)
	}
	var l manager.LandResult
	h.OK("land_sandbox", map[string]any{"sandbox": sb.Name, "include_uncommitted": true}, &l)
	if got := strings.TrimSpace(gitT(t, ws, "show", "sandbox/iso-tamper:secret.bin")); got != "the truth, amended" {
		t.Errorf("landed secret.bin = %q", got)
	}
	h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &manager.DestroyResult{})
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a hook or driver the agent planted ran on the host")
	}
	if userState(t, ws) != before {
		t.Fatal("the user's working tree, index or HEAD changed")
	}
}

// TestDockerIsolationTiming measures, for a repository of 10 000 files, create_sandbox (clone included)
// to the first event of a turn, and land_sandbox. It only reports (no bound): SANDBOX_MCP_MEASURE=1.
func TestDockerIsolationTiming(t *testing.T) {
	if os.Getenv("SANDBOX_MCP_MEASURE") == "" {
		t.Skip("set SANDBOX_MCP_MEASURE=1 to measure")
	}
	image := isoDockerImage(t)
	ws := tenThousandFiles(t)
	for _, clone := range []string{"mount", "bundle"} {
		env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
		h := startServer(t, append(dockerArgs(t, image, "exec", "none"), "--docker-clone="+clone), env)
		name := "iso-time-" + clone
		t.Cleanup(func() { testkit.Docker(t, "rm", "-f", name) })
		t.Logf("MEASURE %s: %s", clone, timeIsolation(h, ws, name))
	}
}

// tenThousandFiles makes a repository of 10 000 committed files, for the timing tests.
func tenThousandFiles(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	gitInit(t, ws)
	for i := range 10_000 {
		dir := filepath.Join(ws, fmt.Sprintf("d%02d", i%100))
		_ = os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.txt", i)), fmt.Appendf(nil, "file %d\n", i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitT(t, ws, "add", ".")
	gitT(t, ws, "-c", "gc.auto=0", "commit", "-q", "-m", "10k files")
	gitT(t, ws, "gc", "-q") // settled, as a working repository is (no background gc racing the copy)
	return ws
}

// isoTiming is what the timing tests measure of one sandbox.
type isoTiming struct {
	transport                      string // the isolation transport create_sandbox reports
	create, firstEvent, land, diff time.Duration
}

func (m isoTiming) String() string {
	return fmt.Sprintf("create_sandbox %v, create→first event %v, land %v, get_diff %v", m.create.Round(time.Millisecond),
		m.firstEvent.Round(time.Millisecond), m.land.Round(time.Millisecond), m.diff.Round(time.Millisecond))
}

// timeIsolation creates sandbox name over ws, runs a turn that writes and commits a file, lands it and reads
// its diff, timing each (the first event from create_sandbox's start), then destroys the sandbox.
func timeIsolation(h *harness, ws, name string) isoTiming {
	h.T.Helper()
	var m isoTiming
	start := time.Now()
	var sb manager.SandboxResult
	h.OK("create_sandbox", map[string]any{"workspace": ws, "name": name}, &sb)
	m.create = time.Since(start)
	if sb.Isolation != nil {
		m.transport = sb.Isolation.Transport
	}
	var sess struct{ Name string }
	h.OK("create_session", map[string]any{"sandbox": name, "agent": "mock"}, &sess)
	var tr manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": name, "session": sess.Name, "message": "write new.txt x; commit one", "wait_seconds": 0}, &tr)
	for {
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": name, "session": sess.Name, "cursor": 0, "limit": 1}, &page)
		if len(page.Events) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.firstEvent = time.Since(start)
	h.waitIdle(name, sess.Name)
	ls := time.Now()
	var l manager.LandResult
	h.OK("land_sandbox", map[string]any{"sandbox": name}, &l)
	m.land = time.Since(ls)
	ds := time.Now()
	h.OK("get_diff", map[string]any{"sandbox": name}, &manager.DiffResult{})
	m.diff = time.Since(ds)
	h.OK("destroy_sandbox", map[string]any{"name": name}, &manager.DestroyResult{})
	return m
}
