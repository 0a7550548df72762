package sandbox

// sbx has no detached exec ("detached exec (-d/--detach) is not supported", docs/upstream/sbx-cli.json), and
// a sandbox stops by itself ~30 s after its last exec session ends, killing everything in it. So the server
// keeps sandbox-agent alive the only way sbx allows: a foreground `sbx exec -i NAME …` that it holds open for
// as long as it needs the sandbox. The held exec is the session that keeps the sandbox from auto-stopping.
// It runs under the server's runner: its own process group, SIGKILLed by the kernel if the server dies
// (Pdeathsig), killed on Close, Stop and Remove. When the sandbox stops anyway (a user's `sbx stop`, a host
// sleep), the held exec ends; the next AgentEndpoint (or Exec with Detach) starts it again, and sbx exec
// starts the stopped sandbox first.
//
// Transport: from sbx 0.37 sandbox-agent's port is published on the host's loopback with `sbx ports NAME
// --publish PORT` and its host port read from `sbx ports NAME --json` after every start ("host ports can
// change on restart"). A published port reaches only services listening on 0.0.0.0, so sandbox-agent
// listens there with a token. The token is in sandbox-agent's argv inside the microVM (its `--token` flag
// has no env form): processes inside a microVM are not in the host's process list, and inside the VM only
// the agents run, which reach sandbox-agent anyway. On the host it never appears in an argv: the sbx CLI
// gets it in its environment and passes it by name (`-e SANDBOX_MCP_AGENT_TOKEN`). Before 0.37 the server
// talks to sandbox-agent through curl over exec (acp.Curl) and sandbox-agent listens on 127.0.0.1 only.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sbxTokenVar = "SANDBOX_MCP_AGENT_TOKEN"
	sbxPortVar  = "SANDBOX_MCP_AGENT_PORT"
	// sbxAgentScript is a fixed string: port, token and a provisioned path (sbx_provision.go) come from the
	// environment.
	sbxAgentScript = `exec "${` + sbxBinVar + `:-sandbox-agent}" server --no-telemetry -H 0.0.0.0 -p "$` + sbxPortVar + `" --token "$` + sbxTokenVar + `"`
	// sbxPortsVersion is the first sbx with -p/--publish and `sbx ports` (docs/upstream/sbx-cli.json).
	sbxPortsVersion = "0.37.0"
	// holdSettle is how long a new held exec must stay up before it counts as started: an exec that fails
	// at once (no such sandbox, command not found) is reported as the error it is.
	holdSettle = 300 * time.Millisecond
	// healthTimeout bounds the check of a remembered endpoint before it is reused.
	healthTimeout = 3 * time.Second
)

// hold is one held foreground exec.
type hold struct {
	done   chan struct{} // closed when the exec ended
	err    error         // its error, once done
	cancel context.CancelFunc
	stdin  io.Closer // never written; closing it gives the inner command EOF
}

func (h *hold) alive() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// sbxAgents is the sbx backend's state about sandbox-agent: held execs, tokens and endpoints per sandbox.
type sbxAgents struct {
	mu     sync.Mutex
	holds  map[string]*hold
	eps    map[string]Endpoint
	tokens map[string]string
	locks  map[string]*sync.Mutex
	closed bool
}

func (a *sbxAgents) lock(name string) func() {
	a.mu.Lock()
	l := a.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		a.locks[name] = l
	}
	a.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// holdExec starts args as a held foreground exec in name, replacing a previous one, and returns once it
// has stayed up for holdSettle (or with its error if it ended before). extraEnv is added to the CLI's own
// environment (for variables passed by name).
func (s *Sbx) holdExec(ctx context.Context, name string, spec ExecSpec, extraEnv []string) error {
	spec.Detach, spec.Stdout = false, nil
	spec.Env = s.keyEnv(ctx, name, spec.Env) // agent keys sbx holds stay on the host (sbx_creds.go)
	argv, err := s.c.execArgs(name, spec, true)
	if err != nil {
		return err
	}
	s.agents.mu.Lock()
	if s.agents.closed {
		s.agents.mu.Unlock()
		return fmt.Errorf("%s: the server is shutting down", s.c.op("exec", name))
	}
	old := s.agents.holds[name]
	s.agents.mu.Unlock()
	if old != nil {
		old.stop()
	}
	// The exec's stdin stays open (an OS pipe nobody writes) for as long as we hold it. An *os.File, not an
	// io.Pipe: os/exec hands a file to the child as it is, while for any other reader it copies in a
	// goroutine that Wait must join, and that goroutine, blocked reading a pipe nobody writes, kept Wait
	// from returning when sandbox-agent exited by itself: the hold looked alive until the server let go.
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: %w", s.c.op("exec", name), err)
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &hold{done: make(chan struct{}), cancel: cancel, stdin: pw}
	cmd := Cmd{Args: s.c.argv("exec", argv...), Stdin: pr, Stdout: io.Discard, Timeout: -1}
	if len(extraEnv) > 0 {
		cmd.Env = append(slices.Clone(s.baseEnv), extraEnv...)
	}
	go func() {
		_, err := s.c.r.Run(hctx, cmd)
		h.err = err
		pr.Close()
		close(h.done)
	}()
	s.agents.mu.Lock()
	s.agents.holds[name] = h
	delete(s.agents.eps, name)
	s.agents.mu.Unlock()
	t := time.NewTimer(holdSettle)
	defer t.Stop()
	select {
	case <-h.done:
		return s.c.mapExec(s.c.op("exec", name), name, h.err)
	case <-t.C:
		return nil
	case <-ctx.Done():
		h.stop()
		return ctx.Err()
	}
}

func (h *hold) stop() {
	h.stdin.Close()
	h.cancel()
	<-h.done
}

// dropHold ends the held exec of name, if any (Stop, Remove).
func (s *Sbx) dropHold(name string) {
	s.agents.mu.Lock()
	h := s.agents.holds[name]
	delete(s.agents.holds, name)
	delete(s.agents.eps, name)
	s.agents.mu.Unlock()
	if h != nil {
		h.stop()
	}
}

// Close ends every held exec: the sandboxes then stop by themselves once idle. Called when the server stops.
func (s *Sbx) Close() error {
	s.agents.mu.Lock()
	s.agents.closed = true
	hs := make([]*hold, 0, len(s.agents.holds))
	for _, h := range s.agents.holds {
		hs = append(hs, h)
	}
	s.agents.mu.Unlock()
	for _, h := range hs {
		h.stop()
	}
	return nil
}

// AgentEndpoint implements AgentServer. On sbx ≥ 0.37 with an agent port configured it makes sure the
// held sandbox-agent runs (starting the sandbox if it stopped), publishes its port and returns the host
// endpoint read from `sbx ports NAME --json`; otherwise ok=false (curl over exec; Exec with Detach holds
// sandbox-agent then).
func (s *Sbx) AgentEndpoint(ctx context.Context, name string) (Endpoint, bool, error) {
	if s.opts.AgentPort == 0 {
		return Endpoint{}, false, nil
	}
	if known, _ := s.c.ver.atLeast(sbxPortsVersion); !known {
		if err := s.c.check(ctx); err != nil {
			return Endpoint{}, false, err
		}
	}
	if _, ok := s.c.ver.atLeast(sbxPortsVersion); !ok {
		return Endpoint{}, false, nil
	}
	defer s.agents.lock(name)()
	s.agents.mu.Lock()
	h, ep, haveEP := s.agents.holds[name], s.agents.eps[name], false
	_, haveEP = s.agents.eps[name]
	s.agents.mu.Unlock()
	if h != nil && h.alive() && haveEP {
		// The held exec may outlive sandbox-agent (its pipes held open by an agent it spawned, or a
		// forwarder that went with a restarted VM), so the remembered endpoint must still answer.
		if err := healthy(ctx, ep); err == nil {
			return ep, true, nil
		}
		h.stop()
		h = nil
	}
	token, err := s.token(name)
	if err != nil {
		return Endpoint{}, false, err
	}
	env := append([]string{sbxTokenVar, sbxPortVar + "=" + strconv.Itoa(s.opts.AgentPort)}, s.agentEnv(name)...)
	if h == nil || !h.alive() {
		binEnv, err := s.sbxAgentBinEnv(ctx, name) // --provision-agent: the copy streamed in (sbx_provision.go)
		if err != nil {
			return Endpoint{}, false, err
		}
		env = append(env, binEnv...)
		err = s.holdExec(ctx, name, ExecSpec{Args: []string{"sh", "-c", sbxAgentScript}, Env: env, Stdin: strings.NewReader("")},
			[]string{sbxTokenVar + "=" + token})
		if err != nil {
			return Endpoint{}, false, fmt.Errorf("start sandbox-agent in %q: %w", name, err)
		}
	}
	port, err := s.publishedPort(ctx, name)
	if err != nil {
		return Endpoint{}, false, err
	}
	ep = Endpoint{URL: "http://127.0.0.1:" + strconv.Itoa(port), Token: token}
	s.agents.mu.Lock()
	s.agents.eps[name] = ep
	s.agents.mu.Unlock()
	return ep, true, nil
}

// AgentWatch is implemented by backends that keep sandbox-agent alive in a process of their own (sbx's
// held exec), so a caller waiting for it to become healthy can stop waiting when that process ends.
type AgentWatch interface {
	// AgentExited reports whether the sandbox's sandbox-agent process has ended, and its error.
	AgentExited(name string) (bool, error)
}

// AgentExited implements AgentWatch: whether the held sandbox-agent exec of name has ended, and how. A
// held exec that ends before sandbox-agent answers its health check is a failed start, reported at once
// with the exec's stderr tail, rather than after the whole startup timeout.
func (s *Sbx) AgentExited(name string) (bool, error) {
	s.agents.mu.Lock()
	h := s.agents.holds[name]
	s.agents.mu.Unlock()
	if h == nil || h.alive() {
		return false, nil
	}
	if h.err == nil {
		return true, fmt.Errorf("%s: sandbox-agent exited with status 0", s.c.op("exec", name))
	}
	return true, s.c.mapExec(s.c.op("exec", name), name, h.err)
}

// healthy GETs sandbox-agent's health endpoint at ep, briefly: any answer other than 200 is an error.
func healthy(ctx context.Context, ep Endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.URL+"/v1/health", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/health: %s", res.Status)
	}
	return nil
}

// sbxPort is one entry of `sbx ports NAME --json`.
type sbxPort struct {
	HostIP      string `json:"host_ip"`
	HostPort    int    `json:"host_port"`
	SandboxPort int    `json:"sandbox_port"`
	Protocol    string `json:"protocol"`
}

// publishedPort returns the loopback host port of sandbox-agent's port, publishing it first if needed.
func (s *Sbx) publishedPort(ctx context.Context, name string) (int, error) {
	op := s.c.op("ports", name)
	published := false
	for range 3 {
		res, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("ports", name, "--json")})
		if err != nil {
			return 0, fmt.Errorf("%s: %w", op, s.c.mapExec(op, name, err))
		}
		var ports []sbxPort
		if err := json.Unmarshal(res.Stdout, &ports); err != nil {
			return 0, fmt.Errorf("%s: unreadable output %q: %w", op, truncate(string(res.Stdout), 80), err)
		}
		for _, p := range ports {
			if p.SandboxPort == s.opts.AgentPort && p.HostPort > 0 && (p.HostIP == "127.0.0.1" || p.HostIP == "") {
				return p.HostPort, nil
			}
		}
		if published {
			continue
		}
		// No HOST_IP binds loopback, no HOST_PORT takes an ephemeral one (docs/upstream/sbx-cli.json "ports").
		if _, err := s.c.r.Run(ctx, Cmd{Args: s.c.argv("ports", name, "--publish", strconv.Itoa(s.opts.AgentPort))}); err != nil {
			return 0, fmt.Errorf("%s --publish: %w", op, s.c.mapExec(op, name, err))
		}
		published = true
	}
	return 0, Errorf(Unavailable, "%s: port %d is published but has no loopback host port", op, s.opts.AgentPort)
}

// agentEnv is sandbox-agent's environment as given at Create (kept in the state dir across restarts).
func (s *Sbx) agentEnv(name string) []string {
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	if env, ok := s.envs[name]; ok {
		return env
	}
	if s.opts.StateDir != "" {
		if b, err := os.ReadFile(filepath.Join(s.opts.StateDir, name+".env.json")); err == nil {
			var env []string
			if json.Unmarshal(b, &env) == nil {
				s.envs[name] = env
				return env
			}
		}
	}
	return s.defaultEnv
}

// rememberEnv keeps sandbox-agent's environment (names and plain settings only: secrets are bare names).
func (s *Sbx) rememberEnv(name string, env []string) {
	s.agents.mu.Lock()
	s.envs[name] = env
	s.agents.mu.Unlock()
	if s.opts.StateDir != "" {
		b, _ := json.Marshal(env)
		_ = writeFile0600(filepath.Join(s.opts.StateDir, name+".env.json"), b)
	}
}

// token returns the sandbox's sandbox-agent token, creating and saving it (0600, state dir) on first use.
func (s *Sbx) token(name string) (string, error) {
	s.agents.mu.Lock()
	defer s.agents.mu.Unlock()
	if t := s.agents.tokens[name]; t != "" {
		return t, nil
	}
	path := filepath.Join(s.opts.StateDir, name+".token")
	if s.opts.StateDir != "" {
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			s.agents.tokens[name] = strings.TrimSpace(string(b))
			return s.agents.tokens[name], nil
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("reading sandbox-agent token: %w", err)
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b)
	if s.opts.StateDir != "" {
		if err := writeFile0600(path, []byte(t+"\n")); err != nil {
			return "", fmt.Errorf("saving sandbox-agent token: %w", err)
		}
	}
	s.agents.tokens[name] = t
	return t, nil
}

func (s *Sbx) forget(name string) {
	s.dropHold(name)
	s.agents.mu.Lock()
	delete(s.agents.tokens, name)
	delete(s.envs, name)
	delete(s.allowed, name)
	s.agents.mu.Unlock()
	if s.opts.StateDir != "" {
		os.Remove(filepath.Join(s.opts.StateDir, name+".token"))
		os.Remove(filepath.Join(s.opts.StateDir, name+".env.json"))
	}
}

// writeFile0600 writes atomically with mode 0600.
func writeFile0600(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

var (
	_ AgentServer = (*Sbx)(nil)
	_ AgentWatch  = (*Sbx)(nil)
)
