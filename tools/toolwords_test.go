package tools

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/token"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/gofiles"
)

// domainPackages are the packages below tools: none of them may word a failure, a stored reason or a log
// line with a tool's name or argument (issue 12). They say what happened and name the next step as a
// remedy.Step; the words for it are tools' (remedy.go).
var domainPackages = []string{"manager", "live", "sandbox", "events", "state", "eventlog", "acp"}

// TestNoToolWordsBelowTools scans the string literals of the domain packages' non-test Go files for the
// names of the tools this package registers and of their arguments and results, as snake_case words
// ("get_events", "wait_seconds", "next_cursor") or as name=value ("discard=true", "continue=<name>").
// Struct tags are left out: the JSON names of the results' fields are those words on purpose. Comments
// are not literals, so they may say which tool a piece of code serves.
func TestNoToolWordsBelowTools(t *testing.T) {
	words, assigns := toolWords(t)
	if !slices.Contains(words, "get_events") || !slices.Contains(words, "wait_seconds") || !slices.Contains(assigns, "discard") {
		t.Fatalf("the words taken from the tools look wrong: %v; %v", words, assigns)
	}
	word := regexp.MustCompile(`(?:^|[^A-Za-z0-9_])(` + strings.Join(words, "|") + `)(?:$|[^A-Za-z0-9_])`)
	assign := regexp.MustCompile(`(?:^|[\s(])((?:` + strings.Join(assigns, "|") + `)=)`)
	var bad []string
	for _, pkg := range domainPackages {
		for _, lit := range stringLiterals(t, filepath.Join("..", pkg)) {
			for _, re := range []*regexp.Regexp{word, assign} {
				if m := re.FindStringSubmatch(lit.value); m != nil {
					bad = append(bad, fmt.Sprintf("%s: %q in %s", lit.pos, m[1], strconv.Quote(lit.value)))
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("string literals below tools name a tool or its arguments; say what happened and give the error a remedy.Step (worded in tools/remedy.go), or use neutral words for stored reasons and logs:\n%s",
			strings.Join(bad, "\n"))
	}
}

// toolWords returns, from the registered tools, the snake_case words a domain literal must not contain
// (tool names, argument and result property names with an underscore) and the argument names that must
// not appear as name=.
func toolWords(t *testing.T) (words, assigns []string) {
	t.Helper()
	add := func(list []string, w string) []string {
		if !slices.Contains(list, w) {
			list = append(list, w)
		}
		return list
	}
	for _, st := range All(&fakeService{}, slog.New(slog.DiscardHandler)) {
		words = add(words, st.Tool.Name)
		for _, schema := range []json.RawMessage{st.Tool.RawInputSchema, st.Tool.RawOutputSchema} {
			var s struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(schema, &s); err != nil {
				t.Fatalf("%s: %v", st.Tool.Name, err)
			}
			for p := range s.Properties {
				if strings.Contains(p, "_") {
					words = add(words, regexp.QuoteMeta(p))
				}
			}
		}
		var in struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(st.Tool.RawInputSchema, &in)
		for p := range in.Properties {
			assigns = add(assigns, regexp.QuoteMeta(p))
		}
	}
	slices.Sort(words)
	slices.Sort(assigns)
	return words, assigns
}

// literal is one string literal of a Go file and where it is.
type literal struct {
	pos   token.Position
	value string
}

// stringLiterals returns the string literals of the non-test Go files under dir, struct tags and import
// paths left out.
func stringLiterals(t *testing.T, dir string) []literal {
	t.Helper()
	var out []literal
	err := gofiles.Walk(dir, func(fset *token.FileSet, f *ast.File) {
		skip := map[*ast.BasicLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				skip[n.Tag] = true
			case *ast.ImportSpec:
				skip[n.Path] = true
			case *ast.BasicLit:
				if n.Kind != token.STRING || skip[n] {
					return true
				}
				v, err := strconv.Unquote(n.Value)
				if err != nil {
					t.Errorf("%s: %v", fset.Position(n.Pos()), err)
					return true
				}
				out = append(out, literal{pos: fset.Position(n.Pos()), value: v})
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no string literals under %s: wrong directory?", dir)
	}
	return out
}
