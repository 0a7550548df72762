package cli

import (
	"io"
	"strings"
	"testing"
)

// TestConfigHostNetworkNeedsOptIn: --docker-network host puts sandbox-agent on the host's loopback (token-
// less with exec or behind the relay; its token in argv otherwise), so every transport refuses it with one
// line unless --docker-insecure-host-network is given; a remote context changes nothing.
func TestConfigHostNetworkNeedsOptIn(t *testing.T) {
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	base := map[string]string{"HOME": "/home/u"}
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		error string // "" for accepted
	}{
		{"exec on the host network", []string{"--docker-transport=exec", "--docker-network=host"}, base, "--docker-insecure-host-network"},
		{"auto on the host network", []string{"--docker-network=host"}, base, "--docker-insecure-host-network"},
		{"port on the host network", []string{"--docker-transport=port", "--docker-network=host"}, base, "--docker-insecure-host-network"},
		{"socket on the host network", []string{"--docker-transport=socket", "--docker-network=host"}, base, "--docker-insecure-host-network"},
		{"remote context on the host network", []string{"--docker-context=remote", "--docker-network=host"}, base, "--docker-insecure-host-network"},
		{"env variable", nil, map[string]string{"HOME": "/home/u", "SANDBOX_MCP_DOCKER_NETWORK": "host"}, "--docker-insecure-host-network"},
		{"opted in", []string{"--docker-transport=exec", "--docker-network=host", "--docker-insecure-host-network"}, base, ""},
		{"opted in by env", []string{"--docker-network=host"}, map[string]string{"HOME": "/home/u", "SANDBOX_MCP_DOCKER_INSECURE_HOST_NETWORK": "true"}, ""},
		{"none is fine", []string{"--docker-transport=exec", "--docker-network=none"}, base, ""},
		{"socket is a transport", []string{"--docker-transport=socket"}, base, ""},
		{"unknown transport", []string{"--docker-transport=tcp"}, base, "use auto, socket, port or exec"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, getenv(tt.env), io.Discard)
			switch {
			case tt.error == "" && err != nil:
				t.Errorf("parseConfig = %v; want accepted", err)
			case tt.error != "" && (err == nil || !strings.Contains(err.Error(), tt.error)):
				t.Errorf("parseConfig = %v; want an error containing %q", err, tt.error)
			case err != nil && tt.error == "--docker-insecure-host-network" && strings.Contains(err.Error(), "\n"):
				t.Errorf("parseConfig error has several lines: %q", err)
			}
		})
	}
}
