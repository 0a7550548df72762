package sandbox

import (
	"errors"
	"strings"
	"testing"
)

// FuzzValidateName: a name ValidateName accepts can go into any backend's argv as one word: it never
// starts with '-' (no flag injection), holds no shell metacharacter, whitespace or uppercase, and is 2-31
// bytes long. Every refusal wraps ErrInvalid in one line. DefaultName's output is always accepted.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"box1", "a", "ab", "-rm", "--privileged", "x$(reboot)", "a b", "Box", "a\n", "smcp-project-1a2b3c",
		strings.Repeat("a", 31), strings.Repeat("a", 32), "é1", "a_b", "a.b", "0-", "a;rm -rf /"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName("sandbox", name)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("refusal %q: want one line wrapping ErrInvalid", err)
			}
		} else {
			checkSafeName(t, name)
		}
		// Any workspace path, however odd, yields a usable default name.
		d := DefaultName(name)
		if err := ValidateName("sandbox", d); err != nil {
			t.Errorf("DefaultName(%q) = %q, refused: %v", name, d, err)
		}
		checkSafeName(t, d)
	})
}

func checkSafeName(t *testing.T, name string) {
	t.Helper()
	if len(name) < 2 || len(name) > 31 {
		t.Errorf("accepted %q of length %d, want 2-31", name, len(name))
	}
	if strings.HasPrefix(name, "-") {
		t.Errorf("accepted %q, which a CLI would read as a flag", name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }); i >= 0 {
		t.Errorf("accepted %q with %q (shell metacharacter, whitespace or other)", name, name[i:i+1])
	}
}
