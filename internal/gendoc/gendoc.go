// Package gendoc keeps generated blocks of the repository's Markdown in step with the code they describe.
// A block sits between `<!-- BEGIN GENERATED name -->` and `<!-- END GENERATED name -->`; everything
// outside it is hand-written and left alone. A test renders the block from the code (the FlagSet, the tools'
// golden schemas) and calls Check: the test fails when the file is stale, and UPDATE_DOCS=1 rewrites it.
package gendoc

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Replace returns doc with the block called name holding content, or an error when the markers are missing,
// repeated or out of order.
func Replace(doc, name, content string) (string, error) {
	begin, end := "<!-- BEGIN GENERATED "+name+" -->", "<!-- END GENERATED "+name+" -->"
	if strings.Count(doc, begin) != 1 || strings.Count(doc, end) != 1 {
		return "", fmt.Errorf("want exactly one %q and one %q", begin, end)
	}
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if j < i {
		return "", fmt.Errorf("%q comes before %q", end, begin)
	}
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	return doc[:i+len(begin)] + "\n" + content + doc[j:], nil
}

// Check fails t when the block called name in the file at path does not hold content. With UPDATE_DOCS=1 in
// the environment it rewrites the file instead (review the diff, then commit it with the code).
func Check(t testing.TB, path, name, content string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Replace(string(b), name, content)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if want == string(b) {
		return
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the %s block of %s", name, path)
		return
	}
	t.Errorf("%s: the generated %s block is stale: run UPDATE_DOCS=1 go test -run %s and review the diff\nfirst difference: %s",
		path, name, t.Name(), firstDiff(string(b), want))
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  file: %s\n  want: %s", i+1, gl, wl)
		}
	}
	return "(none)"
}

// Escape keeps plain text (a flag's usage, a schema's description) from turning into Markdown emphasis or
// HTML tags when it is put on a page: `*`, `<` and `>` are escaped.
func Escape(s string) string {
	return strings.NewReplacer("*", `\*`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// Cell makes text safe inside a Markdown table cell: pipes escaped, line breaks as spaces.
func Cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
