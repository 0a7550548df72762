package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckMountSource: a bind source passes only while every component is what was checked.
func TestCheckMountSource(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(base, "a", "project")
	if err := os.MkdirAll(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "a"), filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{ws, ""},
		{filepath.Join(base, "link", "project"), "is now a symlink"},
		{filepath.Join(base, "gone"), "no longer exists"},
		{"relative", "not a clean absolute path"},
		{ws + "/../project", "not a clean absolute path"},
	} {
		err := CheckMountSource(tc.path)
		if (err == nil) != (tc.want == "") || (err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid))) {
			t.Errorf("CheckMountSource(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestDockerReadOnlyOverlay: the workspace's .git goes over the read-write workspace mount, read-only, at
// the same path; an overlay outside the workspace or through a symlink is refused.
func TestDockerReadOnlyOverlay(t *testing.T) {
	ws, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	git := filepath.Join(ws, ".git")
	if err := os.Mkdir(git, 0o700); err != nil {
		t.Fatal(err)
	}
	d := NewDocker(nil, DockerOptions{})
	cmd, _, err := d.runCmd(Spec{Name: "sb1", Workspace: ws, ReadOnly: []string{git}}, "img:1")
	if err != nil {
		t.Fatal(err)
	}
	rw := slices.Index(cmd.Args, "type=bind,source="+ws+",target="+ws)
	ro := slices.Index(cmd.Args, "type=bind,source="+git+",target="+git+",readonly")
	if rw < 0 || ro < rw {
		t.Errorf("argv %q: want the workspace mount, then its .git read-only over it", cmd.Args)
	}
	if err := os.Symlink(git, filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(ws), filepath.Join(ws, "link"), filepath.Join(ws, "missing"), git + ",readonly=false"} {
		if _, err := d.Create(t.Context(), Spec{Name: "sb1", Workspace: ws, ReadOnly: []string{p}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create with read-only %s = %v, want ErrInvalid before anything runs", p, err)
		} else if !strings.Contains(err.Error(), strings.TrimPrefix(p, filepath.Dir(p)+"/")[:4]) {
			t.Errorf("Create with read-only %s = %v, want the error to name the path", p, err)
		}
	}
}

// TestDockerEngineStartRecheck: Docker resolves the bind source again when a stopped container starts.
// A path component swapped for a symlink between creation and a later start (here while the container is
// stopped, as after an idle stop) makes the start fail, and the container stays stopped.
func TestDockerEngineStartRecheck(t *testing.T) {
	image := dockerTestEngine(t)
	d := dockerTestBackend(t, image, DockerOptions{Network: "none"})
	name := dockerTestName(t)
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(base, "a", "project")
	decoy := filepath.Join(base, "decoy", "project")
	for _, dir := range []string{ws, decoy} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(decoy, "secret"), []byte("not for the sandbox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := d.Create(ctx, Spec{Name: name, Workspace: ws}); err != nil {
		t.Fatal(err)
	}
	dockerCLI(t, "stop", "-t", "1", "--", name)
	// Unchanged: the next exec starts it again.
	if _, err := d.Exec(ctx, name, ExecSpec{Args: []string{"true"}}); err != nil {
		t.Fatalf("exec after a stop, workspace unchanged: %v", err)
	}
	dockerCLI(t, "stop", "-t", "1", "--", name)
	if err := os.Rename(filepath.Join(base, "a"), filepath.Join(base, "a-moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "decoy"), filepath.Join(base, "a")); err != nil {
		t.Fatal(err)
	}
	_, err = d.Exec(ctx, name, ExecSpec{Args: []string{"cat", filepath.Join(ws, "secret")}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is now a symlink") {
		t.Errorf("exec after swapping a component for a symlink = %v, want the start refused", err)
	}
	if st := strings.TrimSpace(dockerCLI(t, "inspect", "--format", "{{.State.Running}}", "--", name)); st != "false" {
		t.Errorf("container running = %s after the refused start, want false", st)
	}
}
