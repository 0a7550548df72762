package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// BenchmarkDockerSandbox: the Docker backend's sandbox lifecycle through the tools, create_sandbox (it
// returns once sandbox-agent answers its health check) and destroy_sandbox, against the docker commands
// that do the same by hand:
//
//   - exec (--network none): `docker run -d … sleep infinity`, `docker exec -d … sandbox-agent server`, then
//     `docker exec … curl /v1/health` until it answers; `docker rm -f`;
//   - port (--network host): `docker run -d … sandbox-agent server` on a free loopback port, then GET
//     /v1/health every 5 ms until it answers; `docker rm -f`.
//
// ns/op and raw-ns/op are create → healthy; destroy-ms and raw-destroy-ms the removal.
func BenchmarkDockerSandbox(b *testing.B) {
	for _, tc := range []struct{ transport, network string }{{"exec", "none"}, {"socket", "none"}, {"port", "host"}} {
		b.Run(tc.transport, func(b *testing.B) {
			image := testenv.Docker(b)
			e := dockerServer(b, tc.transport, tc.network)
			var create, destroy, rawCreate, rawDestroy time.Duration
			n := 0
			for b.Loop() {
				ws := b.TempDir()
				t0 := time.Now()
				var sb manager.SandboxResult
				e.call(b, "create_sandbox", map[string]any{"workspace": ws}, &sb)
				t1 := time.Now()
				var d manager.DestroyResult
				e.call(b, "destroy_sandbox", map[string]any{"name": sb.Name}, &d)
				t2 := time.Now()
				if !d.Destroyed {
					b.Fatalf("destroy_sandbox: %+v", d)
				}
				rc, rd := rawLifecycle(b, image, tc.network, b.TempDir())
				create, destroy = create+t1.Sub(t0), destroy+t2.Sub(t1)
				rawCreate, rawDestroy = rawCreate+rc, rawDestroy+rd
				n++
			}
			report(b, create, rawCreate, n)
			b.ReportMetric(float64(destroy.Microseconds())/1000/float64(n), "destroy-ms/op")
			b.ReportMetric(float64(rawDestroy.Microseconds())/1000/float64(n), "raw-destroy-ms/op")
		})
	}
}

// rawLifecycle creates a container running sandbox-agent by hand, waits for its health check, removes it,
// and returns the two times.
func rawLifecycle(b *testing.B, image, network, ws string) (create, destroy time.Duration) {
	b.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "bench-raw-" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	docker := func(args ...string) error {
		if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("docker %v: %v: %s", args, err, out)
		}
		return nil
	}
	b.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "--", name).Run() })
	run := []string{"run", "-d", "--init", "--name", name, "--network", network, "--cpus", "1",
		"--mount", "type=bind,source=" + ws + ",target=" + ws, "-w", ws}
	t0 := time.Now()
	if network == "none" {
		if err := docker(append(run, "--entrypoint", "sleep", image, "infinity")...); err != nil {
			b.Fatal(err)
		}
		if err := docker("exec", "-d", name, "sandbox-agent", "server", "--no-token", "--no-telemetry", "-H", "127.0.0.1", "-p", strconv.Itoa(agentPort)); err != nil {
			b.Fatal(err)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(agentPort) + "/v1/health"
		for docker("exec", name, "curl", "-sf", "--max-time", "2", url) != nil {
			if ctx.Err() != nil {
				b.Fatal("raw sandbox-agent never became healthy")
			}
		}
	} else {
		port := testenv.FreePort(b)
		if err := docker(append(run, "--entrypoint", "sandbox-agent", image, "server", "--no-token", "--no-telemetry",
			"-H", "127.0.0.1", "-p", strconv.Itoa(port))...); err != nil {
			b.Fatal(err)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/health"
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if ctx.Err() != nil {
				b.Fatal("raw sandbox-agent never became healthy")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t1 := time.Now()
	if err := docker("rm", "-f", "--", name); err != nil {
		b.Fatal(err)
	}
	return t1.Sub(t0), time.Since(t1)
}
