package remedy

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestRemedy: a remedy adds nothing to an error's text and hides none of its kind or causes; the outermost
// remedy in a chain is the one that counts, and an error without one has the zero Step.
func TestRemedy(t *testing.T) {
	exit := &sandbox.ExitError{Args: []string{"sbx", "ls"}, Code: 1}
	inner := Errorf(sandbox.NotFound, CreateSandbox, "unknown sandbox %q: %w", "box", exit)
	outer := With(RecreateSandbox, fmt.Errorf("send: %w", inner))
	for _, tt := range []struct {
		name string
		err  error
		text string
		kind error
		want Step
	}{
		{"Errorf", inner, `unknown sandbox "box": ` + exit.Error(), sandbox.ErrNotFound, CreateSandbox},
		{"wrapped", fmt.Errorf("send: %w", inner), `send: unknown sandbox "box": ` + exit.Error(), sandbox.ErrNotFound, CreateSandbox},
		{"the outermost remedy", outer, `send: unknown sandbox "box": ` + exit.Error(), sandbox.ErrNotFound, RecreateSandbox},
		{"no kind", Errorf(0, NewSession, "ended"), "ended", nil, NewSession},
		{"no remedy", sandbox.Errorf(sandbox.Invalid, "bad"), "bad", sandbox.ErrInvalid, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("text %q, want %q", got, tt.text)
			}
			if tt.kind != nil && !errors.Is(tt.err, tt.kind) {
				t.Errorf("errors.Is(%v) = false", tt.kind)
			}
			for _, s := range []error{sandbox.ErrNotFound, sandbox.ErrExists, sandbox.ErrInvalid, sandbox.ErrUnavailable, sandbox.ErrUnsupportedVersion} {
				if s != tt.kind && errors.Is(tt.err, s) {
					t.Errorf("errors.Is(%v) = true", s)
				}
			}
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of = %d, want %d", got, tt.want)
			}
		})
	}
	var ee *sandbox.ExitError
	if !errors.As(outer, &ee) || ee != exit {
		t.Error("errors.As does not reach the cause through the remedies")
	}
	if With(FollowTurn, nil) != nil {
		t.Error("With(nil) is not nil")
	}
	seen := map[Step]bool{}
	for _, r := range All() {
		if r == 0 || seen[r] {
			t.Errorf("All lists %d twice or the zero Step", r)
		}
		seen[r] = true
	}
	if !seen[FollowTurn] || !seen[IncludeUncommitted] {
		t.Errorf("All misses the first or the last remedy: %v", All())
	}
}
