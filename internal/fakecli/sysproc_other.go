//go:build !linux

package fakecli

import "syscall"

// attachedProcAttr: without Pdeathsig (non-Linux), the process group is still
// killed by stop/rm and by forwarded signals, but not if the fake is SIGKILLed.
func attachedProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
