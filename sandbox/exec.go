package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Cmd is one external command. Args[0] is the program, looked up on PATH.
type Cmd struct {
	Args []string
	// Stdin is attached when non-nil; otherwise the child reads /dev/null.
	Stdin io.Reader
	// Stdout, when non-nil, streams the child's stdout; Result.Stdout stays empty.
	Stdout io.Writer
	// Env is the child's whole environment. Nil means the runner's base environment.
	Env []string
	// Timeout overrides the runner's default deadline; negative means none beyond ctx.
	Timeout time.Duration
}

// Result is what a finished command printed.
type Result struct {
	Stdout, Stderr []byte
}

// Runner runs external commands. It is the one seam between backends and the operating system, so tests
// can check exact argv with a fake, and the real one can be tested against impersonated CLIs.
type Runner interface {
	// Run runs c to completion. A non-zero exit is returned as *ExitError (with the stdout/stderr
	// captured so far in Result); a context deadline or cancellation wraps ctx.Err().
	Run(ctx context.Context, c Cmd) (Result, error)
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Args   []string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	name := e.Args[0]
	if len(e.Args) > 1 {
		name += " " + e.Args[1]
	}
	msg := tail(e.Stderr, 400)
	if msg == "" {
		return fmt.Sprintf("%s: exit status %d", name, e.Code)
	}
	return fmt.Sprintf("%s: exit status %d: %s", name, e.Code, msg)
}

// tail returns the last n bytes of s, trimmed and folded onto one line: errors become one-line tool results.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.Join(strings.Fields(s), " ")
}

// Exec is the real Runner.
type Exec struct {
	// Env is the base environment for children (an allowlist built by main, never the whole os.Environ).
	Env []string
	// Timeout is the default deadline of a call (Cmd.Timeout overrides it).
	Timeout time.Duration
	// MaxOutput caps the bytes captured from each of stdout and stderr; the rest is discarded.
	MaxOutput int
	Logger    *slog.Logger
}

// Run implements Runner.
func (r *Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Args) == 0 {
		return Result{}, errors.New("run: empty command")
	}
	timeout := r.Timeout
	if c.Timeout != 0 {
		timeout = c.Timeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	limit := r.MaxOutput
	if limit <= 0 {
		limit = 8 << 20
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = r.Env
	if c.Env != nil {
		cmd.Env = c.Env
	}
	cmd.Stdin = c.Stdin
	stdout := &capped{limit: limit}
	stderr := &capped{limit: limit}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	// Own process group, so that cancelling kills the CLI and anything it started (docker exec's
	// helpers, a fake CLI's children): no orphans survive a cancelled tool call.
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild holding our pipes must not keep Wait from returning.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if r.Logger != nil {
		r.Logger.Debug("exec", "args", c.Args, "duration", time.Since(start), "err", err)
	}
	if err == nil {
		return res, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, fmt.Errorf("%s: %w", strings.Join(c.Args[:min(2, len(c.Args))], " "), ctxErr)
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return res, Errorf(Unavailable, "%s is not installed or not on PATH", c.Args[0])
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		return res, &ExitError{Args: c.Args, Code: code, Stderr: string(res.Stderr)}
	}
	return res, fmt.Errorf("run %s: %w", c.Args[0], err)
}

// capped is a bytes.Buffer that silently drops what exceeds limit, so a runaway CLI cannot exhaust memory.
type capped struct {
	bytes.Buffer
	limit int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
