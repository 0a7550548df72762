package sandbox

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/gofiles"
)

// TestErrorf: an error of a kind is its kind's sentinel and no other, its text is the message alone, and
// the causes its %w verbs wrap stay reachable.
func TestErrorf(t *testing.T) {
	sentinelOf := map[Kind]error{NotFound: ErrNotFound, Exists: ErrExists, Invalid: ErrInvalid,
		Unavailable: ErrUnavailable, UnsupportedVersion: ErrUnsupportedVersion}
	exit := &ExitError{Args: []string{"sbx", "rm", "box"}, Code: 1, Stderr: "ERROR: boom"}
	for kind, sentinel := range sentinelOf {
		err := Errorf(kind, "sbx rm %s: %w", "box", exit)
		if got, want := err.Error(), "sbx rm box: "+exit.Error(); got != want {
			t.Errorf("kind %d: text %q, want %q", kind, got, want)
		}
		for other, s := range sentinelOf {
			if got := errors.Is(err, s); got != (other == kind) {
				t.Errorf("kind %d: errors.Is(%v) = %t", kind, s, got)
			}
			if got := errors.Is(fmt.Errorf("outer: %w", err), s); got != (other == kind) {
				t.Errorf("kind %d wrapped: errors.Is(%v) = %t", kind, s, got)
			}
		}
		var ee *ExitError
		if !errors.As(err, &ee) || ee != exit {
			t.Errorf("kind %d: errors.As does not reach the cause", kind)
		}
		if errors.Is(sentinel, err) {
			t.Errorf("kind %d: the sentinel must not match an error of its kind the other way round", kind)
		}
	}
	if err := Errorf(0, "no kind"); errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) || err.Error() != "no kind" {
		t.Errorf("the zero Kind: %v matches a sentinel or changed its text", err)
	}
	// Two errors of one kind are not each other: a sentinel made with Errorf (manager.ErrUnlanded) is found
	// only where it was wrapped.
	unlanded := Errorf(Invalid, "unlanded work")
	if other := Errorf(Invalid, "unlanded work"); errors.Is(other, unlanded) {
		t.Error("an error of the same kind and text matches another Errorf value")
	}
	if err := fmt.Errorf("box: %w", unlanded); !errors.Is(err, unlanded) || !errors.Is(err, ErrInvalid) {
		t.Error("a wrapped Errorf value is not found, or lost its kind")
	}
}

// TestNoWrappedSentinels: no code wraps a sentinel with %w any more (it would put "invalid request" and
// the like into the message a model reads); Errorf gives the kind without the words.
func TestNoWrappedSentinels(t *testing.T) {
	names := map[string]bool{"ErrNotFound": true, "ErrExists": true, "ErrInvalid": true, "ErrUnavailable": true, "ErrUnsupportedVersion": true}
	var bad []string
	err := gofiles.Walk("..", func(fset *token.FileSet, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSel(call.Fun, "fmt", "Errorf") {
				return true
			}
			for _, a := range call.Args {
				switch a := a.(type) {
				case *ast.Ident: // inside package sandbox
					if f.Name.Name == "sandbox" && names[a.Name] {
						bad = append(bad, fset.Position(a.Pos()).String())
					}
				case *ast.SelectorExpr:
					if isSel(a, "sandbox", a.Sel.Name) && names[a.Sel.Name] {
						bad = append(bad, fset.Position(a.Pos()).String())
					}
				}
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s: fmt.Errorf wraps a sentinel: use sandbox.Errorf with its Kind", b)
	}
}

// isSel reports whether e is pkg.name.
func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == pkg && s.Sel.Name == name
}
