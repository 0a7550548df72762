package testagent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// JSON-RPC error codes.
const (
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternal       = -32603
)

// StateDir, when set before Run, is where session histories are persisted so that session/load works in
// a later process. The scripted-agent command sets it; in-process tests leave it empty.
var StateDir string

// eofGrace bounds how long Run waits for running turns after stdin closes
// (a variable so tests can shorten it).
var eofGrace = 2 * time.Second

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// inMsg is any incoming JSON-RPC message.
type inMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// outMsg is any outgoing JSON-RPC message.
type outMsg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  any             `json:"params,omitempty"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// lineWriter serialises whole JSON lines onto stdout.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed atomic.Bool
}

func (l *lineWriter) send(m outMsg) {
	m.JSONRPC = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("testagent: marshal: %v", err))
	}
	if l.closed.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed.Load() {
		_, _ = l.w.Write(append(b, '\n'))
	}
}

type agent struct {
	out    *lineWriter
	errMu  sync.Mutex
	stderr io.Writer

	mu          sync.Mutex
	sessions    map[string]*session
	nextSession int
	nextCall    int
	nextPerm    int
	pending     map[string]chan inMsg // permission request id -> reply

	stateDir string // where session histories are kept ("" = in memory only)
	loadable bool   // initialize advertises loadSession

	grace  time.Duration // eofGrace when Run started
	turns  sync.WaitGroup
	eof    chan struct{} // closed when stdin ends
	exitCh chan int      // `exit <code>` requests
}

// Run serves the agent protocol on stdin/stdout until stdin ends (returns 0)
// or a script runs `exit <code>` (returns code). Diagnostics go to stderr.
func Run(stdin io.Reader, stdout, stderr io.Writer) int {
	a := &agent{
		out:      &lineWriter{w: stdout},
		stderr:   stderr,
		sessions: map[string]*session{},
		pending:  map[string]chan inMsg{},
		eof:      make(chan struct{}),
		exitCh:   make(chan int, 1),
		grace:    eofGrace,
		stateDir: StateDir,
		loadable: os.Getenv("SCRIPTED_AGENT_LOAD_SESSION") != "0",
	}
	// Nothing may be written once Run has returned.
	defer a.out.closed.Store(true)

	lines := make(chan []byte)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(stdin, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				select {
				case lines <- line:
				case <-done:
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					a.logf("read error: %v", err)
				}
				return
			}
		}
	}()

	for {
		select {
		case code := <-a.exitCh:
			return code
		case line, ok := <-lines:
			if !ok {
				return a.shutdown()
			}
			a.handleLine(line)
		}
	}
}

// shutdown runs after stdin EOF: permission waits are abandoned at once (no
// reply can arrive), other turns get eofGrace to finish.
func (a *agent) shutdown() int {
	close(a.eof)
	finished := make(chan struct{})
	go func() { a.turns.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(a.grace):
		a.logf("stdin closed; abandoning running prompts")
	case code := <-a.exitCh:
		return code
	}
	select {
	case code := <-a.exitCh:
		return code
	default:
		return 0
	}
}

// requestExit stops all output and makes Run return code.
func (a *agent) requestExit(code int) {
	a.out.closed.Store(true)
	select {
	case a.exitCh <- code:
	default:
	}
}

func (a *agent) logf(format string, args ...any) {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	fmt.Fprintf(a.stderr, "scripted-agent: "+format+"\n", args...)
}

func hasID(id json.RawMessage) bool {
	return len(id) > 0 && string(id) != "null"
}

func idKey(id json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, id) != nil {
		return string(id)
	}
	return b.String()
}

func (a *agent) handleLine(line []byte) {
	var m inMsg
	if err := json.Unmarshal(line, &m); err != nil {
		a.logf("bad JSON line: %v: %q", err, bytes.TrimSpace(line))
		return
	}
	switch {
	case m.Method != "" && hasID(m.ID):
		a.handleRequest(m)
	case m.Method != "":
		if m.Method == "session/cancel" {
			a.cancelSession(m.Params)
		}
	case hasID(m.ID):
		a.mu.Lock()
		ch := a.pending[idKey(m.ID)]
		delete(a.pending, idKey(m.ID))
		a.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	default:
		a.logf("ignoring message without method or id: %q", bytes.TrimSpace(line))
	}
}

func (a *agent) respond(id json.RawMessage, result any) {
	a.out.send(outMsg{ID: id, Result: result})
}

func (a *agent) respondErr(id json.RawMessage, code int, msg string) {
	a.out.send(outMsg{ID: id, Error: &rpcError{Code: code, Message: msg}})
}

func (a *agent) notify(method string, params any) {
	a.out.send(outMsg{Method: method, Params: params})
}

func (a *agent) handleRequest(m inMsg) {
	switch m.Method {
	case "initialize":
		a.respond(m.ID, map[string]any{
			"protocolVersion": 1,
			"agentCapabilities": map[string]any{"loadSession": a.loadable, "promptCapabilities": map[string]any{},
				"mcpCapabilities": map[string]any{"http": true, "sse": false}},
			"authMethods": []any{},
			"agentInfo":   map[string]any{"name": "scripted-agent", "version": "1.0.0"},
		})
	case "session/new":
		a.newSession(m)
	case "session/load":
		a.loadSession(m)
	case "session/set_mode":
		a.setMode(m)
	case "session/set_model":
		a.setModel(m)
	case "session/prompt":
		a.startPrompt(m)
	default:
		a.respondErr(m.ID, codeMethodNotFound, "method not found: "+m.Method)
	}
}
