package docscheck

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Link is one relative Markdown link found in a file: [text](target) or a reference definition
// `[label]: target`.
type Link struct {
	Path   string // the part before '#', as written (relative to the file); "" for a link into the same file
	Anchor string // the part after '#', "" when there is none
	Line   int    // 1-based
}

var (
	inlineLinkRE = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refDefRE     = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	codeSpanRE   = regexp.MustCompile("`+[^`]*`+")
	schemeRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// Links returns the relative links of a Markdown document: those with a URL scheme (https:, mailto:) and
// those inside fenced code or code spans are left out.
func Links(md string) []Link {
	var links []Link
	fenced := false
	for i, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		// A code span may hold text that looks like a link; its content is not Markdown.
		line = codeSpanRE.ReplaceAllString(line, "`c`")
		var targets []string
		for _, m := range inlineLinkRE.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := refDefRE.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, t := range targets {
			if schemeRE.MatchString(t) || strings.HasPrefix(t, "//") {
				continue
			}
			p, anchor, _ := strings.Cut(t, "#")
			links = append(links, Link{Path: p, Anchor: anchor, Line: i + 1})
		}
	}
	return links
}

// Anchors returns the anchors GitHub gives the headings of a Markdown document (its slugs: lower case,
// punctuation dropped, spaces as '-', a repeated slug numbered -1, -2, …), plus explicit
// <a id="…"> or <a name="…"> anchors.
func Anchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range htmlAnchorRE.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		m := atxHeadingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := Slug(m[1])
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

var (
	atxHeadingRE = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	htmlAnchorRE = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	linkTextRE   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// Slug is GitHub's anchor for a heading's text: links reduced to their text, lower case, every character
// that is not a letter, digit, '-', '_' or space dropped, spaces replaced by '-'.
func Slug(heading string) string {
	heading = linkTextRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// CheckLinks walks root and returns every relative link in a .md file whose file or directory does not exist,
// or whose anchor is not a heading of the Markdown file it points to. skip is as for Check.
func CheckLinks(root string, skip ...string) ([]Problem, error) {
	var probs []Problem
	anchors := map[string]map[string]bool{} // repository-relative .md → its anchors; nil when unreadable
	anchorsOf := func(rel string) map[string]bool {
		if a, ok := anchors[rel]; ok {
			return a
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			anchors[rel] = nil
			return nil
		}
		anchors[rel] = Anchors(string(b))
		return anchors[rel]
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || slices.Contains(skip, rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) != ".md" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, l := range Links(string(b)) {
			target := rel
			if l.Path != "" {
				target = path.Clean(path.Join(path.Dir(rel), l.Path))
				if target == ".." || strings.HasPrefix(target, "../") {
					probs = append(probs, Problem{rel, l.Line, fmt.Sprintf("link %s leaves the repository", l.Path)})
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
					probs = append(probs, Problem{rel, l.Line, fmt.Sprintf("link %s: %s does not exist", l.Path, target)})
					continue
				}
			}
			if l.Anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			if a := anchorsOf(target); !a[l.Anchor] {
				probs = append(probs, Problem{rel, l.Line, fmt.Sprintf("link %s#%s: %s has no heading with that anchor", l.Path, l.Anchor, target)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	return probs, nil
}
