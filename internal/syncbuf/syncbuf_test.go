package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name, written string
		n             int
		want          string
	}{
		{"all fits", "short log", 100, "short log"},
		{"cut", "first line\nlast line", 9, "…last line"},
		{"whole characters", "ab€", 2, "…"}, // € is 3 bytes: a 2-byte tail holds none of it
		{"empty", "", 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Buffer
			b.Write([]byte(tc.written))
			if got := b.Tail(tc.n); got != tc.want {
				t.Errorf("Tail(%d) of %q = %q, want %q", tc.n, tc.written, got, tc.want)
			}
		})
	}
}

// TestConcurrentReaders: one writer and readers at once (go test -race catches an unlocked path); every
// read is a prefix of the final content, and Bytes is a copy the caller may change.
func TestConcurrentReaders(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			b.Write([]byte("x"))
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if s := b.String(); strings.Trim(s, "x") != "" {
					t.Errorf("read %q", s)
					return
				}
				_ = b.Tail(10)
			}
		})
	}
	wg.Wait()
	got := b.Bytes()
	got[0] = 'y'
	if s := b.String(); s != strings.Repeat("x", 1000) {
		t.Errorf("after 1000 writes of x and a change to a copy of Bytes: %d bytes, %q first", len(s), s[:1])
	}
}
