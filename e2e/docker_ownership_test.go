package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestDockerIDPrefixIsNotOurs, on the real engine: `docker inspect NAME` also matches a container whose id
// starts with NAME. A container labelled as ours, named otherwise, must not be found, removed or stopped
// under a sandbox name that happens to be a prefix of its id; and a hex-only name is refused at creation.
func TestDockerIDPrefixIsNotOurs(t *testing.T) {
	image := testenv.Docker(t)
	suffix := make([]byte, 3)
	rand.Read(suffix)
	other := "transport-idprefix-" + hex.EncodeToString(suffix)
	testkit.Docker(t, "run", "-d", "--init", "--pull", "never", "--network", "none", "--name", other,
		"--label", "org.sandbox-mcp.managed=true", "--label", "org.sandbox-mcp.created=2000-01-01T00:00:00Z",
		"--entrypoint", "sleep", image, "infinity")
	t.Cleanup(func() { testkit.Docker(t, "rm", "-f", other) })
	id := testkit.Docker(t, "inspect", "--format", "{{.Id}}", other)
	prefix := id[:12]
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	h := startServer(t, dockerArgs(t, image, "exec", "none"), env)

	var d manager.DestroyResult
	h.OK("destroy_sandbox", map[string]any{"name": prefix}, &d)
	if d.Destroyed || !d.AlreadyGone {
		t.Errorf("destroy_sandbox %s = %+v; want nothing found", prefix, d)
	}
	if got := testkit.Docker(t, "inspect", "--format", "{{.State.Running}}", other); got != "true" {
		t.Fatalf("the container whose id starts with %s was touched: running=%s", prefix, got)
	}
	got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir(), "name": prefix})
	if !strings.Contains(got, "hex digits only") {
		t.Errorf("create_sandbox named %s = %q; want the hex-only name refused", prefix, got)
	}
}
