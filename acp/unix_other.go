//go:build !linux

package acp

import (
	"context"
	"errors"
	"net"
)

// dialUnix: the socket transport is Linux only (the Docker backend never picks it elsewhere), because only
// there can the socket be opened without following a symlink and connected to through /proc/self/fd.
func dialUnix(context.Context, string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: "unix", Err: errors.New("the socket transport needs Linux")}
}
