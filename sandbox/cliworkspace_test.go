package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIWorkspaceSyntax: both CLIs parse PATH[:ro] and join ls workspaces with ", ", so a workspace
// string they would read as another folder (or a mount option) is refused before any command runs; a
// read-only overlay becomes an extra workspace with the documented :ro suffix.
func TestCLIWorkspaceSyntax(t *testing.T) {
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	git := filepath.Join(ws, ".git")
	gitFile := filepath.Join(ws, "sub", ".git")
	if err := os.MkdirAll(git, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(gitFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gitFile, []byte("gitdir: /elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range dialects {
		for _, spec := range []Spec{
			{Workspace: "/w/proj:ro"},
			{Workspace: "/w/proj:readonly"},
			{Workspace: "/w/a:b"},
			{Workspace: "/w/a, /etc"},
			{Workspace: "/w/a\n"},
			{Workspace: "/w/../etc"},
			{Workspace: ws, ReadOnly: []string{filepath.Join(ws, "x:rw")}},
			{Workspace: ws, ReadOnly: []string{gitFile}},      // a file cannot be an extra workspace
			{Workspace: ws, ReadOnly: []string{"/elsewhere"}}, // not inside the workspace
		} {
			spec.Name = "box1"
			r := newFakeRunner(t) // no command may run
			if _, err := d.new(r).Create(t.Context(), spec); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: Create(%q, ro %q) = %v, want ErrInvalid", d.name, spec.Workspace, spec.ReadOnly, err)
			}
		}
		t.Run(d.name+"/overlay", func(t *testing.T) {
			pull := map[string]string{"sbx": "--pull", "docker-sandbox": "--pull-template"}[d.name]
			r := newFakeRunner(t,
				expect{args: d.argv("create", "--name", "box1", pull, "missing", "claude", ws, git+":ro")},
				expect{args: d.argv("ls", "--json"), res: out(`{"vms":[{"name":"box1","status":"running","workspaces":["` + ws + `"]}]}`)})
			if _, err := d.new(r).Create(t.Context(), Spec{Name: "box1", Workspace: ws, ReadOnly: []string{git}}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := (&cli{d: dialect{name: "sbx"}}).checkWorkspaces(Spec{Workspace: "/w/x:ro"}); err == nil || !strings.Contains(err.Error(), "mount syntax") {
		t.Errorf("error %v does not say why", err)
	}
}
