package e2e

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

// TestDockerTemplateNotAllowedIsNotPulled: on a real engine with pulls on (--docker-pull), an image the
// caller names that is not on the operator's allowlist is refused without any pull: the "registry" (a
// listener on loopback) sees no connection. Allowed by --allowed-templates, the same call does reach it,
// which shows the listener would have seen a pull.
func TestDockerTemplateNotAllowedIsNotPulled(t *testing.T) {
	image := testenv.Docker(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	ref := "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "/evil/agent:1"
	env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir()}
	args := append(dockerArgs(t, image, "exec", "none"), "--docker-pull")

	h := startServer(t, args, env)
	got := h.Fails("create_sandbox", map[string]any{"workspace": t.TempDir(), "template": ref})
	if !strings.Contains(got, "pulls only the images the operator allowed") || strings.Contains(got, "\n") {
		t.Errorf("create_sandbox with a foreign image = %q; want one line saying it is not allowed to be pulled", got)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the registry saw %d connection(s): the image not allowed was pulled", n)
	}

	allowed := startServer(t, append(dockerArgs(t, image, "exec", "none"), "--docker-pull", "--allowed-templates=127.0.0.1:*/evil/*"), env)
	got = allowed.Fails("create_sandbox", map[string]any{"workspace": t.TempDir(), "template": ref})
	for deadline := time.Now().Add(5 * time.Second); conns.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if conns.Load() == 0 {
		t.Errorf("allowed, the pull never reached the registry (%q): the check above proves nothing", got)
	}
	t.Logf("not allowed: %q; allowed: the registry saw %d connection(s), then %q", "refused, 0 connections", conns.Load(), got)
}
