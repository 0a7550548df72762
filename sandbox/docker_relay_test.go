package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestDockerPlan: how auto resolves, and that an explicit relay transport without a usable relay fails
// rather than falling back to anything, while auto falls back to exec (safe) and says why in the log.
func TestDockerPlan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket transport is Linux's")
	}
	own := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	unusable := fmt.Errorf("dynamically linked: %w", ErrInvalid)
	tests := []struct {
		name      string
		opts      DockerOptions
		platform  string // `docker version` output
		relayErr  error
		want      string // transport, or "" for an error
		wantInErr string
		wantLog   string
	}{
		{"auto on a local Linux engine is socket", DockerOptions{Transport: "auto", User: own}, "linux/amd64|", nil, "socket", "", ""},
		{"auto with Docker Desktop is port", DockerOptions{Transport: "auto", User: own}, "linux/arm64|Docker Desktop 4.40.0 (187762)", nil, "port", "", ""},
		{"auto as another user is port", DockerOptions{Transport: "auto", User: "12345:12345"}, "linux/amd64|", nil, "port", "", ""},
		{"auto as another user without a network is exec", DockerOptions{Transport: "auto", User: "12345:12345", Network: "none"}, "linux/amd64|", nil, "exec", "", "port transport a network"},
		{"auto without a usable relay is exec and logged", DockerOptions{Transport: "auto", User: own}, "linux/amd64|", unusable, "exec", "", "dynamically linked"},
		{"port without a usable relay fails", DockerOptions{Transport: "port", User: own}, "linux/amd64|", unusable, "", "needs a relay", ""},
		{"socket without a usable relay fails", DockerOptions{Transport: "socket", User: own}, "linux/amd64|", unusable, "", "needs a relay", ""},
		{"socket as another user fails", DockerOptions{Transport: "socket", User: "12345:12345"}, "linux/amd64|", nil, "", "own uid", ""},
		{"engine down is an error and no fallback", DockerOptions{Transport: "auto", User: own}, "", nil, "", "start Docker", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			tt.opts.Relay, tt.opts.StateDir = dockerTestRelay(t), t.TempDir()
			tt.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			call := dockerCall{args: dargs(dockerVersionProbe), stdout: tt.platform + "\n"}
			if tt.platform == "" {
				call = dockerCall{args: dargs(dockerVersionProbe), code: 1, stderr: dockerDown}
			}
			d := NewDocker(newDockerFake(t, call), tt.opts)
			d.checkRelay = func(string, string, string) error { return tt.relayErr }
			p, err := d.plan(t.Context())
			switch {
			case tt.want == "" && (err == nil || !strings.Contains(err.Error(), tt.wantInErr)):
				t.Errorf("plan = %+v, %v; want an error containing %q", p, err, tt.wantInErr)
			case tt.want != "" && (err != nil || p.transport != tt.want):
				t.Errorf("plan = %+v, %v; want %s", p, err, tt.want)
			case !strings.Contains(logs.String(), tt.wantLog):
				t.Errorf("log = %q; want it to say %q", logs.String(), tt.wantLog)
			case tt.platform == "" && !errors.Is(err, ErrUnavailable):
				t.Errorf("plan error %v is not ErrUnavailable", err)
			}
		})
	}
}
