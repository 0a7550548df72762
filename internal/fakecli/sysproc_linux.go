package fakecli

import "syscall"

// attachedProcAttr puts an attached exec's process in its own group (so
// signals and stop/rm reach the whole group) and, via Pdeathsig, has the
// kernel SIGKILL it if the fake CLI dies, as the process would die with a
// dropped exec session. Pdeathsig is Linux-only, hence this file.
func attachedProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
