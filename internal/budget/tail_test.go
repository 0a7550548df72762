package budget

import (
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		writes  []string
		want    string
		wantCut int64
	}{
		{"under the limit", 10, []string{"ab", "cd"}, "abcd", 0},
		{"exactly the limit", 4, []string{"ab", "cd"}, "abcd", 0},
		{"many small writes keep the end", 5, strings.Split("abcdefghijklmnopqrstuvwxyz", ""), "vwxyz", 21},
		{"one write over the limit", 3, []string{"ab", "cdefgh"}, "fgh", 5},
		{"a cut on a character boundary", 4, []string{"aé", "éé"}, "éé", 3},
		{"a cut never splits a character", 3, []string{"aé", "éé"}, "é", 5},
		{"nothing written", 4, nil, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := Tail{Max: tc.max}
			total := 0
			for _, w := range tc.writes {
				tl.WriteString(w)
				total += len(w)
				if len(tl.buf) > 2*tc.max+len(w) {
					t.Fatalf("holds %d bytes, over 2×Max plus one write", len(tl.buf))
				}
			}
			got, cut := tl.String()
			if got != tc.want || cut != tc.wantCut || tl.Len() != int64(total) {
				t.Errorf("String() = %q, %d; Len %d; want %q, %d; %d", got, cut, tl.Len(), tc.want, tc.wantCut, total)
			}
		})
	}
}

// TestTailMemory: a megabyte written in small pieces is held in at most 2×Max bytes.
func TestTailMemory(t *testing.T) {
	tl := Tail{Max: 1000}
	for range 100_000 {
		tl.WriteString("0123456789")
	}
	if cap(tl.buf) > 4*tl.Max {
		t.Errorf("buffer capacity %d after 1 MB of writes, want at most %d", cap(tl.buf), 4*tl.Max)
	}
	if got, cut := tl.String(); len(got) != 1000 || cut != 1_000_000-1000 {
		t.Errorf("kept %d bytes, cut %d", len(got), cut)
	}
}
