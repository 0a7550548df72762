// Package relay is the front of sandbox-agent inside a Docker sandbox: `sandbox-mcp relay`, a hidden
// subcommand of the server's own binary that the Docker backend bind-mounts read-only into the container
// and runs as its main process.
//
// Why it exists: sandbox-agent 0.4.2 takes its token only as an argument (`--token T`; it reads no
// environment variable and no file), and on a Linux host every local user reads every process's argv in
// /proc, those of container processes included. So sandbox-agent runs here with --no-token, bound to the
// container's own loopback, and the relay is the only way in:
//
//   - on a unix socket (--listen unix:PATH) in a host folder only the server's user can enter: no token at
//     all, the file system's permissions are the authentication;
//   - on TCP (--listen tcp:HOST:PORT), only with a bearer token read from the environment variable named by
//     --token-env (passed by name with `docker run -e NAME`, so its value is in no argv), compared in
//     constant time, and removed from the environment sandbox-agent and its agents inherit.
//
// The relay starts sandbox-agent itself and exits when it exits, so the container lives as long as
// sandbox-agent does, as when sandbox-agent was the main process.
package relay

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MinTokenLen is the shortest token the relay accepts: the Docker backend makes 64 hex characters.
const MinTokenLen = 32

// Options is the relay's command line.
type Options struct {
	Listen    string // "unix:/path" or "tcp:host:port"
	AgentPort int    // sandbox-agent's port on 127.0.0.1
	TokenEnv  string // name of the variable holding the bearer token; "" only with a unix socket
	AgentBin  string // sandbox-agent's executable; default "sandbox-agent" on PATH
	// AgentsDir, when set, is the shared, read-only folder of agent installs (the Docker backend's volume):
	// sandbox-agent's bin folder in its data dir is linked to it (LinkAgents).
	AgentsDir string
}

// Main is `sandbox-mcp relay --listen unix:PATH|tcp:HOST:PORT --agent-port N [--token-env NAME]`. It
// returns when sandbox-agent exits or ctx ends (a signal), after stopping sandbox-agent.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	var o Options
	fs := flag.NewFlagSet("sandbox-mcp relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Listen, "listen", "", "unix:PATH or tcp:HOST:PORT")
	fs.IntVar(&o.AgentPort, "agent-port", 2468, "sandbox-agent's port on 127.0.0.1")
	fs.StringVar(&o.TokenEnv, "token-env", "", "name of the environment variable holding the bearer token")
	fs.StringVar(&o.AgentBin, "agent-bin", "sandbox-agent", "sandbox-agent's executable")
	fs.StringVar(&o.AgentsDir, "agents-dir", "", "read-only folder of shared agent installs to link as sandbox-agent's bin folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("relay: unexpected argument %q", fs.Arg(0))
	}
	token := ""
	if o.TokenEnv != "" {
		token = os.Getenv(o.TokenEnv)
		// Not inherited by sandbox-agent, nor by the agents it spawns.
		os.Unsetenv(o.TokenEnv)
	}
	return Run(ctx, o, token, log.New(stderr, "sandbox-mcp relay: ", 0))
}

// Run is the relay with its token given: it listens, starts sandbox-agent and proxies until either ends.
func Run(ctx context.Context, o Options, token string, logger *log.Logger) error {
	network, addr, ok := strings.Cut(o.Listen, ":")
	switch {
	case !ok || addr == "" || (network != "unix" && network != "tcp"):
		return fmt.Errorf("relay: --listen %q: use unix:PATH or tcp:HOST:PORT", o.Listen)
	case network == "tcp" && len(token) < MinTokenLen:
		// A port without a token would be sandbox-agent open to every local user again.
		return fmt.Errorf("relay: --listen tcp needs a token of at least %d characters in the variable named by --token-env", MinTokenLen)
	case o.AgentPort < 1 || o.AgentPort > 65535:
		return fmt.Errorf("relay: --agent-port %d is not a port", o.AgentPort)
	}
	ln, err := listen(network, addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	agent := exec.Command(o.AgentBin, "server", "--no-token", "--no-telemetry", "-H", "127.0.0.1", "-p", strconv.Itoa(o.AgentPort))
	agent.Stdout, agent.Stderr = os.Stdout, os.Stderr
	agent.Env = os.Environ()
	if o.AgentsDir != "" {
		env, note := LinkAgents(os.Environ(), o.AgentsDir)
		agent.Env = env
		if note != "" {
			logger.Print(note)
		}
	}
	agentDone := make(chan error, 1)
	startErr := agent.Start()
	if startErr != nil {
		// Kept running, answering 503: the server's `docker exec sandbox-agent --version` then says
		// clearly that sandbox-agent is missing, instead of meeting a container that keeps exiting.
		logger.Printf("cannot start sandbox-agent: %v", startErr)
	} else {
		go func() { agentDone <- agent.Wait() }()
	}

	srv := &http.Server{Handler: Handler(o.AgentPort, token, startErr), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: logger}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	var result error
	exited := startErr != nil
	select {
	case err := <-agentDone:
		exited = true
		result = fmt.Errorf("relay: sandbox-agent exited: %v", err)
		if err == nil {
			result = nil
		}
	case err := <-serveDone:
		result = fmt.Errorf("relay: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx) // SSE streams never end by themselves: Close below cuts them
	_ = srv.Close()
	if !exited {
		_ = agent.Process.Signal(syscall.SIGTERM)
		select {
		case <-agentDone:
		case <-time.After(5 * time.Second):
			_ = agent.Process.Kill()
			<-agentDone
		}
	}
	if network == "unix" {
		_ = os.Remove(addr)
	}
	return result
}

// listen opens the relay's socket. A unix socket left by an earlier run of the container is replaced
// (only a socket or a symlink: anything else at that path is an error), and the new one is made 0600.
func listen(network, addr string) (net.Listener, error) {
	if network == "unix" {
		if fi, err := os.Lstat(addr); err == nil {
			if fi.Mode()&(fs.ModeSocket|fs.ModeSymlink) == 0 {
				return nil, fmt.Errorf("relay: %s exists and is not a socket", addr)
			}
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("relay: removing the old socket: %w", err)
			}
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if network == "unix" {
		if err := os.Chmod(addr, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("relay: %w", err)
		}
	}
	return ln, nil
}

// Handler authenticates (when token is set) and proxies to sandbox-agent on 127.0.0.1:port, streaming
// responses as they come (SSE). startErr, when set, is answered to every request with a 503.
func Handler(port int, token string, startErr error) http.Handler {
	target := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("Authorization") // sandbox-agent has no token; nothing to pass on
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			problem(w, http.StatusBadGateway, "sandbox-agent is not answering", err.Error())
		},
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			problem(w, http.StatusUnauthorized, "token invalid", "missing or invalid bearer token")
			return
		}
		if startErr != nil {
			problem(w, http.StatusServiceUnavailable, "sandbox-agent could not be started", startErr.Error())
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// problem writes an RFC 9457 body as sandbox-agent does, so the server's client reads it the same way.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "status": status, "title": title, "detail": detail})
	_, _ = w.Write(b)
}
