package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
)

// The tests in this file run the built sandbox-mcp binary as a host would: a real process, a clean
// environment, MCP over its real stdin and stdout. The in-process harness cannot see what only the
// process shows: stray bytes on stdout, the exit status, main's error printing, -ldflags.

// binaryProc is the server running as a child process.
type binaryProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *io.PipeReader  // what the client reads: a copy of the process's stdout
	stdout *syncbuf.Buffer // every byte the process wrote to stdout
	stderr *syncbuf.Buffer
	copied chan struct{} // closed when stdout reached EOF and all of it is in stdout
	exited chan struct{}
	err    error // cmd.Wait's, valid once exited is closed
}

// startBinary starts bin with args and an environment of PATH and a fresh HOME only.
func startBinary(t *testing.T, bin string, args ...string) *binaryProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// stdout goes through our own pipe, not cmd.StdoutPipe: Wait closes that one, possibly before we have
	// read everything, and we must see every byte the process wrote.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &binaryProc{t: t, cmd: cmd, stdin: stdin, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{},
		copied: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pr, pw := io.Pipe()
	p.out = pr
	go func() {
		defer close(p.copied)
		defer r.Close()
		buf := make([]byte, 32<<10)
		forward := true
		for {
			n, err := r.Read(buf)
			if n > 0 {
				p.stdout.Write(buf[:n])
				// Once the client stops reading, keep draining into the record only.
				if forward {
					if _, werr := pw.Write(buf[:n]); werr != nil {
						forward = false
					}
				}
			}
			if err != nil {
				pw.CloseWithError(io.EOF)
				return
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.out.Close()
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill() // only this test's own child, by its handle
			<-p.exited
		}
	})
	return p
}

// wait waits up to d for the process to exit and returns its exit code (-1 if it did not exit in time).
func (p *binaryProc) wait(d time.Duration) int {
	select {
	case <-p.exited:
	case <-time.After(d):
		return -1
	}
	<-p.copied
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// TestBinaryStdio speaks MCP to the real process in both protocol eras: the initialize handshake
// (2025-06-18, what hosts send today) and the stateless core (mcp.LATEST_PROTOCOL_VERSION, reached through
// server/discover).
func TestBinaryStdio(t *testing.T) {
	bin := testenv.ServerBinary(t)
	for _, era := range []struct{ name, version string }{
		{"handshake-2025-06-18", "2025-06-18"},
		{"latest-" + mcp.LATEST_PROTOCOL_VERSION, mcp.LATEST_PROTOCOL_VERSION},
	} {
		t.Run(era.name, func(t *testing.T) {
			p := startBinary(t, bin, "--state-dir", t.TempDir())
			c := client.NewClient(transport.NewIO(p.out, p.stdin, nil))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = era.version
			init.Params.ClientInfo = mcp.Implementation{Name: "binary-test", Version: "1"}
			res, err := c.Initialize(ctx, init)
			if err != nil {
				t.Fatalf("initialize: %v\nstderr:\n%s", err, p.stderr)
			}
			if got := c.ProtocolVersion(); got != era.version || res.ProtocolVersion != era.version {
				t.Errorf("protocol version: client says %q, result %q; want %q", got, res.ProtocolVersion, era.version)
			}
			if res.ServerInfo.Name != "sandbox-mcp" || res.ServerInfo.Version != testenv.ServerVersion {
				t.Errorf("server info = %+v, want sandbox-mcp %s (from -ldflags)", res.ServerInfo, testenv.ServerVersion)
			}
			if res.Capabilities.Tools == nil || res.Capabilities.Prompts == nil {
				t.Errorf("capabilities = %+v, want tools and prompts", res.Capabilities)
			}

			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			testkit.CheckToolSchemas(t, tools.Tools)
			prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
			if err != nil {
				t.Fatalf("prompts/list: %v", err)
			}
			if !slices.ContainsFunc(prompts.Prompts, func(p mcp.Prompt) bool { return p.Name == "delegate_task" && p.Description != "" }) {
				t.Errorf("prompts/list = %+v, want delegate_task with a description", prompts.Prompts)
			}

			// A host ends the server by closing its stdin: it must exit 0, promptly.
			start := time.Now()
			if err := p.stdin.Close(); err != nil {
				t.Fatal(err)
			}
			code := p.wait(5 * time.Second)
			_ = c.Close()
			if code != 0 {
				t.Fatalf("after stdin closed: exit code %d after %v (-1: still running after 5 s); stderr:\n%s", code, time.Since(start).Round(time.Millisecond), p.stderr)
			}
			t.Logf("exited %v after stdin closed", time.Since(start).Round(time.Millisecond))

			// Nothing but JSON-RPC on stdout; the logs are on stderr.
			out := p.stdout.String()
			lines := 0
			for line := range strings.SplitSeq(out, "\n") {
				if line == "" {
					continue
				}
				lines++
				var msg struct {
					JSONRPC string `json:"jsonrpc"`
				}
				if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.JSONRPC != "2.0" {
					t.Errorf("stdout line is not a JSON-RPC 2.0 message: %q", line)
				}
			}
			if lines < 3 || !strings.HasSuffix(out, "\n") {
				t.Errorf("stdout holds %d messages (want ≥ 3: initialize, tools/list, prompts/list), ends with a newline %v", lines, strings.HasSuffix(out, "\n"))
			}
			if errs := p.stderr.String(); !strings.Contains(errs, "serving MCP on stdio") {
				t.Errorf("stderr has no start-up log line:\n%s", errs)
			}
		})
	}
}

// TestBinaryVersionFlag: --version prints "sandbox-mcp <version>" (the -ldflags one) and exits 0, with no
// configuration at all (`env -i PATH=… sandbox-mcp --version`: no HOME, so no default state dir) and
// whatever the SANDBOX_MCP_* variables hold.
func TestBinaryVersionFlag(t *testing.T) {
	bin := testenv.ServerBinary(t)
	for _, env := range [][]string{
		{"PATH=" + os.Getenv("PATH")},
		{"PATH=" + os.Getenv("PATH"), "SANDBOX_MCP_IDLE_TTL=30", "SANDBOX_MCP_BACKEND=nope"},
	} {
		cmd := exec.Command(bin, "--version")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("env %q --version: %v; stderr: %s", env, err, stderr.String())
		}
		if got, want := stdout.String(), "sandbox-mcp "+testenv.ServerVersion+"\n"; got != want {
			t.Errorf("env %q --version printed %q, want %q", env, got, want)
		}
		if stderr.Len() != 0 {
			t.Errorf("env %q --version wrote to stderr: %q", env, stderr.String())
		}
	}
}

// TestBinaryBadFlag: a bad flag value exits non-zero with one line on stderr and nothing on stdout (which
// a host would read as protocol).
func TestBinaryBadFlag(t *testing.T) {
	bin := testenv.ServerBinary(t)
	cmd := exec.Command(bin, "--backend", "nope", "--state-dir", t.TempDir())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("--backend nope: err %v, want a non-zero exit", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") ||
		!strings.HasPrefix(msg, "sandbox-mcp: ") || !strings.Contains(msg, `--backend "nope"`) {
		t.Errorf("stderr = %q, want one line `sandbox-mcp: --backend \"nope\": …`", msg)
	}
}
