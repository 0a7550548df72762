package acp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// Execer runs one command inside a sandbox (a backend's Exec bound to one sandbox name).
type Execer func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error)

// Curl is a Transport that runs curl inside the sandbox through the backend's exec and talks to
// sandbox-agent on the sandbox's own loopback.
//
// Why curl and not sandbox-agent's own `api acp …` client: in 0.4.2 that client has a fixed 30 s timeout,
// `acp stream` buffers until the body ends (so it prints nothing) and `acp close` always fails. Why not a
// port: the Docker Sandboxes plugin publishes none, and sbx only since 0.37. curl ships in every Docker
// Sandboxes template and in our image; request bodies go on stdin (`--data-binary @-`), never in argv or a
// shell string. Each request costs one exec (~70 ms with Docker), which is why the Docker backend can
// publish a port instead.
type Curl struct {
	Exec Execer
	Port int
}

// curlStatusMarker separates the body from the status code that -w appends.
const curlStatusMarker = "\n__sandbox_mcp_status="

func (c *Curl) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(c.Port) + path
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// Do implements Transport.
func (c *Curl) Do(ctx context.Context, method, path string, body []byte, timeout time.Duration) (int, []byte, error) {
	// --noproxy '*': sbx sets HTTP(S)_PROXY inside its sandboxes, and sandbox-agent is on the sandbox's own
	// loopback, never behind the proxy (Docker's own kits do the same).
	args := []string{"curl", "-sS", "--noproxy", "*", "-X", method, "--max-time", seconds(timeout),
		"-H", "Accept: application/json", "-o", "-", "-w", strings.ReplaceAll(curlStatusMarker, "\n", `\n`) + "%{http_code}"}
	spec := sandbox.ExecSpec{Timeout: timeout + 30*time.Second}
	if body != nil {
		args = append(args, "-H", "Content-Type: application/json", "--data-binary", "@-")
		spec.Stdin = bytes.NewReader(body)
	}
	spec.Args = append(args, "--", c.url(path))
	res, err := c.Exec(ctx, spec)
	if err != nil {
		return 0, nil, c.classify(method, path, err)
	}
	out := res.Stdout
	i := bytes.LastIndex(out, []byte(curlStatusMarker))
	if i < 0 {
		return 0, nil, fmt.Errorf("%s %s: curl printed no status: %q", method, path, truncate(string(out), 200))
	}
	status, err := strconv.Atoi(strings.TrimSpace(string(out[i+len(curlStatusMarker):])))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: bad status from curl: %w", method, path, err)
	}
	return status, out[:i], nil
}

// Stream implements Transport.
func (c *Curl) Stream(ctx context.Context, path string, lastID int64, maxDur time.Duration, w io.Writer) error {
	// -D - puts the response headers first on stdout: they are replaced by connectedComment (on a 200), so
	// the caller learns the moment the stream is live, which curl has no other way to tell.
	args := []string{"curl", "-sS", "--noproxy", "*", "-N", "-D", "-", "--max-time", seconds(maxDur), "-H", "Accept: text/event-stream", "--fail-with-body"}
	if lastID > 0 {
		args = append(args, "-H", "Last-Event-ID: "+strconv.FormatInt(lastID, 10))
	}
	args = append(args, "--", c.url(path))
	// With --fail-with-body an HTTP error's body (problem+json) is all curl prints: keep the start of the
	// output so that error comes back as a *ProblemError, as with the HTTP transport (callers look for
	// session_not_found).
	head := &prefixWriter{max: 64 << 10}
	out := &headerStripper{w: io.MultiWriter(w, head), connected: w}
	_, err := c.Exec(ctx, sandbox.ExecSpec{Args: args, Stdout: out, Timeout: maxDur + 30*time.Second})
	var ee *sandbox.ExitError
	if errors.As(err, &ee) && ee.Code == 22 {
		return parseProblem(failStatus(ee.Stderr, head.b), head.b)
	}
	if err != nil {
		err = c.classify("GET", path, err)
		if errors.Is(err, ErrTimeout) {
			return nil // maxDur reached: the caller reconnects from its last stored id
		}
	}
	return err
}

// classify maps curl's documented exit codes: 7 couldn't connect, 28 operation timed out, 22 HTTP error
// with --fail-with-body, 127 command not found (the shell's and docker exec's convention).
func (c *Curl) classify(method, path string, err error) error {
	var ee *sandbox.ExitError
	if errors.As(err, &ee) {
		switch ee.Code {
		case 7:
			return fmt.Errorf("%s %s: %w", method, path, ErrUnreachable)
		case 28:
			return fmt.Errorf("%s %s: %w", method, path, ErrTimeout)
		case 126, 127:
			// Only when it is curl that could not be run: a vanished container also exits 126.
			if strings.Contains(ee.Stderr, "curl") {
				return fmt.Errorf("%s %s: %w (%v)", method, path, ErrNoClient, err)
			}
		}
	}
	return fmt.Errorf("%s %s via curl: %w", method, path, err)
}

// failStatus is the HTTP status behind curl's exit 22: curl reports it on stderr ("The requested URL
// returned error: 404"); sandbox-agent's problem body carries it too.
func failStatus(stderr string, body []byte) int {
	const m = "returned error: "
	if i := strings.LastIndex(stderr, m); i >= 0 && len(stderr) >= i+len(m)+3 {
		if n, err := strconv.Atoi(stderr[i+len(m) : i+len(m)+3]); err == nil {
			return n
		}
	}
	var p struct {
		Status int `json:"status"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Status
}

// headerStripper drops the header block curl -D - prints before the body, writing connectedComment to
// connected in its place when the status is 200.
type headerStripper struct {
	w, connected io.Writer
	buf          []byte
	done         bool
}

func (h *headerStripper) Write(p []byte) (int, error) {
	if h.done {
		return h.w.Write(p)
	}
	h.buf = append(h.buf, p...)
	if len(h.buf) >= 5 && !bytes.HasPrefix(h.buf, []byte("HTTP/")) { // no header block: pass through
		h.done = true
		_, err := h.w.Write(h.buf)
		h.buf = nil
		return len(p), err
	}
	end := bytes.Index(h.buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(h.buf) > 64<<10 { // not headers after all: pass everything on
			h.done = true
			_, err := h.w.Write(h.buf)
			return len(p), err
		}
		return len(p), nil
	}
	h.done = true
	status := h.buf[:end]
	if i := bytes.IndexByte(status, '\n'); i >= 0 {
		status = status[:i]
	}
	if fields := strings.Fields(string(status)); len(fields) >= 2 && fields[1] == "200" {
		if _, err := io.WriteString(h.connected, connectedComment); err != nil {
			return len(p), err
		}
	}
	if rest := h.buf[end+4:]; len(rest) > 0 {
		if _, err := h.w.Write(rest); err != nil {
			return len(p), err
		}
	}
	h.buf = nil
	return len(p), nil
}

// prefixWriter keeps the first max bytes written to it and discards the rest.
type prefixWriter struct {
	b   []byte
	max int
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if n := p.max - len(p.b); n > 0 {
		p.b = append(p.b, b[:min(n, len(b))]...)
	}
	return len(b), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
