package manager

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestBlockedError: sbx's proxy's 403 "Blocked by network policy" during an agent install becomes one line
// naming the host and the command that allows it; other errors, and backends without a policy, are kept.
func TestBlockedError(t *testing.T) {
	sbx := sandbox.NewSbx(nil, sandbox.SbxOptions{})
	docker := sandbox.NewDocker(nil, sandbox.DockerOptions{})
	blocked := errors.New(`start the claude agent: sandbox-agent: install_failed: download https://cdn.agentclientprotocol.com/registry/v1/claude.json: HTTP 403 Forbidden: Blocked by network policy`)
	installFailed := &acp.ProblemError{Status: 500, Type: "urn:sandbox-agent:error:install_failed", Detail: "install failed: amp"}
	installFailed.Details.Stderr = "download failed: https://cdn.agentclientprotocol.com/registry/v1/latest/registry.json"
	for _, tc := range []struct {
		name string
		b    sandbox.Backend
		err  error
		want []string // substrings; nil: the error is returned unchanged
	}{
		{"blocked host named", sbx, blocked, []string{"cdn.agentclientprotocol.com", "sbx policy allow network sb1 cdn.agentclientprotocol.com", "then try again"}},
		{"blocked, no URL", sbx, errors.New("HTTP 403: Blocked by network policy"), []string{"sbx policy allow network sb1 HOST"}},
		{"other error", sbx, errors.New("connection refused"), nil},
		{"no policy on docker", docker, blocked, nil},
		// sandbox-agent 0.4.2 says only "download failed: URL"; when sbx cannot tell whether its policy
		// blocks the host (here: no CLI at all), the error is kept as it is.
		{"install failure, policy unknown", sbx, installFailed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := blockedError(context.Background(), tc.b, "sb1", "claude", tc.err)
			if tc.want == nil {
				if got != tc.err {
					t.Fatalf("got %v, want the error unchanged", got)
				}
				return
			}
			msg := got.Error()
			if strings.Contains(msg, "\n") || !errors.Is(got, sandbox.ErrInvalid) {
				t.Errorf("not one line or not ErrInvalid: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
}
