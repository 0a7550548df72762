package acp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// execCall is what a fake Execer saw.
type execCall struct {
	spec  sandbox.ExecSpec
	stdin string // nil Stdin reads as ""
}

// fakeExec returns an Execer that records its one call, writes stdout (to spec.Stdout when set, else into
// the Result) and returns err.
func fakeExec(t *testing.T, stdout string, err error) (Execer, *[]execCall) {
	t.Helper()
	var calls []execCall
	return func(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
		c := execCall{spec: spec}
		if spec.Stdin != nil {
			b, rerr := io.ReadAll(spec.Stdin)
			if rerr != nil {
				t.Errorf("reading stdin: %v", rerr)
			}
			c.stdin = string(b)
		}
		calls = append(calls, c)
		if spec.Stdout != nil {
			_, _ = io.WriteString(spec.Stdout, stdout)
			return sandbox.Result{}, err
		}
		return sandbox.Result{Stdout: []byte(stdout)}, err
	}, &calls
}

const curlURL = "http://127.0.0.1:2468"

// noCurl is docker exec's stderr when the image has no curl.
const noCurl = `OCI runtime exec failed: exec failed: unable to start container process: exec: "curl": executable file not found in $PATH: unknown`

func exitErr(code int, stderr string) error {
	return &sandbox.ExitError{Args: []string{"docker", "exec", "sb1", "curl"}, Code: code, Stderr: stderr}
}

func TestCurlDoArgv(t *testing.T) {
	marker := `\n__sandbox_mcp_status=%{http_code}`
	tests := []struct {
		name      string
		method    string
		path      string
		body      []byte
		timeout   time.Duration
		wantArgs  []string
		wantStdin bool
	}{
		{name: "GET has no body, no stdin and no content type", method: "GET", path: "/v1/health", timeout: 1500 * time.Millisecond,
			wantArgs: []string{"curl", "-sS", "--noproxy", "*", "-X", "GET", "--max-time", "1.500", "-H", "Accept: application/json",
				"-o", "-", "-w", marker, "--", curlURL + "/v1/health"}},
		{name: "POST sends its body on stdin with --data-binary @-", method: "POST", path: "/v1/acp/s1?agent=mock",
			body: []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize"}`), timeout: 30 * time.Second, wantStdin: true,
			wantArgs: []string{"curl", "-sS", "--noproxy", "*", "-X", "POST", "--max-time", "30.000", "-H", "Accept: application/json",
				"-o", "-", "-w", marker, "-H", "Content-Type: application/json", "--data-binary", "@-", "--", curlURL + "/v1/acp/s1?agent=mock"}},
		{name: "max-time keeps milliseconds with three decimals", method: "DELETE", path: "/v1/acp/s1", timeout: 2*time.Second + 1*time.Millisecond,
			wantArgs: []string{"curl", "-sS", "--noproxy", "*", "-X", "DELETE", "--max-time", "2.001", "-H", "Accept: application/json",
				"-o", "-", "-w", marker, "--", curlURL + "/v1/acp/s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, calls := fakeExec(t, "{}\n__sandbox_mcp_status=200", nil)
			c := &Curl{Exec: ex, Port: 2468}
			if _, _, err := c.Do(t.Context(), tt.method, tt.path, tt.body, tt.timeout); err != nil {
				t.Fatalf("Do: %v", err)
			}
			if len(*calls) != 1 {
				t.Fatalf("got %d exec calls, want 1", len(*calls))
			}
			call := (*calls)[0]
			if !reflect.DeepEqual(call.spec.Args, tt.wantArgs) {
				t.Errorf("argv:\ngot  %q\nwant %q", call.spec.Args, tt.wantArgs)
			}
			if got := call.spec.Stdin != nil; got != tt.wantStdin {
				t.Errorf("stdin attached: got %v, want %v", got, tt.wantStdin)
			}
			if call.stdin != string(tt.body) {
				t.Errorf("stdin: got %q, want %q", call.stdin, tt.body)
			}
			if call.spec.Stdout != nil {
				t.Error("Do must collect stdout in the Result, not stream it")
			}
			if got, want := call.spec.Timeout, tt.timeout+30*time.Second; got != want {
				t.Errorf("exec timeout: got %v, want %v (curl's own limit must fire first)", got, want)
			}
		})
	}
}

func TestCurlDoOutput(t *testing.T) {
	tests := []struct {
		name       string
		stdout     string
		execErr    error
		wantStatus int
		wantBody   string
		wantIs     error  // errors.Is target, when an error is expected
		wantText   string // substring of the error, when an error is expected
	}{
		{name: "body and status are split at the marker", stdout: `{"status":"ok"}` + "\n__sandbox_mcp_status=200",
			wantStatus: 200, wantBody: `{"status":"ok"}`},
		{name: "an empty 202 body", stdout: "\n__sandbox_mcp_status=202", wantStatus: 202},
		{name: "a body ending in a newline keeps it", stdout: "line\n\n__sandbox_mcp_status=200", wantStatus: 200, wantBody: "line\n"},
		{name: "the last marker wins when the body contains one", stdout: "a\n__sandbox_mcp_status=999 b\n__sandbox_mcp_status=400",
			wantStatus: 400, wantBody: "a\n__sandbox_mcp_status=999 b"},
		{name: "an HTTP error status is not an exec error", stdout: `{"type":"urn:sandbox-agent:error:conflict"}` + "\n__sandbox_mcp_status=409",
			wantStatus: 409, wantBody: `{"type":"urn:sandbox-agent:error:conflict"}`},
		{name: "garbage without a marker is an error", stdout: "sh: curl: something odd", wantText: "curl printed no status"},
		{name: "a marker without a number is an error", stdout: "\n__sandbox_mcp_status=abc", wantText: "bad status"},
		{name: "exit 7 is ErrUnreachable", execErr: exitErr(7, "curl: (7) Failed to connect"), wantIs: ErrUnreachable},
		{name: "exit 28 is ErrTimeout", execErr: exitErr(28, "curl: (28) Operation timed out"), wantIs: ErrTimeout},
		{name: "exit 127 naming curl is ErrNoClient", execErr: exitErr(127, noCurl), wantIs: ErrNoClient},
		{name: "exit 126 naming curl is ErrNoClient", execErr: exitErr(126, `exec: "curl": permission denied`), wantIs: ErrNoClient},
		{name: "exit 126 of a vanished container is not ErrNoClient", execErr: exitErr(126, "Error response from daemon: container abc is not running"),
			wantText: "exit status 126"},
		{name: "another exit code keeps the exit error", execErr: exitErr(6, "curl: (6) Could not resolve host"), wantText: "exit status 6"},
		{name: "a backend error is wrapped", execErr: sandbox.ErrNotFound, wantIs: sandbox.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, _ := fakeExec(t, tt.stdout, tt.execErr)
			status, body, err := (&Curl{Exec: ex, Port: 2468}).Do(t.Context(), "POST", "/v1/acp/s1", []byte(`{}`), time.Second)
			if tt.wantIs == nil && tt.wantText == "" {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if status != tt.wantStatus || string(body) != tt.wantBody {
					t.Errorf("got %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
				}
				return
			}
			if err == nil {
				t.Fatalf("Do: got %d %q, want an error", status, body)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantText)
			}
			for _, other := range []error{ErrUnreachable, ErrTimeout, ErrNoClient} {
				if other != tt.wantIs && errors.Is(err, other) {
					t.Errorf("got %v, which also matches %v", err, other)
				}
			}
		})
	}
}

func TestCurlStreamArgv(t *testing.T) {
	tests := []struct {
		name     string
		lastID   int64
		wantArgs []string
	}{
		{name: "from the start sends no Last-Event-ID", lastID: 0,
			wantArgs: []string{"curl", "-sS", "--noproxy", "*", "-N", "-D", "-", "--max-time", "60.000", "-H", "Accept: text/event-stream", "--fail-with-body",
				"--", curlURL + "/v1/acp/s1"}},
		{name: "a stored id is sent as Last-Event-ID", lastID: 42,
			wantArgs: []string{"curl", "-sS", "--noproxy", "*", "-N", "-D", "-", "--max-time", "60.000", "-H", "Accept: text/event-stream", "--fail-with-body",
				"-H", "Last-Event-ID: 42", "--", curlURL + "/v1/acp/s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, calls := fakeExec(t, "id: 1\ndata: {}\n\n", nil)
			var w bytes.Buffer
			if err := (&Curl{Exec: ex, Port: 2468}).Stream(t.Context(), "/v1/acp/s1", tt.lastID, time.Minute, &w); err != nil {
				t.Fatalf("Stream: %v", err)
			}
			call := (*calls)[0]
			if !reflect.DeepEqual(call.spec.Args, tt.wantArgs) {
				t.Errorf("argv:\ngot  %q\nwant %q", call.spec.Args, tt.wantArgs)
			}
			if call.spec.Stdin != nil {
				t.Error("Stream must not attach stdin")
			}
			if call.spec.Stdout == nil {
				t.Error("Stream must stream stdout, not collect it")
			}
			if got, want := call.spec.Timeout, time.Minute+30*time.Second; got != want {
				t.Errorf("exec timeout: got %v, want %v", got, want)
			}
			if got, want := w.String(), "id: 1\ndata: {}\n\n"; got != want {
				t.Errorf("streamed: got %q, want %q", got, want)
			}
		})
	}
}

func TestCurlStreamErrors(t *testing.T) {
	tests := []struct {
		name     string
		stdout   string
		execErr  error
		wantNil  bool
		wantIs   error
		wantKind string // problem kind, when a *ProblemError is expected
	}{
		{name: "exit 28 at max-time is a normal end: nil", execErr: exitErr(28, "curl: (28) Operation timed out"), wantNil: true},
		{name: "exit 7 is ErrUnreachable", execErr: exitErr(7, "curl: (7) Failed to connect"), wantIs: ErrUnreachable},
		{name: "exit 127 naming curl is ErrNoClient", execErr: exitErr(127, noCurl), wantIs: ErrNoClient},
		{name: "exit 22 with a problem body is that problem, like the HTTP transport",
			stdout:   `{"type":"urn:sandbox-agent:error:session_not_found","title":"Not Found","status":404,"detail":"session not found: s1"}`,
			execErr:  exitErr(22, "curl: (22) The requested URL returned error: 404"),
			wantKind: "session_not_found"},
		{name: "a cancelled context is passed on", execErr: context.Canceled, wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, _ := fakeExec(t, tt.stdout, tt.execErr)
			err := (&Curl{Exec: ex, Port: 2468}).Stream(t.Context(), "/v1/acp/s1", 0, time.Second, io.Discard)
			switch {
			case tt.wantNil:
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
			case tt.wantKind != "":
				var pe *ProblemError
				if !errors.As(err, &pe) || pe.Kind() != tt.wantKind || pe.Status != 404 {
					t.Errorf("got %v, want a 404 %s problem", err, tt.wantKind)
				}
			default:
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("got %v, want %v", err, tt.wantIs)
				}
			}
		})
	}
}
