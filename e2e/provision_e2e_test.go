package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestStockTemplateProvisioned: on the sbx double and on the legacy plugin's double, a sandbox from the
// agent's stock template, which has no sandbox-agent (as Docker's docker/sandbox-templates:* have none),
// reaches a full turn with a tool call and a permission: the server streamed its cached sandbox-agent in
// (no download: a seeded cache and a dead registry) and started it from there. The sandbox is then stopped
// behind the server's back; the next session starts it and sandbox-agent again from the same copy,
// without streaming it again. With --backend auto (which picks sbx here) the same holds: create_sandbox
// goes through the detecting Lazy, which passes AgentEndpoint and ProvisionAgent on.
//
// The double's VMs run on this host: a real sandbox-agent told to listen on 0.0.0.0 (sbx ≥ 0.37) binds the
// host's 0.0.0.0 for the test's few seconds, with its token; the test template's wrapper maps 0.0.0.0 to the
// VM's own loopback address, which a streamed binary cannot be made to do. One sandbox per test keeps that
// from mattering.
func TestStockTemplateProvisioned(t *testing.T) {
	for _, backend := range []string{"sbx", "docker-sandbox", "auto"} {
		t.Run(backend, func(t *testing.T) {
			env, bin := testkit.FakeEnv(t)
			// What create picks when no --template is given: the stock template of the agent kind (claude).
			testenv.SandboxTemplate(t, env["FAKECLI_TEMPLATES"], "docker/sandbox-templates:claude-code", false)
			args := slices.DeleteFunc(testkit.SandboxArgs(t, backend, bin), func(a string) bool { return strings.HasPrefix(a, "--template=") })
			h := startServer(t, args, env)

			var sb manager.SandboxResult
			h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
			if sb.AgentVersion != "0.4.2" || !hasStep(sb.Setup, "copy of sandbox-agent into the sandbox") {
				t.Fatalf("create_sandbox = %+v, want sandbox-agent 0.4.2 copied in", sb)
			}
			t.Logf("create_sandbox took: %+v", sb.Setup)
			prog := map[string]string{"sbx": "sbx", "docker-sandbox": "docker", "auto": "sbx"}[backend]
			copyPath := filepath.Join(env["FAKECLI_ROOT"], prog, sb.Name, "root", "home", ".local", "bin", "sandbox-agent")
			ino := inode(t, copyPath)
			if n := len(matchProcs(copyPath + " server")); n != 1 {
				t.Errorf("%d sandbox-agent processes run from %s, want 1", n, copyPath)
			}

			var sess manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
			fullTurn(t, h, sb.Name, sess.Name)

			// Stopped behind our back (kills everything in it; the disk stays): the next session starts it again.
			stopFake(t, bin, env, prog, sb.Name)
			var sess2 manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess2)
			if hasStep(sess2.Setup, "copy of sandbox-agent into the sandbox") {
				t.Errorf("create_session copied sandbox-agent again: %+v", sess2.Setup)
			}
			if tr := h.send(sb.Name, sess2.Name, "say again"); tr.FinalText != "again" {
				t.Errorf("turn after the restart = %+v", tr)
			}
			if got := inode(t, copyPath); got != ino {
				t.Errorf("sandbox-agent was streamed in again (inode %d, was %d)", got, ino)
			}
			if n := len(matchProcs(copyPath + " server")); n != 1 {
				t.Errorf("after the restart %d sandbox-agent processes run from %s, want 1", n, copyPath)
			}
			var d manager.DestroyResult
			h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)
			if !d.Destroyed {
				t.Errorf("destroy_sandbox = %+v", d)
			}
		})
	}
}

// fullTurn runs the scripted conversation's turn: text, a tool call, a permission allowed, end of turn.
func fullTurn(t *testing.T, h *harness, sandbox, session string) {
	t.Helper()
	var turn manager.TurnResult
	h.OK("send_message", map[string]any{"sandbox": sandbox, "session": session,
		"message": "say Hello from the sandbox; perm run the tests"}, &turn)
	var got []events.Event
	page := waitStatus(t, h, sandbox, session, turn.Cursor, &got, events.StatusWaitingPermission)
	var perm manager.PermissionResult
	h.OK("respond_permission", map[string]any{"sandbox": sandbox, "session": session,
		"request_id": page.Pending[0].Permission.RequestID, "option": "allow"}, &perm)
	page = waitStatus(t, h, sandbox, session, page.NextCursor, &got, events.StatusIdle)
	s := strings.Join(testkit.Summarize(got), "\n")
	if page.LastStop != "end_turn" || !strings.Contains(s, "agent_message Hello from the sandbox") || !strings.Contains(s, "permission_response allow") {
		t.Errorf("turn: %s", s)
	}
}

func hasStep(steps []manager.Step, what string) bool {
	return slices.ContainsFunc(steps, func(s manager.Step) bool { return s.What == what })
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the provisioned sandbox-agent: %v", err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// stopFake stops a sandbox with the double's CLI, as a user would.
func stopFake(t *testing.T, bin string, env map[string]string, prog, name string) {
	t.Helper()
	argv := []string{filepath.Join(bin, "sbx"), "stop", name}
	if prog == "docker" {
		argv = []string{filepath.Join(bin, "docker"), "sandbox", "stop", name}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
}
