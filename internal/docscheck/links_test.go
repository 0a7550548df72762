package docscheck

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRepositoryLinks is the check itself: every relative link in the repository's Markdown (README,
// SECURITY.md, CONTRIBUTING.md, docs/) names a file that exists and, with #anchor, a heading in it. When a
// section moves to another page, the links that pointed at it fail here.
func TestRepositoryLinks(t *testing.T) {
	root := repoRoot(t)
	probs, err := CheckLinks(root, "internal/docscheck")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("%s", p)
	}
}

// TestRepositoryHasLinks guards TestRepositoryLinks against passing vacuously: the README links into docs/
// with anchors, and Links finds them.
func TestRepositoryHasLinks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchored := 0
	for _, l := range Links(string(b)) {
		if strings.HasPrefix(l.Path, "docs/") && l.Anchor != "" {
			anchored++
		}
	}
	if anchored == 0 {
		t.Errorf("README.md has no link into docs/ with an anchor; the scanner or the README changed")
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Quick start: two commands":                   "quick-start-two-commands",
		"`create_sandbox`":                            "create_sandbox",
		"Templates for sbx and docker-sandbox":        "templates-for-sbx-and-docker-sandbox",
		"Why curl through exec, not a port":           "why-curl-through-exec-not-a-port",
		"13.0 Current sbx":                            "130-current-sbx",
		"See [the page](x.md) now":                    "see-the-page-now",
		"Agent output is bounded by bytes":            "agent-output-is-bounded-by-bytes",
		"Flags and environment variables (generated)": "flags-and-environment-variables-generated",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinks(t *testing.T) {
	md := "See [a](docs/a.md#x), [b](b.md) and [web](https://example.com/#y).\n" +
		"```\n[in code](nowhere.md)\n```\n" +
		"`[span](nowhere.md)` [self](#top) [t](c.md \"title\")\n" +
		"[ref]: docs/d.md#z\n[mail](mailto:x@example.com)\n"
	want := []Link{
		{Path: "docs/a.md", Anchor: "x", Line: 1},
		{Path: "b.md", Line: 1},
		{Path: "", Anchor: "top", Line: 5},
		{Path: "c.md", Line: 5},
		{Path: "docs/d.md", Anchor: "z", Line: 6},
	}
	if got := Links(md); !reflect.DeepEqual(got, want) {
		t.Errorf("Links = %+v, want %+v", got, want)
	}
}

func TestAnchors(t *testing.T) {
	md := "# Title\n## Tools\n### Tools\n```\n## Not a heading\n```\n<a id=\"custom\"></a>\n## Tools ##\n"
	want := map[string]bool{"title": true, "tools": true, "tools-1": true, "tools-2": true, "custom": true}
	if got := Anchors(md); !reflect.DeepEqual(got, want) {
		t.Errorf("Anchors = %v, want %v", got, want)
	}
}

// TestCheckLinks runs CheckLinks over a small tree holding each kind of broken link next to good ones.
func TestCheckLinks(t *testing.T) {
	root := fixture(t, map[string]string{
		"README.md": "# Top\n[ok](docs/a.md#one) [dir](docs/) [gone](docs/gone.md) [bad anchor](docs/a.md#three)\n" +
			"[self](#top) [self bad](#nope) [out](../x.md) [file](mcp.json)\n",
		"mcp.json":                 "{}\n",
		"docs/a.md":                "# A\n## One\n[up](../README.md#top) [up bad](../README.md#moved)\n",
		"skipped/s.md":             "[x](nowhere.md)\n",
		"node_modules/m/README.md": "[x](nowhere.md)\n",
	})
	wantProblems(t, "CheckLinks", CheckLinks, root, []string{
		"README.md:2: link docs/gone.md: docs/gone.md does not exist",
		"README.md:2: link docs/a.md#three: docs/a.md has no heading with that anchor",
		"README.md:3: link #nope: README.md has no heading with that anchor",
		"README.md:3: link ../x.md leaves the repository",
		"docs/a.md:3: link ../README.md#moved: README.md has no heading with that anchor",
	})
}

// TestReadmeIsAFrontPage keeps the README a front page: what sandbox-mcp is, how to start, and links. The
// reference material belongs in docs/.
func TestReadmeIsAFrontPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 250 {
		t.Errorf("README.md has %d lines; keep it under 250 and move the detail into a docs/ page", n)
	}
}
