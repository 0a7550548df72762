// Package budget holds the small byte-bounded containers the server uses where agent output would
// otherwise grow without limit.
package budget

import "unicode/utf8"

// Tail keeps the last Max bytes of what is written to it, for texts whose end matters most (a turn's
// final text, a transcript): memory stays under 2×Max plus one write, however much is written.
type Tail struct {
	Max int
	buf []byte
	cut int64 // bytes written before buf's start
}

// WriteString appends s.
func (t *Tail) WriteString(s string) {
	if len(s) >= t.Max {
		t.cut += int64(len(t.buf) + len(s) - t.Max)
		t.buf = append(t.buf[:0], s[len(s)-t.Max:]...)
		return
	}
	t.buf = append(t.buf, s...)
	if len(t.buf) > 2*t.Max {
		drop := len(t.buf) - t.Max
		t.cut += int64(drop)
		t.buf = t.buf[:copy(t.buf, t.buf[drop:])]
	}
}

// Len is how many bytes were written in all.
func (t *Tail) Len() int64 { return t.cut + int64(len(t.buf)) }

// Recent returns the end of what was kept (up to n bytes), to look at without copying it all.
func (t *Tail) Recent(n int) []byte { return t.buf[max(0, len(t.buf)-n):] }

// String returns the last Max bytes at most, starting on a whole UTF-8 character, and how many bytes
// written before them are left out.
func (t *Tail) String() (text string, cut int64) {
	b, cut := t.buf, t.cut
	if len(b) > t.Max {
		cut += int64(len(b) - t.Max)
		b = b[len(b)-t.Max:]
	}
	if cut > 0 {
		for i := 0; i < len(b) && i < utf8.UTFMax && !utf8.RuneStart(b[0]); i++ {
			b, cut = b[1:], cut+1
		}
	}
	return string(b), cut
}
