package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testenv"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// TestDockerNoSecretInArgv: on a real engine, while a turn runs, no process on the host (container
// processes included: /proc shows them to every local user) holds the sandbox's token or an API key in its
// argv, over the relay transports. The scan reads every /proc/*/cmdline, not only the ones it expects, and
// proves it can see the container's processes (sandbox-agent, the relay) so that it cannot pass blind.
func TestDockerNoSecretInArgv(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	image := testenv.Docker(t)
	for _, tc := range []struct{ name, transport, network string }{
		{"socket", "socket", "none"},
		{"port", "port", "host"}, // host networking (opted in): the only way to run the port transport in CI
	} {
		t.Run(tc.name, func(t *testing.T) {
			canary := "sk-ant-canary-" + randomHex(t)
			env := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": t.TempDir(),
				"ANTHROPIC_API_KEY": canary}
			args := dockerArgs(t, image, tc.transport, tc.network)
			stateDir := ""
			for _, a := range args {
				if v, ok := strings.CutPrefix(a, "--state-dir="); ok {
					stateDir = v
				}
			}
			h := startServer(t, args, env)
			scan := &argvScan{secrets: map[string]string{"the API key": canary}}
			scan.watch(5*time.Millisecond, scan.look)
			defer scan.stop()

			var sb manager.SandboxResult
			h.OK("create_sandbox", map[string]any{"workspace": t.TempDir()}, &sb)
			if tc.transport == "port" {
				token, err := os.ReadFile(filepath.Join(stateDir, "docker", sb.Name+".token"))
				if err != nil || len(bytes.TrimSpace(token)) != 64 {
					t.Fatalf("token file: %q, %v", token, err)
				}
				scan.add("the sandbox-agent token", string(bytes.TrimSpace(token)))
			}
			var sess manager.SessionResult
			h.OK("create_session", map[string]any{"sandbox": sb.Name, "agent": "mock"}, &sess)
			var turn manager.TurnResult
			h.OK("send_message", map[string]any{"sandbox": sb.Name, "session": sess.Name,
				"message": "echo-env ANTHROPIC_API_KEY; sleep 300; say done"}, &turn)
			var got []events.Event
			waitStatus(t, h, sb.Name, sess.Name, turn.Cursor, &got, events.StatusIdle)
			scan.stop()
			var d manager.DestroyResult
			h.OK("destroy_sandbox", map[string]any{"name": sb.Name}, &d)

			scan.mu.Lock()
			defer scan.mu.Unlock()
			for _, l := range scan.leaks {
				t.Errorf("a secret is in a process's argv: %s", l)
			}
			if scan.agents == 0 || scan.relays == 0 {
				t.Errorf("the scan saw %d sandbox-agent and %d relay processes: it cannot see the container's processes, so it proves nothing",
					scan.agents, scan.relays)
			}
			t.Logf("%d process argvs scanned over %d passes (sandbox-agent seen %d times, the relay %d); %d secrets checked, %d found in an argv",
				scan.procs, scan.passes, scan.agents, scan.relays, len(scan.secrets), len(scan.leaks))
		})
	}
}

// argvScan reads every process's argv on the host until stop, looking for the secrets.
type argvScan struct {
	procWatch
	secrets        map[string]string // what → value
	procs          int
	agents, relays int
	leaks          []string
}

func (s *argvScan) add(what, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[what] = value
	s.forgetLocked() // check every process again for the new secret
}

// look checks one process's argv; each is checked once (for the secrets known by then).
func (s *argvScan) look(pid string, cmdline []byte) bool {
	s.procs++
	line := strings.Join(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), " ")
	if strings.Contains(line, "sandbox-agent server") {
		s.agents++
	}
	if strings.Contains(line, "/opt/sandbox-mcp/relay relay ") {
		s.relays++
	}
	for what, v := range s.secrets {
		if strings.Contains(line, v) {
			s.leaks = append(s.leaks, what+" in pid "+pid+": "+strings.ReplaceAll(line, v, "<"+what+">"))
		}
	}
	return true
}
