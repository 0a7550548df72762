package fakecli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The sbx "VM". A real sbx sandbox is a microVM that (1) stops by itself once no
// session keeps it running and (2) forwards published ports from the host's
// loopback to services inside. The double gives every running sbx sandbox one
// process of its own, `sbx __vm NAME` (this file), that does both:
//
//   - Auto-stop. "After `sbx create` finishes, the local sandbox stops
//     automatically when no sessions keep it running" (docker/docs
//     content/manuals/ai/sandboxes/cli/manage/local.md, checked against v0.43;
//     a maintainer gives a ~30 s delay in docker/sbx-releases#452). A session is
//     a running `sbx exec` (the CLI process itself, registered in sessions/).
//     When none has been alive for FAKECLI_AUTOSTOP (a Go duration, default
//     30s; "off" disables), the VM kills every process of the sandbox, as a VM
//     shutdown does, marks it stopped and exits.
//   - Ports. Each published port (create -p, `sbx ports --publish`) gets a
//     listener on the host side, HOST_IP (default loopback) and HOST_PORT
//     (default: ephemeral, docker/docs reference/cli/sbx/ports). Host ports are
//     chosen anew on every start and never repeat the previous one: "host ports
//     can change on restart" (docker/docs usage.md). Connections are forwarded
//     to the VM's own address, ADDR:SANDBOX_PORT (below), never to 127.0.0.1:
//     a service inside that listens only on 127.0.0.1 is unreachable, as in
//     sbx ("Services must bind to 0.0.0.0", docker/docs#25200), while one on
//     the VM's 0.0.0.0 is reached, and no byte leaves the loopback interface.
//
// The VM's network. Every real VM has a network of its own, so two sandboxes'
// services may listen on the same port. The double's "VMs" all run on this
// host, so each sbx sandbox gets a loopback address of its own (127.0.0.2,
// 127.0.0.3, …; meta.Addr) and its exec'd processes see it as
// FAKECLI_VM_ADDR: that address is what "0.0.0.0 inside the VM" means here. A
// process cannot be made to bind it by the double (sandbox-agent is a static
// binary), so the test template's sandbox-agent is a small wrapper that binds
// FAKECLI_VM_ADDR when asked for 0.0.0.0 (internal/testenv). Two sandboxes'
// sandbox-agents then listen on the same port at different addresses, and a
// published port reaches only its own sandbox's service.
//
// The legacy plugin has neither (its 30-minute idle stop, spec §2, is out of a
// test's reach), so only sbx sandboxes get a VM process.

// vmSubcommand is the hidden subcommand that runs a VM process.
const vmSubcommand = "__vm"

// vmAddrEnv is the variable that tells processes inside a sandbox their VM's address.
const vmAddrEnv = "FAKECLI_VM_ADDR"

// allocAddr gives m the lowest loopback address from 127.0.0.2 that no other sandbox of this root uses.
// Called with the state lock held.
func (e *env) allocAddr(m *meta) error {
	if m.Addr != "" {
		return nil
	}
	all, err := e.list()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, o := range all {
		if o.Name != m.Name {
			used[o.Addr] = true
		}
	}
	for i := range 250 * 253 { // 127.0.0.2 … 127.0.249.254
		a := fmt.Sprintf("127.0.%d.%d", i/253, 2+i%253)
		if !used[a] {
			m.Addr = a
			return nil
		}
	}
	return errors.New("no free VM address")
}

func (e *env) sessionsDir(name string) string { return filepath.Join(e.dir(name), "sessions") }

// addSession records the calling `exec` as a session of the sandbox. Callers
// hold the state lock, so an auto-stop cannot slip in between its check and
// the registration.
func (e *env) addSession(name string) (func(), error) {
	dir := e.sessionsDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pid := os.Getpid()
	p := filepath.Join(dir, strconv.Itoa(pid))
	if err := os.WriteFile(p, []byte(strconv.Itoa(pid)+" "+procStart(pid)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { os.Remove(p) }, nil
}

// liveSessions counts the sandbox's sessions whose CLI process still runs; the
// records of CLIs that died without cleaning up (SIGKILL) are removed.
func (e *env) liveSessions(name string) int {
	ents, err := os.ReadDir(e.sessionsDir(name))
	if err != nil {
		return 0
	}
	n := 0
	for _, de := range ents {
		p := filepath.Join(e.sessionsDir(name), de.Name())
		b, err := os.ReadFile(p)
		f := strings.Fields(string(b))
		if err != nil || len(f) < 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		if pid > 0 && procStart(pid) == f[1] {
			n++
		} else {
			os.Remove(p)
		}
	}
	return n
}

// autostopDelay is FAKECLI_AUTOSTOP; ok=false means never.
func (e *env) autostopDelay() (time.Duration, bool) {
	v := e.getenv("FAKECLI_AUTOSTOP")
	switch v {
	case "":
		return 30 * time.Second, true
	case "off", "0":
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 30 * time.Second, true
	}
	return d, true
}

// vmAlive reports whether the sandbox's VM process runs.
func vmAlive(m *meta) bool {
	f := strings.Fields(m.VM)
	if len(f) < 2 {
		return false
	}
	pid, _ := strconv.Atoi(f[0])
	return pid > 0 && procStart(pid) == f[1]
}

// ensureVM starts the sandbox (status running) with a VM process if it has
// none. Called with the state lock held; saves m.
func (e *env) ensureVM(m *meta) error {
	if m.Status == "running" && vmAlive(m) {
		return nil
	}
	if err := e.allocAddr(m); err != nil {
		return fmt.Errorf("failed to start VM: %w", err)
	}
	// The network proxy's listener (proxy.go) is bound here and handed to the VM process, so it accepts
	// from the moment exec can point a process at it.
	if _, _, err := e.proxyCA(); err != nil {
		return fmt.Errorf("failed to start VM: proxy CA: %w", err)
	}
	pln, err := net.Listen("tcp", net.JoinHostPort(m.Addr, "0"))
	if err != nil {
		return fmt.Errorf("failed to start VM: proxy: %w", err)
	}
	defer pln.Close()
	plf, err := pln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("failed to start VM: proxy: %w", err)
	}
	defer plf.Close()
	pid, err := startDaemon([]string{vmSubcommand, m.Name}, os.Environ(), plf)
	if err != nil {
		return fmt.Errorf("failed to start VM: %w", err)
	}
	if err := e.register(m.Name, pid); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return err
	}
	m.Status, m.VM, m.Bound, m.Proxy = "running", strconv.Itoa(pid)+" "+procStart(pid), nil, pln.Addr().String()
	return e.save(m)
}

// startDaemon starts this executable as the fake sbx (Args[0] "sbx" makes Dispatch run it) with args and
// exactly env, the files as its descriptors 3 on and its standard streams on /dev/null, in a session of its
// own, which keeps it out of the caller's process group (a cancelled call kills that), and lets it go: it
// outlives the call. It returns its pid.
func startDaemon(args, env []string, files ...*os.File) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"sbx"}, args...), Env: env, ExtraFiles: files,
		Stdin: devnull, Stdout: devnull, Stderr: devnull, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}

// stopLocked is a VM shutdown: every process of the sandbox dies (but except,
// the calling VM process itself), bindings go, the status is stopped. Called
// with the state lock held.
func (e *env) stopLocked(m *meta, except int) error {
	e.killAllExcept(m.Name, except)
	m.Status, m.VM, m.Bound, m.Proxy = "stopped", "", nil, ""
	return e.save(m)
}

// vm is the VM process's main loop (see the file comment).
func (e *env) vm(args []string) int {
	if len(args) != 1 {
		return 2
	}
	name, self := args[0], os.Getpid()
	delay, autostop := e.autostopDelay()
	m0, err := e.load(name)
	if err != nil || m0.Addr == "" {
		return 0
	}
	fw := &forwarder{addr: m0.Addr, listeners: map[port]net.Listener{}, last: map[int]int{}}
	defer fw.closeAll()
	// fd 3: the network proxy's listener, bound by ensureVM (proxy.go).
	if pln, err := net.FileListener(os.NewFile(3, "proxy")); err == nil {
		defer pln.Close()
		if ca, key, err := e.proxyCA(); err == nil {
			go (&proxy{e: e, name: name, ca: ca, key: key}).serve(pln)
		}
	}
	// SIGUSR1 is a network blip for tests: every forwarded connection is cut, the listeners stay.
	blip := make(chan os.Signal, 1)
	signal.Notify(blip, syscall.SIGUSR1)
	idleSince, started, registered := time.Now(), time.Now(), false
	for {
		select {
		case <-blip:
			// The count goes to <dir>/cut, so a test can tell a cut from a signal that found nothing.
			_ = os.WriteFile(filepath.Join(e.dir(name), "cut"), []byte(strconv.Itoa(fw.cut())+"\n"), 0o644)
		case <-time.After(50 * time.Millisecond):
		}
		m, err := e.load(name)
		mine := err == nil && strings.HasPrefix(m.VM, strconv.Itoa(self)+" ")
		if !registered {
			// ensureVM records this process in meta.json only after starting it (at create, meta.json does
			// not exist before that); on a loaded machine that can take longer than one turn of this loop,
			// and a VM that read the missing or old record as "removed" or "replaced" used to exit at once,
			// so its ports never came up ("the host binding did not come up").
			if !mine && time.Since(started) < 10*time.Second {
				continue
			}
			registered = true
		}
		if err != nil {
			return 0 // removed: this VM is over
		}
		if m.Status != "running" || !mine {
			return 0 // stopped or replaced: this VM is over
		}
		if bound, changed := fw.reconcile(m.Ports); changed {
			if err := e.updateBound(name, self, bound); err != nil {
				return 0
			}
		}
		if e.liveSessions(name) > 0 {
			idleSince = time.Now()
			continue
		}
		if !autostop || time.Since(idleSince) < delay {
			continue
		}
		if e.autostop(name, self) {
			return 0
		}
		idleSince = time.Now() // a session started meanwhile
	}
}

// updateBound records the VM's bindings in meta.json.
func (e *env) updateBound(name string, self int, bound []port) error {
	unlock, err := e.lock()
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.load(name)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(m.VM, strconv.Itoa(self)+" ") {
		return errors.New("replaced")
	}
	m.Bound = bound
	return e.save(m)
}

// autostop stops the sandbox if still nobody holds a session, under the lock.
func (e *env) autostop(name string, self int) bool {
	unlock, err := e.lock()
	if err != nil {
		return false
	}
	defer unlock()
	m, err := e.load(name)
	if err != nil || !strings.HasPrefix(m.VM, strconv.Itoa(self)+" ") {
		return true
	}
	if e.liveSessions(name) > 0 {
		return false
	}
	_ = e.stopLocked(m, self)
	return true
}

// forwarder holds the VM's port listeners.
type forwarder struct {
	addr      string // the VM's address (meta.Addr)
	mu        sync.Mutex
	listeners map[port]net.Listener // requested spec (HostPort 0 = ephemeral) → listener
	bound     map[port]port         // requested → bound
	last      map[int]int           // sandbox port → host port of the previous binding
	conns     map[net.Conn]net.Conn // forwarded connections: host side → sandbox side
}

// cut closes every forwarded connection, as a dropped network path would, and says how many.
func (f *forwarder) cut() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, up := range f.conns {
		c.Close()
		up.Close()
	}
	return len(f.conns)
}

// track records a forwarded connection (up nil: forget it).
func (f *forwarder) track(c, up net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = map[net.Conn]net.Conn{}
	}
	if up != nil {
		f.conns[c] = up
	} else {
		delete(f.conns, c)
	}
}

// reconcile opens listeners for new specs and closes those no longer wanted.
func (f *forwarder) reconcile(want []port) ([]port, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bound == nil {
		f.bound = map[port]port{}
	}
	changed := false
	keep := map[port]bool{}
	for _, w := range want {
		keep[w] = true
		if _, ok := f.listeners[w]; ok {
			continue
		}
		ln, err := f.listen(w)
		if err != nil {
			continue // retried on the next round
		}
		b := w
		b.HostPort = ln.Addr().(*net.TCPAddr).Port
		f.listeners[w], f.bound[w], f.last[w.SandboxPort] = ln, b, b.HostPort
		changed = true
		go f.serve(ln, w.SandboxPort)
	}
	for w, ln := range f.listeners {
		if !keep[w] {
			ln.Close()
			delete(f.listeners, w)
			delete(f.bound, w)
			changed = true
		}
	}
	var out []port
	for _, w := range want {
		if b, ok := f.bound[w]; ok {
			out = append(out, b)
		}
	}
	return out, changed
}

// listen binds a spec; an ephemeral port that equals the previous binding is
// given back and another one taken, so a restart always changes it.
func (f *forwarder) listen(w port) (net.Listener, error) {
	for range 5 {
		ln, err := net.Listen("tcp", net.JoinHostPort(w.HostIP, strconv.Itoa(w.HostPort)))
		if err != nil {
			return nil, err
		}
		if w.HostPort == 0 && ln.Addr().(*net.TCPAddr).Port == f.last[w.SandboxPort] {
			defer ln.Close() // keep it taken while we pick another
			continue
		}
		return ln, nil
	}
	return nil, errors.New("no fresh ephemeral port")
}

func (f *forwarder) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ln := range f.listeners {
		ln.Close()
	}
}

// serve forwards every connection to the service inside the "VM".
func (f *forwarder) serve(ln net.Listener, sandboxPort int) {
	addr := f.addr
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(sandboxPort)), 5*time.Second)
			if err != nil {
				return // nothing listens on 0.0.0.0 inside: the client sees the connection close
			}
			defer up.Close()
			f.track(c, up)
			defer f.track(c, nil)
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}
