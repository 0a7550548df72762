package e2e

import (
	"os"
	"sync"
	"time"
)

// eachProc calls fn with the pid and the command line (NUL-separated, as /proc holds it) of every process
// on this machine that has one: a process gone before it is read, or a zombie (whose command line is
// empty), is passed over.
func eachProc(fn func(pid string, cmdline []byte)) {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid := d.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		fn(pid, cmdline)
	}
}

// procWatch reads every process's command line over and over, while a scenario runs, and hands each one
// to look until look keeps it: a kept process is not looked at again (the same pid with another command
// line is another process), one not kept is looked at on every pass. look runs with mu held, so that the
// scan's own findings can share mu.
type procWatch struct {
	stopc, done chan struct{}
	once        sync.Once

	mu     sync.Mutex
	kept   map[string]bool // pid + "\x00" + command line
	passes int
}

// watch starts the passes, every interval, until stop.
func (w *procWatch) watch(every time.Duration, look func(pid string, cmdline []byte) (keep bool)) {
	w.stopc, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		for {
			w.pass(look)
			select {
			case <-w.stopc:
				return
			case <-time.After(every):
			}
		}
	}()
}

func (w *procWatch) pass(look func(pid string, cmdline []byte) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kept == nil {
		w.kept = map[string]bool{}
	}
	w.passes++
	eachProc(func(pid string, cmdline []byte) {
		key := pid + "\x00" + string(cmdline)
		if !w.kept[key] && look(pid, cmdline) {
			w.kept[key] = true
		}
	})
}

// forgetLocked has every process looked at again (for something new to look for). The caller holds mu.
func (w *procWatch) forgetLocked() { w.kept = nil }

// stop ends the passes and waits for the one under way; a watch never started is stopped already.
func (w *procWatch) stop() {
	if w.stopc == nil {
		return
	}
	w.once.Do(func() { close(w.stopc) })
	<-w.done
}
