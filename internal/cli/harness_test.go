package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakecli"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
)

func TestMain(m *testing.M) {
	fakecli.Dispatch() // this test binary doubles as the sbx and docker CLIs
	os.Exit(m.Run())
}

// harness runs the real server (run) in-process over pipes, with a real MCP client on the other end: the
// stdio framing, the worker pool and the handlers are all the production ones.
type harness struct {
	t      *testing.T
	client *client.Client
	env    map[string]string
	calls  map[string][]time.Duration
	state  string // the server's --state-dir
}

// serverID reads a session's sandbox-agent server id from the server's state: unique per session, it
// picks out that session's processes on this machine.
func (h *harness) serverID(sandbox, session string) string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.state, "sessions", sandbox, session+".json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var rec struct {
		ServerID string `json:"server_id"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || rec.ServerID == "" {
		h.t.Fatalf("session record %s/%s: %v", sandbox, session, err)
	}
	return rec.ServerID
}

// startServer starts run with args and an environment made of env only (nothing leaks from the test's).
func startServer(t *testing.T, args []string, env map[string]string) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		err := Run(ctx, args, getenv, inR, outW, testWriter{t})
		outW.Close()
		done <- err
	}()
	c := client.NewClient(transport.NewIO(outR, inW, nil))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	ictx, icancel := context.WithTimeout(ctx, 10*time.Second)
	defer icancel()
	if _, err := c.Initialize(ictx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	h := &harness{t: t, client: c, env: env, calls: map[string][]time.Duration{}}
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--state-dir="); ok {
			h.state = v
		}
	}
	t.Cleanup(func() {
		_ = c.Close()
		inW.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("server did not stop within 20 s")
		}
		for name, ds := range h.calls {
			var total time.Duration
			for _, d := range ds {
				total += d
			}
			t.Logf("%s: %d calls, mean %v", name, len(ds), total/time.Duration(len(ds)))
		}
	})
	return h
}

// testWriter sends the server's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// call invokes a tool and returns its result; a protocol error fails the test.
func (h *harness) call(name string, args map[string]any) *mcp.CallToolResult {
	h.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	res, err := h.client.CallTool(ctx, req)
	h.calls[name] = append(h.calls[name], time.Since(start))
	if err != nil {
		h.t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content into out.
func (h *harness) ok(name string, args map[string]any, out any) {
	h.t.Helper()
	res := h.call(name, args)
	if res.IsError {
		h.t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		h.t.Fatalf("%s: decode %s: %v", name, b, err)
	}
}

// fails calls a tool that must return an error result, and returns its text.
func (h *harness) fails(name string, args map[string]any) string {
	h.t.Helper()
	res := h.call(name, args)
	if !res.IsError {
		h.t.Fatalf("%s(%v) succeeded, want an error result: %s", name, args, text(res))
	}
	return text(res)
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// fakeEnv prepares the sandbox CLI test double: a bin dir with the fake sbx and docker, its state root,
// and a template with the real sandbox-agent and the scripted agent. It returns the environment for run
// and the path of the fake binaries.
func fakeEnv(t *testing.T) (env map[string]string, bin string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fakecli.Install(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}
	templates := filepath.Join(dir, "templates")
	testenv.SandboxTemplate(t, templates, "sandbox-mcp/test:latest", true)
	testenv.SandboxTemplate(t, templates, "sandbox-mcp/no-agent:latest", false)
	env = map[string]string{
		"PATH":              bin + ":" + os.Getenv("PATH"),
		"HOME":              filepath.Join(dir, "home"),
		"FAKECLI_ROOT":      filepath.Join(dir, "fakecli"),
		"FAKECLI_TEMPLATES": templates,
		// sbx stops a sandbox ~30 s after its last exec session (docs/upstream/sbx-cli.json "exec"): scaled
		// down, so every test runs with sandboxes that stop whenever nothing holds them.
		"FAKECLI_AUTOSTOP": "500ms",
	}
	return env, bin
}

// sandboxArgs are the server flags for a backend of the test double.
func sandboxArgs(t *testing.T, backend, bin string) []string {
	cli := "--sbx-bin=" + filepath.Join(bin, "sbx")
	if backend == "docker-sandbox" {
		cli = "--docker-bin=" + filepath.Join(bin, "docker")
	}
	return []string{"--backend=" + backend, cli, "--state-dir=" + t.TempDir(),
		"--template=sandbox-mcp/test:latest", "--cli-env=FAKECLI_ROOT,FAKECLI_TEMPLATES,FAKECLI_AUTOSTOP,FAKECLI_SBX_VERSION,FAKECLI_PLUGIN_VERSION",
		// The double runs every sandbox on this machine's loopback, so each test gets its own port.
		"--agent-port=" + itoa(testenv.FreePort(t)), "--log-level=debug"}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// runFake runs the test double's sbx directly, as a user would behind the server's back.
func runFake(bin string, env map[string]string, args ...string) error {
	cmd := exec.Command(filepath.Join(bin, "sbx"), args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sbx %v: %v: %s", args, err, out)
	}
	return nil
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
