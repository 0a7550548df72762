//go:build !linux

package fakecli

import (
	"errors"
	"os/exec"
)

// Mount namespaces are Linux's: elsewhere the double has no --clone (clone_linux.go).

func nsAvailable() error {
	return errors.New("the test double's --clone needs Linux (mount namespaces)")
}

func nsWrap(cmd *exec.Cmd, clone, workspace string) (*exec.Cmd, error) {
	return nil, errors.New("the test double's --clone needs Linux")
}

func nsMain(args []string) int { return 2 }
