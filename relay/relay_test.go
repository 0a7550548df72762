package relay

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain: run with RELAY_TEST_AGENT=1, the test binary is the stand-in sandbox-agent of TestRunSocket.
func TestMain(m *testing.M) {
	if os.Getenv("RELAY_TEST_AGENT") == "1" {
		fakeAgent()
		return
	}
	os.Exit(m.Run())
}

// TestHandlerAuth: on TCP the relay wants the bearer token, compares all of it, and never passes the
// Authorization header on to sandbox-agent.
func TestHandlerAuth(t *testing.T) {
	var gotAuth []string
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer agent.Close()
	port, _ := strconv.Atoi(agent.URL[strings.LastIndex(agent.URL, ":")+1:])
	token := strings.Repeat("ab", 32)
	relay := httptest.NewServer(Handler(port, token, nil))
	defer relay.Close()
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer " + strings.Repeat("cd", 32), http.StatusUnauthorized},
		{"a prefix of the token", "Bearer " + token[:10], http.StatusUnauthorized},
		{"query token is not a header", "", http.StatusUnauthorized},
		{"the token", "Bearer " + token, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, relay.URL+"/v1/health?token="+token, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if len(gotAuth) != 1 || gotAuth[0] != "" {
		t.Errorf("sandbox-agent saw Authorization %q; want one request, without it", gotAuth)
	}
}

// TestRunRefusesTCPWithoutToken: a relay on TCP without a token would be sandbox-agent open to every
// local user again.
func TestRunRefusesTCPWithoutToken(t *testing.T) {
	err := Run(t.Context(), Options{Listen: "tcp:127.0.0.1:0", AgentPort: 2468, AgentBin: "/bin/true"}, "short", log.New(io.Discard, "", 0))
	if err == nil || !strings.Contains(err.Error(), "needs a token") {
		t.Errorf("Run = %v; want a refusal", err)
	}
}

// TestRunSocket: the relay on a unix socket starts sandbox-agent (here a stand-in) without a token,
// answers through it, keeps the token out of its environment, and stops it when told to.
func TestRunSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	if err := os.Symlink("/nonexistent", sock); err != nil { // a leftover the relay replaces
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Setenv("RELAY_TEST_AGENT", "1")
	t.Setenv("SANDBOX_MCP_AGENT_TOKEN", "must-not-reach-the-agent")
	os.Unsetenv("SANDBOX_MCP_AGENT_TOKEN") // as Main does before Run
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	exe, _ := os.Executable()
	go func() {
		done <- Run(ctx, Options{Listen: "unix:" + sock, AgentPort: port, AgentBin: exe}, "", log.New(io.Discard, "", 0))
	}()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get("http://sandbox-agent/v1/args")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				body = string(b)
				break
			}
		}
	}
	if want := "server --no-token --no-telemetry -H 127.0.0.1 -p " + strconv.Itoa(port) + " token-env="; body != want {
		t.Errorf("the agent reports %q; want %q", body, want)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v, %v; want a 0600 socket", fi, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v; want nil after a signal", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// fakeAgent stands in for sandbox-agent: it serves its argv and whether it sees the token variable.
func fakeAgent() {
	args := os.Args[1:]
	port := args[len(args)-1]
	http.HandleFunc("/v1/args", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Join(args, " ")+" token-env="+os.Getenv("SANDBOX_MCP_AGENT_TOKEN"))
	})
	err := http.ListenAndServe("127.0.0.1:"+port, nil)
	if !errors.Is(err, http.ErrServerClosed) {
		os.Exit(1)
	}
}
