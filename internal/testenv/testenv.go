// Package testenv finds and prepares the real components end-to-end tests need: the sandbox-agent 0.4.2
// binary, the scripted ACP agent, templates for the sandbox CLI test double, a Docker Engine and its test
// images. A missing component skips the test locally (saying how to get it) and fails it in CI
// (CI=true), where `scripts/test` must have provided everything.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/testagent"
)

// Missing skips the test, or fails it when running in CI.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing, and CI must not skip: %s", what, how)
	}
	t.Skipf("%s is missing: %s (or run scripts/test, which sets everything up)", what, how)
}

// NeedRoot skips a test that needs root, or fails it in CI, which runs as root and must run it; why says
// what needs root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must run as root: %s", why)
	}
	t.Skipf("needs root: %s", why)
}

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SandboxAgent returns the path of the real sandbox-agent 0.4.2 binary.
func SandboxAgent(t testing.TB) string {
	t.Helper()
	p := os.Getenv("SANDBOX_MCP_TEST_SANDBOX_AGENT")
	if p == "" {
		p = filepath.Join(RepoRoot(), ".cache", "sandbox-agent", "0.4.2", "sandbox-agent")
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		Missing(t, "the sandbox-agent 0.4.2 binary", "run scripts/fetch-sandbox-agent or set SANDBOX_MCP_TEST_SANDBOX_AGENT")
	}
	return p
}

var (
	agentOnce sync.Once
	agentPath string
	agentErr  error
)

// ScriptedAgent builds the scripted ACP agent once per test process and returns its path.
func ScriptedAgent(t testing.TB) string {
	t.Helper()
	agentOnce.Do(func() {
		// One fixed, gitignored place: every test process rebuilds into it (go's build cache makes that
		// quick) instead of leaving a directory per process in /tmp.
		bin := filepath.Join(RepoRoot(), ".cache", "test-bin")
		dir := filepath.Join(bin, "scripted-agent-"+strconv.Itoa(os.Getpid()))
		defer os.RemoveAll(dir)
		if agentErr = os.MkdirAll(dir, 0o755); agentErr != nil {
			return
		}
		built, err := testagent.Build(dir)
		if err != nil {
			agentErr = err
			return
		}
		// Renamed into place: concurrent test processes share one file and never run a half-written one.
		agentPath = filepath.Join(bin, "scripted-agent")
		agentErr = os.Rename(built, agentPath)
	})
	if agentErr != nil {
		t.Fatalf("build scripted agent: %v", agentErr)
	}
	return agentPath
}

// SandboxTemplate writes a template directory for the sandbox CLI test double (internal/fakecli) under
// templates, for the image reference ref: sandbox-agent on the sandbox's PATH and the scripted agent
// installed as sandbox-agent's mock agent (its data dir is under the sandbox's HOME). withAgent=false
// leaves sandbox-agent out, as in a stock template.
func SandboxTemplate(t testing.TB, templates, ref string, withAgent bool) {
	t.Helper()
	dir := filepath.Join(templates, strings.NewReplacer("/", "_", ":", "_").Replace(ref))
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if withAgent {
		// The double's sbx VMs share this host's network; FAKECLI_VM_ADDR is the VM's own address
		// (internal/fakecli/vm.go), which is what listening on 0.0.0.0 inside a VM amounts to.
		wrapper := "#!/bin/sh\n" +
			"if [ -n \"${FAKECLI_VM_ADDR:-}\" ]; then\n" +
			"  prev=\n" +
			"  for a do\n" +
			"    shift\n" +
			"    case $prev in -H|--host) [ \"$a\" = 0.0.0.0 ] && a=$FAKECLI_VM_ADDR ;; esac\n" +
			"    set -- \"$@\" \"$a\"\n" +
			"    prev=$a\n" +
			"  done\n" +
			"fi\n" +
			"exec " + shellQuote(SandboxAgent(t)) + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, "bin", "sandbox-agent"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := testagent.WriteLauncher(filepath.Join(dir, "home", ".local", "share"), ScriptedAgent(t)); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Docker returns the test image when a Docker Engine answers and the image exists.
func Docker(t testing.TB) (image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		Missing(t, "a Docker Engine", "install docker.io and start dockerd (scripts/docker-up)")
	}
	image = os.Getenv("SANDBOX_MCP_TEST_IMAGE")
	if image == "" {
		image = "sandbox-mcp-test:0.4.2"
	}
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", image).Run(); err != nil {
		Missing(t, "the test image "+image, "run scripts/build-test-image")
	}
	return image
}

// rootBuild is one build of the command at the repository root, made once per test process.
type rootBuild struct {
	once sync.Once
	path string
	err  error
}

var relayBuild, serverBuild rootBuild

// ServerVersion is stamped into ServerBinary's build with -ldflags, as release builds stamp theirs.
const ServerVersion = "0.0.0-binarytest"

// ServerBinary builds sandbox-mcp once per test process, stamped with ServerVersion, and returns its path:
// for tests that run the server as a host does, as a child process over its stdin and stdout. Each test
// package gets a file of its own (go test runs packages at once): a build renamed over a binary another
// package's server runs from would turn that server's /proc/self/exe, which the Docker backend mounts
// into containers as the relay, into a deleted file.
func ServerBinary(t testing.TB) string {
	t.Helper()
	name := "sandbox-mcp-" + strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	return buildRoot(t, &serverBuild, name, nil, "-ldflags=-X main.version="+ServerVersion)
}

// Relay builds sandbox-mcp once per test process as a static Linux binary (CGO_ENABLED=0) and returns its
// path, for --docker-relay: the Docker backend's port and socket transports run it in containers as
// `sandbox-mcp relay`, and a test binary (which is what in-process tests run as) cannot be that.
func Relay(t testing.TB) string {
	t.Helper()
	return buildRoot(t, &relayBuild, "sandbox-mcp-relay", []string{"CGO_ENABLED=0", "GOOS=linux"}, "-trimpath", "-buildvcs=false")
}

// buildRoot builds the root command once per test process into .cache/test-bin/name (gitignored), so
// repeated runs overwrite one file instead of leaving a binary per run in /tmp.
func buildRoot(t testing.TB, b *rootBuild, name string, env []string, flags ...string) string {
	t.Helper()
	b.once.Do(func() {
		bin := filepath.Join(RepoRoot(), ".cache", "test-bin")
		if b.err = os.MkdirAll(bin, 0o755); b.err != nil {
			return
		}
		tmp := filepath.Join(bin, name+"-"+strconv.Itoa(os.Getpid()))
		defer os.Remove(tmp) // gone after the rename; left only when the build failed
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", tmp, ".")...)
		cmd.Dir = RepoRoot()
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		// Renamed into place: concurrent test processes share one file and never run a half-written one.
		b.path = filepath.Join(bin, name)
		b.err = os.Rename(tmp, b.path)
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", name, b.err)
	}
	return b.path
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// SandboxAgentTarball returns the npm tarball of sandbox-agent 0.4.2 for linux-x64, which
// scripts/fetch-sandbox-agent keeps beside the binary, for a fake npm registry on 127.0.0.1.
func SandboxAgentTarball(t testing.TB) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(SandboxAgent(t)), "cli-linux-x64-0.4.2.tgz")
	if _, err := os.Stat(p); err != nil {
		Missing(t, "the sandbox-agent 0.4.2 npm tarball", "run scripts/fetch-sandbox-agent (it keeps the tarball beside the binary)")
	}
	return p
}

// ProvisionArgs are the server flags that keep its sandbox-agent provisioning (package provision) off the
// internet in tests: a cache folder holding the test's sandbox-agent binary where the server looks for
// linux/amd64 (so nothing is fetched), and a registry on a closed loopback port, so that a fetch the test
// did not expect fails at once instead of reaching registry.npmjs.org.
func ProvisionArgs(t testing.TB) []string {
	t.Helper()
	cacheOnce.Do(func() {
		cacheDir = filepath.Join(RepoRoot(), ".cache", "test-provision")
		dest := filepath.Join(cacheDir, "sandbox-agent", "0.4.2", "linux-amd64", "sandbox-agent")
		if fi, err := os.Stat(dest); err == nil && fi.Size() > 0 {
			return
		}
		if cacheErr = os.MkdirAll(filepath.Dir(dest), 0o755); cacheErr != nil {
			return
		}
		b, err := os.ReadFile(SandboxAgent(t))
		if err != nil {
			cacheErr = err
			return
		}
		tmp := dest + ".tmp." + strconv.Itoa(os.Getpid())
		if cacheErr = os.WriteFile(tmp, b, 0o755); cacheErr != nil {
			return
		}
		cacheErr = os.Rename(tmp, dest)
	})
	if cacheErr != nil {
		t.Fatalf("seed the sandbox-agent cache: %v", cacheErr)
	}
	return []string{"--cache-dir=" + cacheDir, "--npm-registry=http://127.0.0.1:9"}
}

var (
	cacheOnce sync.Once
	cacheDir  string
	cacheErr  error
)
