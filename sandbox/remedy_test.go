package sandbox

import (
	"errors"
	"fmt"
	"testing"
)

// TestRemedy: a remedy adds nothing to an error's text and hides none of its kind or causes; the outermost
// remedy in a chain is the one that counts, and an error without one has the zero Remedy.
func TestRemedy(t *testing.T) {
	exit := &ExitError{Args: []string{"sbx", "ls"}, Code: 1}
	inner := Remedyf(NotFound, CreateSandbox, "unknown sandbox %q: %w", "box", exit)
	outer := WithRemedy(RecreateSandbox, fmt.Errorf("send: %w", inner))
	for _, tt := range []struct {
		name string
		err  error
		text string
		kind error
		want Remedy
	}{
		{"Remedyf", inner, `unknown sandbox "box": ` + exit.Error(), ErrNotFound, CreateSandbox},
		{"wrapped", fmt.Errorf("send: %w", inner), `send: unknown sandbox "box": ` + exit.Error(), ErrNotFound, CreateSandbox},
		{"the outermost remedy", outer, `send: unknown sandbox "box": ` + exit.Error(), ErrNotFound, RecreateSandbox},
		{"no kind", Remedyf(0, NewSession, "ended"), "ended", nil, NewSession},
		{"no remedy", Errorf(Invalid, "bad"), "bad", ErrInvalid, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("text %q, want %q", got, tt.text)
			}
			if tt.kind != nil && !errors.Is(tt.err, tt.kind) {
				t.Errorf("errors.Is(%v) = false", tt.kind)
			}
			for _, s := range []error{ErrNotFound, ErrExists, ErrInvalid, ErrUnavailable, ErrUnsupportedVersion} {
				if s != tt.kind && errors.Is(tt.err, s) {
					t.Errorf("errors.Is(%v) = true", s)
				}
			}
			if got := RemedyOf(tt.err); got != tt.want {
				t.Errorf("RemedyOf = %d, want %d", got, tt.want)
			}
		})
	}
	var ee *ExitError
	if !errors.As(outer, &ee) || ee != exit {
		t.Error("errors.As does not reach the cause through the remedies")
	}
	if WithRemedy(FollowTurn, nil) != nil {
		t.Error("WithRemedy(nil) is not nil")
	}
	seen := map[Remedy]bool{}
	for _, r := range Remedies() {
		if r == 0 || seen[r] {
			t.Errorf("Remedies lists %d twice or the zero Remedy", r)
		}
		seen[r] = true
	}
	if !seen[FollowTurn] || !seen[IncludeUncommitted] {
		t.Errorf("Remedies misses the first or the last remedy: %v", Remedies())
	}
}
