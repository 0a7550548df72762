package sandbox

import "syscall"

// procAttr puts the child in its own process group (so cancelling kills everything it started) and asks
// the kernel to SIGKILL it if the server dies, even by SIGKILL: a `docker exec` or `sbx exec` streaming
// events must not outlive the server that reads it. (Pdeathsig follows the thread that started the child;
// Go only retires threads that a goroutine locked and left, which this program never does.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
