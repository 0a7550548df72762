package acp

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnixClientRefusesSymlink: the socket folder is writable from inside the container, so a hostile
// agent can put a symlink where the relay's socket was, pointing at another socket of the host. The
// client connects only to a socket that is really there, never through a symlink.
func TestUnixClientRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "other.sock") // stands for the Docker socket, say
	l, err := net.Listen("unix", target)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") }))

	// A real socket works.
	resp, err := UnixClient(target).Get("http://sandbox-agent/v1/health")
	if err != nil {
		t.Fatalf("GET over a real socket: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "reached" {
		t.Fatalf("body = %q", b)
	}
	for _, tt := range []struct {
		name string
		make func(p string) error
		want string
	}{
		{"symlink to another socket", func(p string) error { return os.Symlink(target, p) }, "not a socket"},
		{"a regular file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "not a socket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := tt.make(p); err != nil {
				t.Fatal(err)
			}
			_, err := UnixClient(p).Get("http://sandbox-agent/v1/health")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GET = %v; want a refusal containing %q", err, tt.want)
			}
		})
	}
}

// TestUnixClientLongPath: the socket's path may exceed sun_path's 108 bytes (deep state directories).
func TestUnixClientLongPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", short)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	long := filepath.Join(dir, "agent.sock")
	if err := os.Link(short, long); err != nil { // a hard link names the same socket inode
		t.Fatal(err)
	}
	resp, err := UnixClient(long).Get("http://sandbox-agent/v1/health")
	if err != nil {
		t.Fatalf("GET over a %d-byte path: %v", len(long), err)
	}
	resp.Body.Close()
}
