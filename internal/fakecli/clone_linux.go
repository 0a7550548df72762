package fakecli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// The mount namespace of a --clone sandbox (clone.go): every exec'd process starts as `sbx __ns CLONE
// WORKSPACE DIR PATH ARGV...` in a new mount namespace (Unshareflags CLONE_NEWNS; Go makes "/" private in
// it, so nothing propagates back), bind-mounts the clone over the workspace, changes to DIR (only now:
// a cwd taken before the mount would still be the user's folder) and execs PATH. Its children inherit
// the namespace, so the agent and everything it starts see the clone at the workspace's path.

// nsAvailable reports whether the double can give a sandbox a mount namespace.
func nsAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("the test double's --clone needs root (a private mount namespace per sandbox)")
	}
	return nil
}

// nsWrap turns cmd into the same command run through __ns.
func nsWrap(cmd *exec.Cmd, clone, workspace string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string{"sbx", nsSubcommand, clone, workspace, cmd.Dir, cmd.Path}, cmd.Args...)
	attr := attachedProcAttr()
	attr.Unshareflags = syscall.CLONE_NEWNS
	return &exec.Cmd{Path: exe, Args: args, Env: cmd.Env, Dir: "/", WaitDelay: cmd.WaitDelay, SysProcAttr: attr}, nil
}

// nsMain is __ns, in the new namespace.
func nsMain(args []string) int {
	if len(args) < 5 {
		return 2
	}
	clone, ws, dir, path, argv := args[0], args[1], args[2], args[3], args[4:]
	if err := syscall.Mount(clone, ws, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		fmt.Fprintf(os.Stderr, "OCI runtime exec failed: mount the clone at %s: %v: unknown\n", ws, err)
		return 126
	}
	if err := os.Chdir(dir); err != nil {
		fmt.Fprintf(os.Stderr, "OCI runtime exec failed: chdir to cwd (%q) failed: %v: unknown\n", dir, err)
		return 126
	}
	err := syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "OCI runtime exec failed: exec failed: %v: unknown\n", err)
	return 126
}
