package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// needCloneRoot: the sbx double's --clone runs each sandbox in a private mount namespace, which needs root
// (testenv.NeedRoot), and git.
func needCloneRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t, "the sbx double's --clone makes a private mount namespace")
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "install git")
	}
}

// fakeWorkspaces reads what the double mounted for a sandbox (its meta.json).
func fakeWorkspaces(t *testing.T, env map[string]string, prog, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env["FAKECLI_ROOT"], prog, name, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Workspaces []string }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Workspaces
}

// TestCLIIsolationConversation: the whole isolated conversation on the Docker Sandboxes CLIs' double:
// create (clone mode by default for a repository), a turn where the scripted agent writes and commits,
// get_diff, a failing and a passing check, land_sandbox, destroy refusing unlanded work, destroy. On sbx
// 0.31+ through sbx --clone (the agent's clone at the workspace's path, its commits fetched from the
// sandbox-<name> git:// remote); on older sbx and on the docker-sandbox plugin through the bundle path,
// with nothing of the user's mounted. The user's working tree, index and HEAD never change; the branch
// lands with exactly the agent's change.
func TestCLIIsolationConversation(t *testing.T) {
	for _, tc := range []struct{ name, backend, version, transport string }{
		{"sbx", "sbx", "", "sbx"},
		{"sbx030", "sbx", "0.30.0", "bundle"},
		{"plugin", "docker-sandbox", "", "bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.transport == "sbx" {
				needCloneRoot(t)
			} else if _, err := exec.LookPath("git"); err != nil {
				testenv.Missing(t, "git", "install git")
			}
			env, bin := testkit.FakeEnv(t)
			if tc.version != "" {
				env["FAKECLI_SBX_VERSION"] = tc.version
			}
			h := startServer(t, testkit.SandboxArgs(t, tc.backend, bin), env)
			prog := map[string]string{"sbx": "sbx", "docker-sandbox": "docker"}[tc.backend]
			ws := isoRepo(t)
			config, _ := os.ReadFile(filepath.Join(ws, ".git", "config"))
			// sbx --clone adds the sandbox-<name> remote to the user's configuration (documented); the rest
			// must not change.
			before := userState(t, ws, ".git/config")
			base := strings.TrimSpace(gitT(t, ws, "rev-parse", "HEAD"))
			name := "iso-" + tc.name

			var sb manager.SandboxResult
			h.OK("create_sandbox", map[string]any{"workspace": ws, "name": name}, &sb)
			if i := sb.Isolation; i == nil || i.Mode != "clone" || i.Transport != tc.transport || i.Branch != "sandbox/"+name || i.Base != base ||
				!strings.Contains(i.Note, "1 uncommitted file(s) in your folder were not included") {
				t.Fatalf("create_sandbox isolation = %+v", sb.Isolation)
			}
			mounted := fakeWorkspaces(t, env, prog, name)
			url, _ := exec.Command("git", "-C", ws, "config", "--get", "remote.sandbox-"+name+".url").Output()
			switch tc.transport {
			case "sbx":
				if !strings.HasPrefix(string(url), "git://127.0.0.1:") {
					t.Fatalf("sbx --clone left remote sandbox-%s = %q", name, url)
				}
			case "bundle":
				if slices.Contains(mounted, ws) || len(mounted) != 1 || !strings.HasPrefix(mounted[0], h.State) {
					t.Fatalf("the bundle path mounted %q; want one empty server-owned folder, nothing of the user's", mounted)
				}
				if len(url) != 0 {
					t.Fatalf("the bundle path has a remote %q", url)
				}
			}

			var sess struct{ Name string }
			h.OK("create_session", map[string]any{"sandbox": name, "agent": "mock"}, &sess)
			h.send(name, sess.Name, "write new.txt from "+name+"; run grep -q uncommitted README.md && echo leak > LEAK || true; commit add new")
			if _, err := os.Stat(filepath.Join(ws, "new.txt")); err == nil {
				t.Fatal("the agent's new.txt is in the user's folder")
			}
			var d manager.DiffResult
			h.OK("get_diff", map[string]any{"sandbox": name}, &d)
			if d.Isolation == nil || !slices.Equal(d.Isolation.Files, []string{"A\tnew.txt"}) || len(d.Isolation.Commits) != 1 ||
				d.Isolation.Uncommitted || !strings.Contains(d.Diff, "+from "+name) {
				t.Fatalf("get_diff = %+v", d)
			}
			if got := h.Fails("land_sandbox", map[string]any{"sandbox": name, "check": "test -f nonexistent.txt"}); !strings.Contains(got, "nothing was landed") {
				t.Errorf("land with a failing check = %q", got)
			}
			var l manager.LandResult
			h.OK("land_sandbox", map[string]any{"sandbox": name, "check": "test -f new.txt"}, &l)
			if l.Branch != "sandbox/"+name || l.Commits != 1 || l.AlreadyLanded {
				t.Errorf("land = %+v", l)
			}
			if files := strings.TrimSpace(gitT(t, ws, "diff", "--name-only", base, "sandbox/"+name)); files != "new.txt" {
				t.Errorf("branch sandbox/%s brings %q, want exactly new.txt", name, files)
			}
			if got := strings.TrimSpace(gitT(t, ws, "show", "sandbox/"+name+":new.txt")); got != "from "+name {
				t.Errorf("landed new.txt = %q", got)
			}
			if userState(t, ws, ".git/config") != before {
				t.Fatal("the user's working tree, index or HEAD changed")
			}

			h.send(name, sess.Name, "write more.txt more; commit more")
			if got := h.Fails("destroy_sandbox", map[string]any{"name": name}); !strings.Contains(got, "not landed") || strings.Contains(got, "\n") {
				t.Errorf("destroy with unlanded work = %q", got)
			}
			var dr manager.DestroyResult
			h.OK("destroy_sandbox", map[string]any{"name": name, "land_to": "keep/" + name}, &dr)
			if files := strings.TrimSpace(gitT(t, ws, "diff", "--name-only", base, "keep/"+name)); dr.Landed == nil || files != "more.txt\nnew.txt" {
				t.Errorf("destroy land_to = %+v; branch brings %q", dr.Landed, files)
			}
			if userState(t, ws, ".git/config") != before {
				t.Fatal("the user's working tree, index or HEAD changed")
			}
			if after, _ := os.ReadFile(filepath.Join(ws, ".git", "config")); string(after) != string(config) {
				t.Errorf("the user's .git/config differs after destroy:\n%s\nwas:\n%s", after, config)
			}
		})
	}
}

// TestSbxIsolationTiming measures, on the sbx double and a repository of 10 000 files, create_sandbox
// (clone included) to the first event of a turn, and land_sandbox, for sbx --clone and for the bundle path
// (sbx 0.30). It only reports: SANDBOX_MCP_MEASURE=1.
func TestSbxIsolationTiming(t *testing.T) {
	if os.Getenv("SANDBOX_MCP_MEASURE") == "" {
		t.Skip("set SANDBOX_MCP_MEASURE=1 to measure")
	}
	needCloneRoot(t)
	ws := tenThousandFiles(t)
	for _, tc := range []struct{ name, version string }{{"sbx-clone", ""}, {"sbx-bundle", "0.30.0"}} {
		env, bin := testkit.FakeEnv(t)
		if tc.version != "" {
			env["FAKECLI_SBX_VERSION"] = tc.version
		}
		h := startServer(t, testkit.SandboxArgs(t, "sbx", bin), env)
		m := timeIsolation(h, ws, "iso-time-"+tc.name)
		t.Logf("MEASURE %s (%s): %s", tc.name, m.transport, m)
	}
}
