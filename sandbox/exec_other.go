//go:build !linux

package sandbox

import "syscall"

// procAttr puts the child in its own process group, so cancelling kills everything it started.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
