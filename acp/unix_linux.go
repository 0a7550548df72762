package acp

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// oPath is O_PATH (010000000 on every architecture Go supports on Linux but alpha, parisc and sparc,
// which Go does not). The syscall package does not export it.
const oPath = 0x200000

// dialUnix connects to the socket at path without following a symlink there. The folder holding it is
// also mounted in the container, where a hostile agent could put a symlink in its place pointing at some
// other socket of the host (the Docker socket, say) for the server to talk to. So the path is opened with
// O_PATH|O_NOFOLLOW, checked to be a socket of our own uid, and connected to through /proc/self/fd/N,
// which names that very inode: nothing can be swapped between the check and the connect. It also keeps
// the address short (sun_path holds 108 bytes; state directories can be deeper).
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	fd, err := syscall.Open(path, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "unix", Err: fmt.Errorf("open %s: %w", path, err)}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "unix", Err: fmt.Errorf("stat %s: %w", path, err)}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFSOCK || int(st.Uid) != os.Getuid() {
		return nil, &net.OpError{Op: "dial", Net: "unix",
			Err: fmt.Errorf("%s is not a socket owned by uid %d (mode %o, uid %d)", path, os.Getuid(), st.Mode, st.Uid)}
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(fd))
}
