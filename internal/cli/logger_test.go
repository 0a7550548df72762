package cli

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestUseColor: colour only on a terminal, and NO_COLOR is read through the injected getenv, so a host
// (or a test) that sets it in the server's environment turns colour off even when the process's own
// environment lacks it. /dev/null stands in for a terminal: it is a character device too.
func TestUseColor(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	t.Setenv("NO_COLOR", "") // the process's own environment says nothing
	for _, tc := range []struct {
		name    string
		stderr  io.Writer
		noColor string
		want    bool
	}{
		{"a terminal", devNull, "", true},
		{"a terminal with NO_COLOR from getenv", devNull, "1", false},
		{"not a file", &bytes.Buffer{}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "NO_COLOR" {
					return tc.noColor
				}
				return ""
			}
			if got := useColor(tc.stderr, getenv); got != tc.want {
				t.Errorf("useColor = %v, want %v", got, tc.want)
			}
		})
	}
}
