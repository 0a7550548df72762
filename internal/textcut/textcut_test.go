package textcut

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHeadTailNeverSplitACharacter(t *testing.T) {
	s := "aé😀b" + strings.Repeat("€", 10) // 1, 2, 4, 1 and 3-byte characters
	for n := -1; n <= len(s)+1; n++ {
		h, tl := Head(s, n), Tail(s, n)
		if !utf8.ValidString(h) || !utf8.ValidString(tl) {
			t.Fatalf("n=%d: Head %q or Tail %q is not valid UTF-8", n, h, tl)
		}
		if len(h) > max(n, 0) || len(tl) > max(n, 0) || !strings.HasPrefix(s, h) || !strings.HasSuffix(s, tl) {
			t.Fatalf("n=%d: Head %q, Tail %q", n, h, tl)
		}
		// The longest such cut: one more character would not fit.
		if n >= 0 && n < len(s) {
			_, size := utf8.DecodeRuneInString(s[len(h):])
			if len(h)+size <= n {
				t.Errorf("n=%d: Head %q is shorter than it needs to be", n, h)
			}
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"ab€cd", 3, "ab… [5 more bytes]", true},
		{"x", 0, "… [1 more bytes]", true},
	} {
		got, cut := Clip(tc.in, tc.n)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Clip(%q, %d) = %q, %v; want %q, %v", tc.in, tc.n, got, cut, tc.want, tc.cut)
		}
	}
}

func TestJSONLenMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "\n\t\r\b\f\x01\x1f", "<a&b>", "é😀€", "\u2028\u2029", "bad\xff\xfeutf8", strings.Repeat("x<\x01é", 50)} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := JSONLen(s), len(b)-2; got != want {
			t.Errorf("JSONLen(%q) = %d, encoding/json writes %d", s, got, want)
		}
		for n := 0; n <= len(b); n++ {
			h := JSONHead(s, n)
			if JSONLen(h) > n || !strings.HasPrefix(s, h) || (utf8.ValidString(s) && !utf8.ValidString(h)) {
				t.Errorf("JSONHead(%q, %d) = %q (JSON length %d)", s, n, h, JSONLen(h))
			}
		}
	}
}

func TestJSONTail(t *testing.T) {
	s := strings.Repeat("x<\x01é😀", 20)
	for n := 0; n <= JSONLen(s)+1; n++ {
		tl := JSONTail(s, n)
		if JSONLen(tl) > n || !strings.HasSuffix(s, tl) || !utf8.ValidString(tl) {
			t.Fatalf("JSONTail(%d) = %q", n, tl)
		}
	}
}
