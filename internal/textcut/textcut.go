// Package textcut shortens text to a byte budget without ever splitting a UTF-8 character, so a cut
// string stays valid UTF-8 (a split character would reach the host as U+FFFD, or break a strict decoder).
package textcut

import "unicode/utf8"

// Head returns the longest prefix of s that is at most n bytes and ends on a character boundary.
func Head(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Tail returns the longest suffix of s that is at most n bytes and starts on a character boundary.
func Tail(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

// Clip returns s when it fits in n bytes; otherwise its head, cut on a character boundary, followed by
// a note saying how many bytes were cut. The result may exceed n by the note's length (under 40 bytes).
// It reports whether it cut.
func Clip(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	h := Head(s, n)
	return h + "… [" + itoa(len(s)-len(h)) + " more bytes]", true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// JSONLen is the length of s encoded as the contents of a JSON string by encoding/json (HTML characters
// escaped, as Go's default does): the most any JSON encoder makes of it.
func JSONLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		size := runeJSONLen(s[i:])
		n += size.out
		i += size.in
	}
	return n
}

// JSONHead returns the longest prefix of s, cut on a character boundary, whose JSON encoding (as
// JSONLen counts it) is at most n bytes.
func JSONHead(s string, n int) string {
	used := 0
	for i := 0; i < len(s); {
		size := runeJSONLen(s[i:])
		if used+size.out > n {
			return s[:i]
		}
		used += size.out
		i += size.in
	}
	return s
}

// JSONClip is Clip by JSON length: s when its encoding fits in n bytes, else its head that fits,
// followed by note(bytes cut).
func JSONClip(s string, n int, note func(cut int) string) (string, bool) {
	h := JSONHead(s, n)
	if len(h) == len(s) {
		return s, false
	}
	return h + note(len(s)-len(h)), true
}

// MoreBytes is the usual note for JSONClip: "… [N more bytes]".
func MoreBytes(cut int) string { return "… [" + itoa(cut) + " more bytes]" }

type sizes struct{ in, out int }

// runeJSONLen measures the first character of s (len(s) > 0) in s and in JSON, as encoding/json writes it.
func runeJSONLen(s string) sizes {
	b := s[0]
	if b < utf8.RuneSelf {
		switch {
		case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t' || b == '\b' || b == '\f':
			return sizes{1, 2}
		case b < 0x20 || b == '<' || b == '>' || b == '&':
			return sizes{1, 6} // \u00XX
		}
		return sizes{1, 1}
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return sizes{1, 6} // written as \ufffd
	}
	if r == '\u2028' || r == '\u2029' {
		return sizes{size, 6}
	}
	return sizes{size, size}
}

// JSONTail returns the longest suffix of s, starting on a character boundary, whose JSON encoding (as
// JSONLen counts it) is at most n bytes.
func JSONTail(s string, n int) string {
	total := JSONLen(s)
	i := 0
	for i < len(s) && total > n {
		size := runeJSONLen(s[i:])
		total -= size.out
		i += size.in
	}
	return s[i:]
}
