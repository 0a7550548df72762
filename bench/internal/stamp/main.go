// Command stamp runs a command with its stdout passed through line by line, and records when each line that
// carries one of the scripted agent's `stream` chunks ("s<i> ") was written. Those are the agent-side emission
// times behind bench's BenchmarkEmitToVisible, taken without changing the scripted agent (internal/testagent):
// the benchmark installs stamp in front of it as sandbox-agent's mock-agent launcher.
//
//	stamp OUTDIR COMMAND [ARG...]
//
// Each chunk line appends "<i> <unix nanoseconds>\n" to OUTDIR/stamps-<pid>. The time is taken the moment
// the line can be read from the agent's stdout pipe, before it is passed on, so the pass-through hop (one
// pipe, tens of microseconds) counts as delivery delay, never as emission. stdin and stderr are the
// command's own; the command dies with stamp (Pdeathsig) and stamp exits with its status.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/bench/internal/streamchunk"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: stamp OUTDIR COMMAND [ARG...]")
		os.Exit(2)
	}
	out, err := os.OpenFile(filepath.Join(os.Args[1], "stamps-"+strconv.Itoa(os.Getpid())), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stamp:", err) // the agent still runs; the benchmark then reports missing stamps
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pipe, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stamp:", err)
		os.Exit(127)
	}
	r := bufio.NewReaderSize(pipe, 1<<16)
	for {
		line, err := r.ReadSlice('\n')
		now := time.Now().UnixNano()
		if len(line) > 0 {
			if _, werr := os.Stdout.Write(line); werr != nil {
				break
			}
			if i := streamchunk.Index(line); i > 0 && out != nil {
				_, _ = fmt.Fprintf(out, "%d %d\n", i, now)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(max(ee.ExitCode(), 1))
	case err != nil:
		os.Exit(1)
	}
}
