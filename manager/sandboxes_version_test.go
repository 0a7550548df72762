package manager

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentVersionWarning: a sandbox-agent outside 0.4.x is reported (0.5 is announced), 0.4.x is not.
func TestAgentVersionWarning(t *testing.T) {
	for _, tc := range []struct {
		version string
		warn    bool
	}{
		{"0.4.2", false}, {"0.4.0", false}, {"v0.4.9", false}, {"", false},
		{"0.5.0-rc.2", true}, {"0.5.0", true}, {"0.3.1", true}, {"1.0.0", true},
	} {
		got := agentVersionWarning(tc.version)
		if (got != "") != tc.warn {
			t.Errorf("agentVersionWarning(%q) = %q, want a warning: %v", tc.version, got, tc.warn)
		}
		if got != "" && (!strings.Contains(got, tc.version) || strings.Contains(got, "\n")) {
			t.Errorf("agentVersionWarning(%q) = %q: want one line naming the version", tc.version, got)
		}
	}
}

// TestGitControlAbsentMatchesScript: the fingerprint create records from the host for a folder with no .git
// is the one gitControlScript prints for it in a sandbox, so get_diff reports no change when nothing changed.
func TestGitControlAbsentMatchesScript(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("sh", "-c", gitControlScript, "sh", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gitControlOf([]byte("absent\n")), gitControlOf(out); got != want || !strings.HasPrefix(got, "absent:") {
		t.Errorf("host fingerprint %q, script's %q (output %q)", got, want, out)
	}
}
