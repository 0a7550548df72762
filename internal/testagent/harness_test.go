package testagent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/syncbuf"
)

const stepTimeout = 2 * time.Second

// harness drives Run through pipes.
type harness struct {
	t      *testing.T
	in     *io.PipeWriter
	lines  chan string
	code   chan int
	stderr *syncbuf.Buffer
	vars   map[string]string
}

func start(t *testing.T, vars map[string]string) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	h := &harness{t: t, in: inW, lines: make(chan string, 4096), code: make(chan int, 1), stderr: &syncbuf.Buffer{}, vars: vars}
	go func() {
		code := Run(inR, outW, h.stderr)
		outW.Close()
		h.code <- code
	}()
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		outR.Close()
		inR.Close()
	})
	return h
}

func (h *harness) expand(s string) string {
	for k, v := range h.vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

func (h *harness) send(line string) {
	h.t.Helper()
	line = h.expand(line)
	errc := make(chan error, 1)
	go func() { _, err := io.WriteString(h.in, line+"\n"); errc <- err }()
	select {
	case err := <-errc:
		if err != nil {
			h.t.Fatalf("send %s: %v", line, err)
		}
	case <-time.After(stepTimeout):
		h.t.Fatalf("send %s: timed out", line)
	}
}

func (h *harness) next() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("stdout closed; stderr: %s", h.stderr.String())
		}
		return l
	case <-time.After(stepTimeout):
		h.t.Fatalf("timed out waiting for output; stderr: %s", h.stderr.String())
	}
	return ""
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// expect reads one line and compares it with want as JSON values.
func (h *harness) expect(want string) {
	h.t.Helper()
	want = h.expand(want)
	got := h.next()
	if !reflect.DeepEqual(decode(h.t, got), decode(h.t, want)) {
		h.t.Fatalf("envelope mismatch\n got: %s\nwant: %s", got, want)
	}
}

func (h *harness) closeStdin() { h.in.Close() }

func (h *harness) exitCode() int {
	h.t.Helper()
	select {
	case c := <-h.code:
		return c
	case <-time.After(stepTimeout + eofGrace):
		h.t.Fatalf("Run did not return")
	}
	return -1
}

// Envelope builders for the expected side.

func req(id int, method, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
}

func res(id int, result string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, id, result)
}

func rpcErr(id, code int, msg string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"error":{"code":%d,"message":%q}}`, id, code, msg)
}

func upd(update string) string {
	return `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"sess-1","update":` + update + `}}`
}

func text(kind, s string) string {
	return upd(fmt.Sprintf(`{"sessionUpdate":%q,"content":{"type":"text","text":%q}}`, kind, s))
}

func prompt(id int, txt string) string {
	return req(id, "session/prompt", fmt.Sprintf(`{"sessionId":"sess-1","prompt":[{"type":"text","text":%q}]}`, txt))
}

func toolCall(id, title, kind string) string {
	return upd(fmt.Sprintf(`{"sessionUpdate":"tool_call","toolCallId":%q,"title":%q,"kind":%q,"status":"pending"}`, id, title, kind))
}

func toolUpd(id, status, content string) string {
	if content == "" {
		return upd(fmt.Sprintf(`{"sessionUpdate":"tool_call_update","toolCallId":%q,"status":%q}`, id, status))
	}
	return upd(fmt.Sprintf(`{"sessionUpdate":"tool_call_update","toolCallId":%q,"status":%q,"content":[{"type":"content","content":{"type":"text","text":%q}}]}`, id, status, content))
}

func permReq(n int, callID, title string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":"perm-%d","method":"session/request_permission","params":{"sessionId":"sess-1",`+
		`"toolCall":{"toolCallId":%q,"title":%q,"kind":"execute","status":"pending"},"options":[`+
		`{"optionId":"allow","name":"Allow","kind":"allow_once"},`+
		`{"optionId":"always","name":"Always allow","kind":"allow_always"},`+
		`{"optionId":"reject","name":"Reject","kind":"reject_once"}]}}`, n, callID, title)
}

func permReply(n int, result string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":"perm-%d","result":%s}`, n, result)
}

func stopped(id int, reason string) string {
	return res(id, fmt.Sprintf(`{"stopReason":%q}`, reason))
}

const cancelMsg = `{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"sess-1"}}`
