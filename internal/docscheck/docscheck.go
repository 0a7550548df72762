// Package docscheck finds the references to the repository's own documentation in source comments and
// Markdown (`docs/….md`, optionally followed by section numbers such as `§6.1`) and checks that each one
// resolves: the file exists, and every section number is the number of a heading in it. A comment that cites
// a spec a clone does not have is a dead end for the next reader; the test in this package keeps them live.
//
// A bare `§N` (without a path in front) refers to the documents its context cites: in a Go file, those cited
// anywhere in the same package directory; in a Markdown file, the file itself and those it cites.
package docscheck

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Ref is one reference found in a file.
type Ref struct {
	Doc      string   // repository-relative path, e.g. docs/upstream/sandbox-agent.md; "" for a bare §N
	Sections []string // section numbers cited after it, e.g. ["6", "6.1"]
	Line     int      // 1-based line of the path (or of the bare §)
}

// docRE matches a candidate path; docPath decides whether it is a reference to a repository doc.
var docRE = regexp.MustCompile(`docs/[A-Za-z0-9_./-]+`)

// docPath returns the doc path in the candidate match text[start:end], or "" when it is none: the path
// must not continue a longer path or word (so `foo/docs/x.md` and URLs into other repositories do not
// count) and must end in `.md` once trailing punctuation is dropped (so `.mdx` does not count).
func docPath(text string, start, end int) string {
	if start > 0 && strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-", rune(text[start-1])) {
		return ""
	}
	p := strings.TrimRight(text[start:end], "./-")
	if !strings.HasSuffix(p, ".md") {
		return ""
	}
	return p
}

// secRE matches one section number right after '§'.
var secRE = regexp.MustCompile(`^§(\d+(?:\.\d+)*)`)

// Scan returns the references in text. Section numbers belong to the path before them when only
// separators (spaces, newlines, comment markers, commas, dashes, "and", "or") stand between; other § are
// bare.
func Scan(text string) []Ref {
	var refs []Ref
	claimed := map[int]bool{} // byte offsets of § already attached to a path
	for _, m := range docRE.FindAllStringIndex(text, -1) {
		doc := docPath(text, m[0], m[1])
		if doc == "" {
			continue
		}
		r := Ref{Doc: doc, Line: 1 + strings.Count(text[:m[0]], "\n")}
		pos := m[0] + len(doc)
		for {
			pos = skipSeparators(text, pos)
			sm := secRE.FindStringSubmatch(text[pos:])
			if sm == nil {
				break
			}
			claimed[pos] = true
			r.Sections = append(r.Sections, strings.TrimSuffix(sm[1], "."))
			pos += len(sm[0])
		}
		refs = append(refs, r)
	}
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "§")
		if j < 0 {
			break
		}
		at := i + j
		if sm := secRE.FindStringSubmatch(text[at:]); sm != nil && !claimed[at] {
			refs = append(refs, Ref{Sections: []string{sm[1]}, Line: 1 + strings.Count(text[:at], "\n")})
		}
		i = at + len("§")
	}
	return refs
}

// skipSeparators moves past what may stand between a path and its sections, or between two sections.
func skipSeparators(text string, pos int) int {
	for pos < len(text) {
		rest := text[pos:]
		switch {
		case strings.HasPrefix(rest, "//"):
			pos += 2
		case strings.HasPrefix(rest, "–"), strings.HasPrefix(rest, "—"):
			pos += len("–")
		case strings.HasPrefix(rest, "and "), strings.HasPrefix(rest, "or "):
			pos += strings.Index(rest, " ")
		case strings.ContainsRune(" \t\r\n,;-*#", rune(rest[0])):
			pos++
		default:
			return pos
		}
	}
	return pos
}

// Headings returns the section numbers of a Markdown document: the leading number of each heading, as in
// `## 6. The ACP transport` (6) or `### 13.0 Current sbx` (13.0). Headings inside fenced code are ignored.
func Headings(md string) map[string]bool {
	nums := map[string]bool{}
	fenced := false
	sc := bufio.NewScanner(strings.NewReader(md))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil && !fenced {
			nums[m[1]] = true
		}
	}
	return nums
}

var headingRE = regexp.MustCompile(`^#{1,6}\s+§?(\d+(?:\.\d+)*)\.?(?:\s|$)`)

// Problem is a reference that does not resolve.
type Problem struct {
	File string // repository-relative
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// skipDirs are not part of the project's sources: caches, installed packages and git's own files.
var skipDirs = map[string]bool{".git": true, ".cache": true, "node_modules": true}

// Check walks root and returns every reference in a .go or .md file that does not resolve. skip names
// repository-relative directories to leave out (this package's own, whose tests hold broken references on
// purpose).
func Check(root string, skip ...string) ([]Problem, error) {
	type file struct {
		rel  string
		refs []Ref
	}
	var files []file
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			if path != root && (skipDirs[d.Name()] || slices.Contains(skip, filepath.ToSlash(rel))) {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".md" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, file{rel: filepath.ToSlash(rel), refs: Scan(string(b))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}

	headings := map[string]map[string]bool{} // doc → section numbers; nil when the doc is missing
	load := func(doc string) map[string]bool {
		if h, ok := headings[doc]; ok {
			return h
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(doc)))
		if err != nil {
			headings[doc] = nil
			return nil
		}
		headings[doc] = Headings(string(b))
		return headings[doc]
	}

	// The documents each Go package directory cites, for its bare §.
	pkgDocs := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f.rel, ".go") {
			dir := filepath.ToSlash(filepath.Dir(f.rel))
			for _, r := range f.refs {
				if r.Doc != "" && !slices.Contains(pkgDocs[dir], r.Doc) {
					pkgDocs[dir] = append(pkgDocs[dir], r.Doc)
				}
			}
		}
	}

	var probs []Problem
	for _, f := range files {
		var context []string // what a bare § in this file may refer to
		if strings.HasSuffix(f.rel, ".go") {
			context = pkgDocs[filepath.ToSlash(filepath.Dir(f.rel))]
		} else {
			context = []string{f.rel}
			for _, r := range f.refs {
				if r.Doc != "" && !slices.Contains(context, r.Doc) {
					context = append(context, r.Doc)
				}
			}
		}
		for _, r := range f.refs {
			if r.Doc != "" {
				h := load(r.Doc)
				if h == nil {
					probs = append(probs, Problem{f.rel, r.Line, fmt.Sprintf("%s does not exist", r.Doc)})
					continue
				}
				for _, s := range r.Sections {
					if !h[s] {
						probs = append(probs, Problem{f.rel, r.Line, fmt.Sprintf("%s has no section %s", r.Doc, s)})
					}
				}
				continue
			}
			s := r.Sections[0]
			if len(context) == 0 {
				probs = append(probs, Problem{f.rel, r.Line, fmt.Sprintf("§%s, but neither this file nor its package cites a docs/ file", s)})
				continue
			}
			found := false
			for _, doc := range context {
				if h := load(doc); h != nil && h[s] {
					found = true
					break
				}
			}
			if !found {
				probs = append(probs, Problem{f.rel, r.Line, fmt.Sprintf("§%s is not a section of %s", s, strings.Join(context, " or "))})
			}
		}
	}
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return probs, nil
}
