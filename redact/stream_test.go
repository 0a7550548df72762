package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestStream streams texts holding secrets in pieces of 1 to 3 bytes (and at random sizes) and checks
// that what leaves, joined, is the whole text redacted, and that no piece that leaves ends with the start
// of a secret: the pieces cannot be joined back into a key, whichever way a reader groups them.
func TestStream(t *testing.T) {
	// Two secrets where one's start overlaps the other's end, and one with a multi-byte character.
	secrets := []string{key, "0123456789-other-secret", "pässwörd-geheim"}
	r := New(secrets)
	texts := []string{
		"the key is " + key + ", done",
		key,
		key + key + " " + secrets[1],
		"sk-ant-test-012345678 (almost) and then " + key, // a near miss before the real one
		"ends with the start of it: sk-ant-",
		"unicode " + secrets[2] + " 😀 é",
		"no secret at all, just text",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, text := range texts {
		for _, size := range []int{1, 2, 3, 0} { // 0: random sizes from 1 to 12
			s := r.Stream()
			var out []string
			for rest := text; rest != ""; {
				n := size
				if n == 0 {
					n = 1 + rng.IntN(12)
				}
				n = min(n, len(rest))
				out = append(out, s.Write(rest[:n]))
				rest = rest[n:]
			}
			out = append(out, s.Flush())
			if got, want := strings.Join(out, ""), r.String(text); got != want {
				t.Errorf("%q in pieces of %d: joined %q, want %q", text, size, got, want)
			}
			for i, piece := range out[:len(out)-1] { // the flushed rest may begin a secret: nothing follows it
				for _, sec := range secrets {
					for k := 1; k < len(sec) && k <= len(piece); k++ {
						if strings.HasSuffix(piece, sec[:k]) {
							t.Errorf("%q in pieces of %d: piece %d %q ends with the start of a secret (%q)", text, size, i, piece, sec[:k])
						}
					}
				}
			}
		}
	}
}

func TestStreamEmptyPassesThrough(t *testing.T) {
	for _, r := range []*Redactor{nil, New(nil)} {
		s := r.Stream()
		if got := s.Write("sk-"); got != "sk-" || s.Flush() != "" {
			t.Errorf("an empty redactor's stream changed text: %q", got)
		}
	}
	var zero Stream
	if got := zero.Write("abc"); got != "abc" {
		t.Errorf("zero Stream: %q", got)
	}
}
