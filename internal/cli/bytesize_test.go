package cli

import (
	"io"
	"strings"
	"testing"
)

// TestByteSizeFlags: --max-envelope and --max-session-log take sizes with units, from the flag or the
// environment, and a bad value fails the same way from both, naming the variable.
func TestByteSizeFlags(t *testing.T) {
	base := []string{"--state-dir=/tmp/x"}
	tests := []struct {
		name          string
		args          []string
		env           map[string]string
		envelope, log int64
		err           string
	}{
		{name: "defaults", envelope: 16 << 20, log: 256 << 20},
		{name: "flags with units", args: []string{"--max-envelope=2MiB", "--max-session-log=1g"}, envelope: 2 << 20, log: 1 << 30},
		{name: "plain bytes", args: []string{"--max-envelope=65536"}, envelope: 65536, log: 256 << 20},
		{name: "environment", env: map[string]string{"SANDBOX_MCP_MAX_ENVELOPE": "512KiB", "SANDBOX_MCP_MAX_SESSION_LOG": "64 MB"}, envelope: 512 << 10, log: 64 << 20},
		{name: "flag over environment", args: []string{"--max-session-log=32MiB"}, env: map[string]string{"SANDBOX_MCP_MAX_SESSION_LOG": "64MiB"}, envelope: 16 << 20, log: 32 << 20},
		{name: "bad flag", args: []string{"--max-envelope=lots"}, err: `"lots" is not a size`},
		{name: "bad variable", env: map[string]string{"SANDBOX_MCP_MAX_SESSION_LOG": "-1"}, err: `SANDBOX_MCP_MAX_SESSION_LOG="-1" is not a valid value for --max-session-log: "-1" is not a size`},
		{name: "too small", args: []string{"--max-envelope=100", "--max-session-log=1000"}, err: "--max-envelope 100: use 1KiB to 1GiB\n--max-session-log 1000: use at least 1MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(append(base, tc.args...), func(k string) string { return tc.env[k] }, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || int64(c.maxEnvelope) != tc.envelope || int64(c.maxSessionLog) != tc.log {
				t.Errorf("max-envelope %d, max-session-log %d, %v; want %d, %d", c.maxEnvelope, c.maxSessionLog, err, tc.envelope, tc.log)
			}
		})
	}
}
