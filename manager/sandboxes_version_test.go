package manager

import (
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
