package docscheck

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRepositoryDocReferences is the check itself: every `docs/….md` and `§N` in the repository's .go and
// .md files resolves to a file in the repository and a heading in it.
func TestRepositoryDocReferences(t *testing.T) {
	root := repoRoot(t)
	probs, err := Check(root, "internal/docscheck")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("%s", p)
	}
	if len(probs) > 0 {
		t.Logf("fix the reference, or the heading it names (section numbers are the leading numbers of headings)")
	}
}

// TestRepositoryCitesUpstreamDocs guards the check against passing vacuously: the code does cite the
// upstream pages, and Check finds those citations.
func TestRepositoryCitesUpstreamDocs(t *testing.T) {
	root := repoRoot(t)
	for _, f := range []string{"sandbox/sandboxcli.go", "sandbox/dockersandbox.go"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		for _, r := range Scan(string(b)) {
			if strings.HasPrefix(r.Doc, "docs/upstream/") {
				docs = append(docs, r.Doc)
			}
		}
		if len(docs) == 0 {
			t.Errorf("%s cites no docs/upstream page; the scanner or the comment changed", f)
		}
	}
}

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []Ref
	}{
		{"path alone", "see docs/upstream/sbx.md for more",
			[]Ref{{Doc: "docs/upstream/sbx.md", Line: 1}}},
		{"path and sections", "(docs/upstream/sandbox-agent.md §5, §6.1 and §10)",
			[]Ref{{Doc: "docs/upstream/sandbox-agent.md", Sections: []string{"5", "6.1", "10"}, Line: 1}}},
		{"sections on the next comment line", "// plugin (docs/upstream/docker-sandboxes.md\n// §13 maps one onto the other)",
			[]Ref{{Doc: "docs/upstream/docker-sandboxes.md", Sections: []string{"13"}, Line: 1}}},
		{"range", "docs/upstream/docker-sandboxes.md §1–§12",
			[]Ref{{Doc: "docs/upstream/docker-sandboxes.md", Sections: []string{"1", "12"}, Line: 1}}},
		{"trailing full stop", "Read docs/architecture.md.",
			[]Ref{{Doc: "docs/architecture.md", Line: 1}}},
		{"markdown link with anchor", "[docs/sessions.md](docs/sessions.md#budgets)",
			[]Ref{{Doc: "docs/sessions.md", Line: 1}, {Doc: "docs/sessions.md", Line: 1}}},
		{"bare section", "a\n// spec §6: stopped", []Ref{{Sections: []string{"6"}, Line: 2}}},
		{"section after words is bare", `docs/upstream/docker-sandboxes.md §7 "stop" and §13`,
			[]Ref{{Doc: "docs/upstream/docker-sandboxes.md", Sections: []string{"7"}, Line: 1}, {Sections: []string{"13"}, Line: 1}}},
		{"another repository's docs", "in agentclientprotocol/agent-client-protocol/docs/protocol.md", nil},
		{"not markdown", "docs/protocol/v1/draft/prompt-turn.mdx", nil},
		{"a § sign without a number", "§ alone", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Scan(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Scan(%q) = %+v, want %+v", tc.text, got, tc.want)
			}
		})
	}
}

func TestHeadings(t *testing.T) {
	md := "# Title\n## Sources\n## 1. Status\n### 6.1 Shapes\n## 13. sbx\n### 13.0 Current\n#### §14.4 Exec dir\n" +
		"```\n## 99. in a code block\n```\n1. a numbered list item\n"
	got := Headings(md)
	want := map[string]bool{"1": true, "6.1": true, "13": true, "13.0": true, "14.4": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Headings = %v, want %v", got, want)
	}
}

// TestCheck runs Check over a small tree holding each kind of broken reference next to good ones.
func TestCheck(t *testing.T) {
	root := fixture(t, map[string]string{
		"docs/upstream/a.md":       "# A\n## 1. One\n### 1.1 Sub\n## 2. Two\nSee §2 and §3.\n",
		"pkg/x.go":                 "package pkg\n// docs/upstream/a.md §1.1 and §9\n",
		"pkg/y.go":                 "package pkg\n// §2 resolves through x.go's citation; §7 does not\n",
		"other/z.go":               "package other\n// §1 with no citation in this package\n",
		"third/w.go":               "package third\n\n// docs/missing.md\n",
		"node_modules/m/README.md": "docs/not-ours.md\n",
		"README.md":                "[A](docs/upstream/a.md) §2\n",
		"skipped/s.go":             "package skipped\n// docs/skipped.md\n",
	})
	wantProblems(t, "Check", Check, root, []string{
		"docs/upstream/a.md:5: §3 is not a section of docs/upstream/a.md",
		"other/z.go:2: §1, but neither this file nor its package cites a docs/ file",
		"pkg/x.go:2: docs/upstream/a.md has no section 9",
		"pkg/y.go:2: §7 is not a section of docs/upstream/a.md",
		"third/w.go:3: docs/missing.md does not exist",
	})
}

// fixture writes files (slash-separated paths under a new temporary root → content) and returns the root.
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// wantProblems runs check (named name) over root, leaving out its folder "skipped", and wants exactly the
// problems want, in that order.
func wantProblems(t *testing.T, name string, check func(root string, skip ...string) ([]Problem, error), root string, want []string) {
	t.Helper()
	probs, err := check(root, "skipped")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s found\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// repoRoot is the directory holding go.mod, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found above the package: %v", err)
	}
	return root
}
