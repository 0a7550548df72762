package acp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// localExec is an Execer that runs the command on this machine, wired as sandbox.ExecSpec says (Stdin
// attached when set; Stdout streamed when set, else collected) and failing as the backends do (a non-zero
// exit is *sandbox.ExitError; a deadline wraps ctx.Err()).
func localExec(ctx context.Context, spec sandbox.ExecSpec) (sandbox.Result, error) {
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, spec.Args[0], spec.Args[1:]...)
	cmd.Stdin = spec.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if spec.Stdout != nil {
		cmd.Stdout = spec.Stdout
	}
	err := cmd.Run()
	res := sandbox.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s: %w", spec.Args[0], ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return res, &sandbox.ExitError{Args: spec.Args, Code: ee.ExitCode(), Stderr: stderr.String()}
	}
	return res, err
}

func needCurl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing, and CI must not skip: install curl")
		}
		t.Skip("curl is missing: install curl (apt-get install curl)")
	}
}

// curlClient reaches fa through a real curl, on the loopback port fa listens on.
func curlClient(t *testing.T, fa *fakeagent.Agent, serverID string) *Client {
	fa.Listen(t)
	return &Client{T: &Curl{Exec: localExec, Port: fa.Port()}, ServerID: serverID}
}

func TestCurlRealDo(t *testing.T) {
	needCurl(t)
	t.Parallel()
	fa := newFakeAgent(t, "")
	c := curlClient(t, fa, "s1")

	if err := Health(t.Context(), c.T, 5*time.Second); err != nil {
		t.Errorf("Health: %v", err)
	}
	got, err := c.Request(t.Context(), Request{ID: NumberID(0), Method: MethodInitialize, Params: map[string]any{"protocolVersion": 1}}, "mock", 5*time.Second)
	if want := `{"method":"initialize","params":{"protocolVersion":1}}`; err != nil || string(got) != want {
		t.Errorf("Request: got %s, %v; want %s", got, err, want)
	}
	_, err = c.Request(t.Context(), Request{ID: NumberID(1), Method: "fail"}, "", 5*time.Second)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != -32601 {
		t.Errorf("Request of an unknown method: got %v, want an *RPCError -32601", err)
	}
	if err := c.Post(t.Context(), Notification{Method: MethodCancel, Params: CancelParams{SessionID: "s"}}, 5*time.Second); err != nil {
		t.Errorf("Post: %v", err)
	}
	_, err = curlClient(t, fa, "fresh").Request(t.Context(), Request{ID: NumberID(0), Method: MethodInitialize}, "", 5*time.Second)
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Kind() != "invalid_request" || pe.Status != http.StatusBadRequest {
		t.Errorf("first Request without agent: got %v, want a 400 invalid_request problem", err)
	}
	if got, want := fa.Posts(), []string{"/v1/acp/s1?agent=mock", "/v1/acp/s1", "/v1/acp/s1", "/v1/acp/fresh"}; !reflect.DeepEqual(got, want) {
		t.Errorf("POSTs: got %q, want %q", got, want)
	}
}

func TestCurlRealStartTimesOutAsStarted(t *testing.T) {
	needCurl(t)
	t.Parallel()
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock")
	const wait = 500 * time.Millisecond
	start := time.Now()
	req, err := Request{ID: StringID("turn-1"), Method: "block"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, done, err := curlClient(t, fa, "s1").Start(t.Context(), req, wait)
	if got != nil || done || err != nil {
		t.Errorf("Start: got (%s, %v, %v), want (nil, false, nil)", got, done, err)
	}
	if elapsed := time.Since(start); elapsed < wait {
		t.Errorf("Start returned after %v, before its wait of %v", elapsed, wait)
	}
}

func TestCurlRealCloseReturnsAfterTwoSeconds(t *testing.T) {
	needCurl(t)
	t.Parallel()
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock")
	start := time.Now()
	curlClient(t, fa, "s1").Close(t.Context())
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Errorf("Close took %v, want its 2 s bound (the fake's DELETE never returns)", elapsed)
	}
}

func TestCurlRealStream(t *testing.T) {
	needCurl(t)
	t.Parallel()
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock", sseEnvelopes...)
	var got []streamed
	beats, connected := 0, false
	const maxDur = time.Second
	start := time.Now()
	err := curlClient(t, fa, "s1").Stream(t.Context(), 2, maxDur, func(id int64, data []byte) error {
		got = append(got, streamed{id, string(data)})
		return nil
	}, func() { beats++ }, func() { connected = true })
	if !connected {
		t.Error("connected was not called")
	}
	if err != nil {
		t.Fatalf("Stream: got %v, want nil once maxDur passes", err)
	}
	if elapsed := time.Since(start); elapsed < maxDur {
		t.Errorf("Stream returned after %v, before its maxDur of %v", elapsed, maxDur)
	}
	if want := wantStreamed(2); !reflect.DeepEqual(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	if beats == 0 {
		t.Error("no heartbeat reached beat")
	}
}

func TestCurlRealStreamStopsOnCallbackError(t *testing.T) {
	needCurl(t)
	fa := newFakeAgent(t, "")
	fa.AddServer("s1", "mock", sseEnvelopes...)
	errStop := errors.New("stop")
	start := time.Now()
	err := curlClient(t, fa, "s1").Stream(t.Context(), 0, 30*time.Second, func(id int64, _ []byte) error {
		return errStop
	}, nil, nil)
	if !errors.Is(err, errStop) {
		t.Errorf("Stream: got %v, want %v", err, errStop)
	}
	if elapsed := time.Since(start); elapsed >= 30*time.Second {
		t.Errorf("Stream ran its full maxDur (%v) after the callback failed, want it to stop at once", elapsed)
	}
}

func TestCurlRealStreamUnknownIDIsSessionNotFound(t *testing.T) {
	needCurl(t)
	fa := newFakeAgent(t, "")
	err := curlClient(t, fa, "gone").Stream(t.Context(), 0, 5*time.Second, func(int64, []byte) error { return nil }, nil, nil)
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Kind() != "session_not_found" || pe.Status != http.StatusNotFound {
		t.Errorf("Stream: got %v, want a 404 session_not_found problem", err)
	}
}

func TestCurlRealClosedPortIsUnreachable(t *testing.T) {
	needCurl(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := &Client{T: &Curl{Exec: localExec, Port: port}, ServerID: "s1"}
	if err := Health(t.Context(), c.T, 5*time.Second); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Health: got %v, want ErrUnreachable", err)
	}
	err = c.Stream(t.Context(), 0, 5*time.Second, func(int64, []byte) error { return nil }, nil, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Stream: got %v, want ErrUnreachable", err)
	}
}
