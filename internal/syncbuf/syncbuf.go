// Package syncbuf is a bytes.Buffer that one goroutine writes while others read: a child's or a server's
// output captured while the test goes on. It imports nothing of the project's but textcut, so that every
// test package can use it, internal/testagent's included (testkit imports testagent: a buffer kept there
// could not serve testagent's own tests).
package syncbuf

import (
	"bytes"
	"sync"

	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
)

// Buffer is a bytes.Buffer safe for one writer goroutine and concurrent readers. Its zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes is a copy of what was written so far.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// Tail is the last n bytes or fewer (whole characters), after "…" when something was left out: a child's
// log in a failure message.
func (l *Buffer) Tail(n int) string {
	s := l.String()
	if t := textcut.Tail(s, n); len(t) < len(s) {
		return "…" + t
	}
	return s
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
