package events

import "unicode/utf8"

// jsonScan reads JSON from b at i, strictly as encoding/json's scanner does (RFC 8259). Its methods
// report false on anything they do not accept, and the caller then leaves the input to encoding/json.
type jsonScan struct {
	b     []byte
	i     int
	depth int
}

// maxScanDepth bounds nesting; deeper input goes to encoding/json (whose own limit is 10000).
const maxScanDepth = 64

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only whitespace is left.
func (s *jsonScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// beginObject consumes an object's '{'.
func (s *jsonScan) beginObject() bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' || s.depth >= maxScanDepth {
		return false
	}
	s.i++
	s.depth++
	return true
}

// member moves to the next member of the object being read and returns its key (unquoted bytes), which
// is plain when it is ASCII without escapes; s is then at the value, which the caller must consume.
// more=false: the object ended.
func (s *jsonScan) member(first bool) (key []byte, plain, more, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, false, false, false
	}
	switch c := s.b[s.i]; {
	case c == '}':
		s.i++
		s.depth--
		return nil, false, false, true
	case !first && c == ',':
		s.i++
		s.ws()
	case !first:
		return nil, false, false, false
	}
	start, end, plain, ok := s.str()
	if !ok {
		return nil, false, false, false
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, false, false, false
	}
	s.i++
	return s.b[start+1 : end-1], plain, true, true
}

// span reads a value and returns its bytes, as a json.RawMessage member would hold them.
func (s *jsonScan) span() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip() {
		return nil, false
	}
	return s.b[start:s.i:s.i], true
}

// null consumes a null literal.
func (s *jsonScan) null() bool {
	s.ws()
	return s.literal("null")
}

// stringOrNull reads a string into *dst (if dst is set), or a null, which leaves *dst unchanged as
// encoding/json does. Any other value: false.
func (s *jsonScan) stringOrNull(dst *string) bool {
	if s.null() {
		return true
	}
	start, end, plain, ok := s.str()
	if !ok {
		return false
	}
	if dst == nil {
		return true
	}
	if plain {
		*dst = string(s.b[start+1 : end-1])
		return true
	}
	*dst, ok = unquote(s.b[start+1 : end-1])
	return ok
}

// str reads a string token and returns its bounds, quotes included, and whether it is plain: ASCII
// without escapes, so that its bytes are its value.
func (s *jsonScan) str() (start, end int, plain, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, false, false
	}
	start, plain = s.i, true
	b := s.b
	for i := s.i + 1; i < len(b); i++ {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i == len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return start, s.i, plain, true
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

// unquote decodes the body of a valid string token as encoding/json does, when it is valid UTF-8 and has
// no \u escape in the surrogate range. Otherwise false (encoding/json's replacement rules apply there).
func unquote(body []byte) (string, bool) {
	if !utf8.Valid(body) {
		return "", false
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch c = body[i]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			var r rune
			for _, h := range body[i+1 : i+5] {
				switch {
				case h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a':
					r = r<<4 | rune(h-'a'+10)
				default:
					r = r<<4 | rune(h-'A'+10)
				}
			}
			if 0xd800 <= r && r < 0xe000 {
				return "", false
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default: // '"', '\\', '/'
			out = append(out, c)
		}
	}
	return string(out), true
}

// skip reads one value of any kind.
func (s *jsonScan) skip() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		if !s.beginObject() {
			return false
		}
		for first := true; ; first = false {
			_, _, more, ok := s.member(first)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !s.skip() {
				return false
			}
		}
	case c == '[':
		if s.depth >= maxScanDepth {
			return false
		}
		s.i++
		s.depth++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			s.depth--
			return true
		}
		for {
			if !s.skip() {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
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

func (s *jsonScan) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() bool {
	b, i := s.b, s.i
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
	s.i = i
	return true
}
