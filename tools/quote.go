package tools

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// The text forms of results, the transcript and the review prompt show what the agent wrote beside
// what we write about it (event kinds, status lines, permission answers, headings). The agent must not
// be able to pass its text off as ours, so agent text never reaches them bare:
//
//   - a short field (an id, a title, an option, an error) is one line: a word of plain characters as is,
//     anything else as a JSON string, so a newline or a quote in it cannot end the line or the field;
//   - a message is a block whose every line starts with a marker (block), or in Markdown a fenced code
//     block whose fence is longer than any run of backticks in it (fence), which nothing inside can close.

// plainWord is what a field may look like to be shown unquoted.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$`)

// word shows an agent-controlled field: as is when it is a plain word, else quoted.
func word(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return quote(s)
}

// quote is s as a JSON string (without HTML escaping): one line, its quotes and control characters
// escaped.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// blockMarker starts every line of agent text in the plain-text forms.
const blockMarker = "  │ "

// block returns s as lines that each start with blockMarker, ending in a newline (nothing for empty s).
// Characters a reader might take for a line break other than \n (\r, U+0085, U+2028, U+2029, other
// control characters) are shown escaped, so every line of s is marked.
func block(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteString(blockMarker)
		b.WriteString(escapeBreaks(line))
		b.WriteByte('\n')
	}
	return b.String()
}

// escapeBreaks escapes every control and line-breaking character except tab.
func escapeBreaks(s string) string {
	if !strings.ContainsFunc(s, isBreak) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isBreak(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBreak(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029
}

// fence returns s as a Markdown fenced code block (info string lang) that nothing in s can close: its
// fence is one backtick longer than the longest run of backticks in s, and at least three.
func fence(lang, s string) string {
	n, run := 3, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			n = max(n, run+1)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	return f + lang + "\n" + escapeBreaksKeepNewlines(strings.TrimSuffix(s, "\n")) + "\n" + f + "\n"
}

// escapeBreaksKeepNewlines is escapeBreaks for each line of s.
func escapeBreaksKeepNewlines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escapeBreaks(l)
	}
	return strings.Join(lines, "\n")
}
