package redact

import (
	"strings"
	"unicode/utf8"
)

// Stream redacts one text that arrives in pieces (an agent's message streamed as chunks), so that a
// secret split across pieces is caught as surely as one sent whole. Each Write returns the part of the
// text that may leave now, redacted; what could still be the start of a secret is held back until the
// next piece shows whether it is one, or until Flush. No prefix of a secret ever leaves, so nothing a
// reader joins from the pieces (in any grouping) spells a whole secret.
//
// A Stream is not safe for concurrent use. The zero value and one from an empty Redactor pass text
// through unchanged.
type Stream struct {
	r    *Redactor
	held string
}

// Stream starts a stream redacted by r.
func (r *Redactor) Stream() *Stream { return &Stream{r: r} }

// Write adds piece to the stream and returns what may leave now.
func (s *Stream) Write(piece string) string {
	if s.r.Empty() {
		return piece
	}
	text := s.r.String(s.held + piece)
	cut := s.holdFrom(text)
	s.held = text[cut:]
	return text[:cut]
}

// Flush returns what is held back (it begins a secret but the stream ended before the rest) and
// empties the stream.
func (s *Stream) Flush() string {
	out := s.held
	s.held = ""
	return out
}

// Held reports how many bytes are held back.
func (s *Stream) Held() int { return len(s.held) }

// holdFrom returns where the longest suffix of text that is a proper prefix of a secret (in any of
// its spellings) begins, or len(text) when there is none. text is already redacted, so a whole secret
// cannot end there; a secret that starts before the returned position and runs on would have its start
// in that suffix.
func (s *Stream) holdFrom(text string) int {
	longest := 0
	for _, f := range s.r.forms {
		longest = max(longest, len(f))
	}
	for i := max(0, len(text)-longest+1); i < len(text); i++ {
		rest := text[i:]
		for _, f := range s.r.forms {
			if len(rest) < len(f) && strings.HasPrefix(f, rest) {
				// Never cut inside a character: hold back from its first byte.
				for i > 0 && !utf8.RuneStart(text[i]) {
					i--
				}
				return i
			}
		}
	}
	return len(text)
}
