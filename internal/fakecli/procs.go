package fakecli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Process registry. In the real product every exec'd process lives inside the
// sandbox VM, so `stop`/`rm` take all of them down at once. The double mimics
// that by starting each exec'd process as its own process-group leader and
// recording "<pgid> <starttime>" in <dir>/procs/<pid>; stop/rm SIGKILL every
// recorded group.
//
// The start time (field 22 of /proc/<pid>/stat) guards against PID reuse:
// if the leader is alive but its start time differs, the number now belongs
// to someone else and is left alone. If the leader is gone, Linux cannot hand
// its PID to a new process while any member of the group still exists, so
// signalling the group is still safe.

func (e *env) procsDir(name string) string { return filepath.Join(e.dir(name), "procs") }

// register records a started group leader. Callers hold the state lock so a
// concurrent stop cannot miss a process that is being started.
func (e *env) register(name string, pid int) error {
	dir := e.procsDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rec := strconv.Itoa(pid) + " " + procStart(pid) + "\n"
	return os.WriteFile(filepath.Join(dir, strconv.Itoa(pid)), []byte(rec), 0o644)
}

func (e *env) unregister(name string, pid int) {
	os.Remove(filepath.Join(e.procsDir(name), strconv.Itoa(pid)))
}

// killAll SIGKILLs every registered group of the sandbox and forgets them,
// as a VM going away would.
func (e *env) killAll(name string) { e.killAllExcept(name, 0) }

// killAllExcept is killAll sparing the group led by except (the VM process
// stopping its own sandbox).
func (e *env) killAllExcept(name string, except int) {
	dir := e.procsDir(name)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range ents {
		p := filepath.Join(dir, de.Name())
		if except != 0 && de.Name() == strconv.Itoa(except) {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil {
			killGroup(string(b))
		}
		os.Remove(p)
	}
}

func killGroup(rec string) {
	f := strings.Fields(rec)
	if len(f) == 0 {
		return
	}
	pgid, err := strconv.Atoi(f[0])
	if err != nil || pgid <= 1 {
		return
	}
	want := ""
	if len(f) > 1 {
		want = f[1]
	}
	if now := procStart(pgid); now != "" && want != "" && now != want {
		return // PID reused by an unrelated process
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // ESRCH: the group already died
}

// procStart returns the kernel start time of pid, or "" if it does not exist.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may contain spaces and parens: split after
	// the last ')'. Fields then start at field 3 (state); starttime is 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
