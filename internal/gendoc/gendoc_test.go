package gendoc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplace(t *testing.T) {
	doc := "# T\nhand\n<!-- BEGIN GENERATED x -->\nold\n<!-- END GENERATED x -->\nmore hand\n"
	got, err := Replace(doc, "x", "new")
	if want := "# T\nhand\n<!-- BEGIN GENERATED x -->\nnew\n<!-- END GENERATED x -->\nmore hand\n"; err != nil || got != want {
		t.Errorf("Replace = %q, %v; want %q", got, err, want)
	}
	for name, bad := range map[string]string{
		"missing":   "# T\n",
		"repeated":  "<!-- BEGIN GENERATED x -->\n<!-- END GENERATED x -->\n<!-- BEGIN GENERATED x -->\n<!-- END GENERATED x -->\n",
		"reversed":  "<!-- END GENERATED x -->\n<!-- BEGIN GENERATED x -->\n",
		"other one": "<!-- BEGIN GENERATED y -->\n<!-- END GENERATED y -->\n",
	} {
		if _, err := Replace(bad, "x", "new"); err == nil {
			t.Errorf("%s: Replace accepted %q", name, bad)
		}
	}
}

// TestCheck: a stale block fails the test; UPDATE_DOCS=1 rewrites it, after which it passes.
func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := os.WriteFile(path, []byte("a\n<!-- BEGIN GENERATED x -->\nold\n<!-- END GENERATED x -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("UPDATE_DOCS", "")
	if ft := (&fakeT{TB: t}); func() bool { Check(ft, path, "x", "new\n"); return !ft.failed }() {
		t.Errorf("Check passed a stale block")
	}
	t.Setenv("UPDATE_DOCS", "1")
	Check(t, path, "x", "new\n")
	t.Setenv("UPDATE_DOCS", "")
	ft := &fakeT{TB: t}
	Check(ft, path, "x", "new\n")
	if ft.failed {
		t.Errorf("Check failed after UPDATE_DOCS=1 rewrote the file")
	}
}

func TestEscape(t *testing.T) {
	if got, want := Escape("ghcr.io/x/*:* in <dir>"), `ghcr.io/x/\*:\* in &lt;dir&gt;`; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
}

func TestCell(t *testing.T) {
	if got, want := Cell("a | b\n  c"), `a \| b c`; got != want {
		t.Errorf("Cell = %q, want %q", got, want)
	}
}

// fakeT records Errorf instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Helper()               {}
