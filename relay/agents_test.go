package relay

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLinkAgents(t *testing.T) {
	shared := t.TempDir()
	t.Run("links the data dir's bin to the shared folder", func(t *testing.T) {
		home := t.TempDir()
		env, note := LinkAgents([]string{"HOME=" + home, "PATH=/bin"}, shared)
		bin := filepath.Join(home, ".local", "share", "sandbox-agent", "bin")
		if target, err := os.Readlink(bin); err != nil || target != shared {
			t.Fatalf("readlink %s = %q, %v", bin, target, err)
		}
		if note != "" || !slices.Contains(env, "HOME="+home) {
			t.Errorf("env %q note %q", env, note)
		}
		// Logs and the rest of the data dir stay writable.
		if err := os.Mkdir(filepath.Join(home, ".local", "share", "sandbox-agent", "logs"), 0o755); err != nil {
			t.Error(err)
		}
		if _, note := LinkAgents([]string{"HOME=" + home}, shared); note != "" {
			t.Errorf("second start: note %q", note)
		}
	})
	t.Run("XDG_DATA_HOME decides", func(t *testing.T) {
		data := t.TempDir()
		LinkAgents([]string{"HOME=" + t.TempDir(), "XDG_DATA_HOME=" + data}, shared)
		if target, _ := os.Readlink(filepath.Join(data, "sandbox-agent", "bin")); target != shared {
			t.Errorf("not linked under XDG_DATA_HOME: %q", target)
		}
	})
	t.Run("an image's own installs are kept", func(t *testing.T) {
		home := t.TempDir()
		own := filepath.Join(home, ".local", "share", "sandbox-agent", "bin", "agent_processes")
		if err := os.MkdirAll(own, 0o755); err != nil {
			t.Fatal(err)
		}
		_, note := LinkAgents([]string{"HOME=" + home}, shared)
		if fi, err := os.Lstat(filepath.Dir(own)); err != nil || fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("the image's bin was replaced")
		}
		if !strings.Contains(note, "own sandbox-agent installs") {
			t.Errorf("note %q", note)
		}
	})
	t.Run("an unwritable HOME falls back", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-such-home")
		env, note := LinkAgents([]string{"HOME=" + missing}, shared)
		t.Cleanup(func() { os.RemoveAll(fallbackHome) })
		if !slices.Contains(env, "HOME="+fallbackHome) || !strings.Contains(note, "not a writable folder") {
			t.Errorf("env %q note %q", env, note)
		}
		if target, _ := os.Readlink(filepath.Join(fallbackHome, ".local", "share", "sandbox-agent", "bin")); target != shared {
			t.Errorf("not linked under the fallback HOME")
		}
	})
}
