package testagent

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestBuildStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatalf("%s has an ELF interpreter: not static", bin)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Fatalf("%s needs shared libraries %v", bin, libs)
		}
	}
	cmd := exec.Command(bin) // stdin is /dev/null: immediate EOF
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent with closed stdin: %v", err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("agent did not exit on EOF")
	}
}

func TestWriteLauncher(t *testing.T) {
	home := t.TempDir()
	if err := WriteLauncher(home, "/opt/my agent/scripted-agent"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, "sandbox-agent", "bin", "agent_processes", "mock-acp")
	if p != LauncherPath(home) {
		t.Fatalf("LauncherPath = %s", LauncherPath(home))
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "#!/bin/sh\nexec '/opt/my agent/scripted-agent' \"$@\"\n"; string(b) != want {
		t.Fatalf("launcher = %q, want %q", b, want)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o755 {
		t.Fatalf("mode = %v", st.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("stray files: %v", entries)
	}
	for _, bad := range []string{"/tmp/it's", "relative/agent", ""} {
		if err := WriteLauncher(home, bad); err == nil || !strings.Contains(err.Error(), "agent binary path") {
			t.Errorf("WriteLauncher(%q) = %v, want error", bad, err)
		}
	}
}
