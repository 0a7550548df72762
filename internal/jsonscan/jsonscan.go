// Package jsonscan reads JSON text without reflection, accepting exactly what encoding/json accepts
// (RFC 8259, nesting up to encoding/json's 10000 levels, bytes of strings not checked as UTF-8, as
// json.Valid does) and unquoting strings exactly as encoding/json does.
//
// It exists because encoding/json's scanner makes an indirect call per byte and its decoder reflects, and
// every read of a session's log decodes every record it reads: the line (eventlog) and the envelope
// (events). With encoding/json those steps cost about ten times as much per record, which a host feels
// on calls that read a long log (docs/performance.md). The decoders built on it (eventlog's
// decodeAppended, events' decode.go) are the only ones for their formats; encoding/json is their
// reference in the tests, whose fuzz targets check that both give the same result for every input.
package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting as encoding/json does: deeper input is invalid for both.
const MaxDepth = 10000

// Scanner reads JSON from B at I. Its methods skip the whitespace before what they read, and on false
// leave I anywhere.
type Scanner struct {
	B     []byte
	I     int
	depth int // objects and arrays open
}

// Valid reports what json.Valid(b) reports, in about a third of the time.
func Valid(b []byte) bool {
	s := Scanner{B: b}
	return s.Skip() && s.End()
}

// WS skips whitespace.
func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// End reports whether only whitespace is left.
func (s *Scanner) End() bool {
	s.WS()
	return s.I == len(s.B)
}

// BeginObject consumes an object's '{'; Member then reads its members.
func (s *Scanner) BeginObject() bool {
	return s.begin('{')
}

// BeginArray consumes an array's '['; Element then reads its elements.
func (s *Scanner) BeginArray() bool {
	return s.begin('[')
}

func (s *Scanner) begin(c byte) bool {
	s.WS()
	if s.I >= len(s.B) || s.B[s.I] != c {
		return false
	}
	if s.depth >= MaxDepth {
		return false
	}
	s.I++
	s.depth++
	return true
}

// Member moves to the next member of the object being read and returns its key (unquoted bytes), which
// is plain when it is ASCII without escapes; s is then at the value, which the caller must consume.
// first: no member has been read yet. more=false: the object ended.
func (s *Scanner) Member(first bool) (key []byte, plain, more, ok bool) {
	s.WS()
	if s.I >= len(s.B) {
		return nil, false, false, false
	}
	switch c := s.B[s.I]; {
	case c == '}':
		s.I++
		s.depth--
		return nil, false, false, true
	case !first && c == ',':
		s.I++
		s.WS()
	case !first:
		return nil, false, false, false
	}
	start, end, plain, ok := s.str()
	if !ok {
		return nil, false, false, false
	}
	s.WS()
	if s.I >= len(s.B) || s.B[s.I] != ':' {
		return nil, false, false, false
	}
	s.I++
	return s.B[start+1 : end-1], plain, true, true
}

// Element moves to the next element of the array being read; s is then at the element, which the
// caller must consume. first: no element has been read yet. more=false: the array ended.
func (s *Scanner) Element(first bool) (more, ok bool) {
	s.WS()
	if s.I >= len(s.B) {
		return false, false
	}
	switch c := s.B[s.I]; {
	case c == ']':
		s.I++
		s.depth--
		return false, true
	case !first && c == ',':
		s.I++
		s.WS()
	case !first:
		return false, false
	}
	return true, true
}

// Span reads a value and returns its bytes, as a json.RawMessage member would hold them.
func (s *Scanner) Span() ([]byte, bool) {
	s.WS()
	start := s.I
	if !s.Skip() {
		return nil, false
	}
	return s.B[start:s.I:s.I], true
}

// Null consumes a null literal.
func (s *Scanner) Null() bool {
	s.WS()
	return s.literal("null")
}

// StringOrNull reads a string into *dst, or a null, which leaves *dst unchanged: what encoding/json
// does with a string field. Any other value: false (for encoding/json, a type error).
func (s *Scanner) StringOrNull(dst *string) bool {
	return s.StringOrNullOf(dst, nil)
}

// StringOrNullOf is StringOrNull for a member whose value is usually one of known (a method name, a
// kind): such a value is set without allocating.
func (s *Scanner) StringOrNullOf(dst *string, known []string) bool {
	if s.Null() {
		return true
	}
	start, end, plain, ok := s.str()
	if !ok {
		return false
	}
	body := s.B[start+1 : end-1]
	if !plain {
		*dst = Unquote(body)
		return true
	}
	for _, k := range known {
		if string(body) == k {
			*dst = k
			return true
		}
	}
	*dst = string(body)
	return true
}

// Key unquotes a key Member returned.
func Key(key []byte, plain bool) []byte {
	if plain {
		return key
	}
	return []byte(Unquote(key))
}

// Skip reads one value of any kind. (It reads objects and arrays itself rather than through Member and
// Element: Valid is Skip, and this is about a third faster.)
func (s *Scanner) Skip() bool {
	s.WS()
	if s.I >= len(s.B) {
		return false
	}
	switch c := s.B[s.I]; {
	case c == '{' || c == '[':
		if s.depth >= MaxDepth {
			return false
		}
		s.I++
		s.depth++
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		s.WS()
		if s.I < len(s.B) && s.B[s.I] == closing {
			s.I++
			s.depth--
			return true
		}
		for {
			if c == '{' {
				s.WS()
				if _, _, _, ok := s.str(); !ok {
					return false
				}
				s.WS()
				if s.I >= len(s.B) || s.B[s.I] != ':' {
					return false
				}
				s.I++
			}
			if !s.Skip() {
				return false
			}
			s.WS()
			if s.I >= len(s.B) {
				return false
			}
			switch s.B[s.I] {
			case ',':
				s.I++
			case closing:
				s.I++
				s.depth--
				return true
			default:
				return false
			}
		}
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

// str reads a string token at I and returns its bounds, quotes included, and whether it is plain: ASCII
// without escapes, so that its bytes are its value.
func (s *Scanner) str() (start, end int, plain, ok bool) {
	if s.I >= len(s.B) || s.B[s.I] != '"' {
		return 0, 0, false, false
	}
	start, plain = s.I, true
	b := s.B
	for i := s.I + 1; i < len(b); i++ {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			s.I = i + 1
			return start, s.I, plain, true
		case c < 0x20:
			return 0, 0, false, false
		case c >= 0x80:
			plain = false
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return 0, 0, false, false
			}
			i++
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return 0, 0, false, false
				}
				i += 4
			default:
				return 0, 0, false, false
			}
		}
	}
	return 0, 0, false, false
}

// plainByte marks the bytes that stand for themselves in a string: ASCII, not a control character, a
// quote or a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func (s *Scanner) literal(word string) bool {
	if len(s.B)-s.I < len(word) || string(s.B[s.I:s.I+len(word)]) != word {
		return false
	}
	s.I += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *Scanner) number() bool {
	b, i := s.B, s.I
	digits := func() bool {
		n := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.I = i
	return true
}

// Unquote decodes the body of a string token (quotes excluded) that the Scanner accepted, as encoding/json
// does: an invalid UTF-8 byte, and a \u escape of a surrogate that is not half of a pair, become U+FFFD.
func Unquote(body []byte) string {
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\\':
			if body[i+1] == 'u' {
				r := hex4(body[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
						r2 = hex4(body[i+2:])
					}
					if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
						i += 6 // a valid pair
					}
				}
				out = utf8.AppendRune(out, r)
				continue
			}
			out = append(out, unescape[body[i+1]])
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, body[i:i+n]...)
			}
			i += n
		}
	}
	return string(out)
}

// unescape maps the byte after a backslash (other than u) to what the escape stands for.
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads the 4 hex digits of a \u escape the Scanner accepted.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}
