package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/internal/gendoc"
)

// toolsDoc is the tools reference; each tool's block in it is generated from its golden schema.
const toolsDoc = "../docs/tools.md"

// docSchema is the part of a JSON schema the reference shows. Properties stay raw so their order (the Go
// struct's, which is the order a model reads) survives.
type docSchema struct {
	Type                 string          `json:"type"`
	Description          string          `json:"description"`
	Format               string          `json:"format"`
	Enum                 []any           `json:"enum"`
	Items                json.RawMessage `json:"items"` // a schema, or true for any value
	Properties           json.RawMessage `json:"properties"`
	Required             []string        `json:"required"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
}

// docTool is a golden file: the tool as tools/list shows it.
type docTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Annotations struct {
		Title                                                        string
		ReadOnlyHint, DestructiveHint, IdempotentHint, OpenWorldHint bool
	} `json:"annotations"`
	InputSchema  docSchema `json:"inputSchema"`
	OutputSchema docSchema `json:"outputSchema"`
}

// properties decodes an object's properties in the order they are written.
func properties(raw json.RawMessage) ([]string, map[string]docSchema, error) {
	if len(raw) == 0 {
		return nil, nil, nil
	}
	props := map[string]docSchema{}
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var names []string
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	return names, props, nil
}

// items is an array's item schema, nil when any value goes (`"items": true`).
func (s docSchema) items() *docSchema {
	var it docSchema
	if len(s.Items) == 0 || s.Items[0] != '{' || json.Unmarshal(s.Items, &it) != nil {
		return nil
	}
	return &it
}

// typeName says what a value is: a type, "array of" its items, "map of" its values, and its enum.
func typeName(s docSchema) string {
	t := s.Type
	switch {
	case t == "array" && s.items() != nil:
		t = "array of " + typeName(*s.items())
	case t == "object" && len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false":
		var v docSchema
		if json.Unmarshal(s.AdditionalProperties, &v) == nil && v.Type != "" {
			t = "map of " + v.Type
		}
	case s.Format != "":
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vs []string
		for _, v := range s.Enum {
			vs = append(vs, fmt.Sprintf("`%v`", v))
		}
		t += ": " + strings.Join(vs, ", ")
	}
	return t
}

// fieldRows renders an object's fields as table rows, nested fields with dotted paths (`[]` for arrays).
func fieldRows(b *strings.Builder, s docSchema, prefix string) error {
	names, props, err := properties(s.Properties)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := props[n]
		req := ""
		if slices.Contains(s.Required, n) {
			req = "yes"
		}
		fmt.Fprintf(b, "| `%s%s` | %s | %s | %s |\n", prefix, n, gendoc.Cell(typeName(p)), req, gendoc.Cell(gendoc.Escape(p.Description)))
		switch {
		case p.Type == "object" && len(p.Properties) > 0:
			err = fieldRows(b, p, prefix+n+".")
		case p.Type == "array" && p.items() != nil && len(p.items().Properties) > 0:
			err = fieldRows(b, *p.items(), prefix+n+"[].")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// toolBlock renders one tool's reference from its golden file.
func toolBlock(golden []byte) (string, error) {
	var t docTool
	if err := json.Unmarshal(golden, &t); err != nil {
		return "", err
	}
	a := t.Annotations
	var hints []string
	for _, h := range []struct {
		on   bool
		name string
	}{{a.ReadOnlyHint, "read-only"}, {a.DestructiveHint, "destructive"}, {a.IdempotentHint, "idempotent"}, {a.OpenWorldHint, "open world"}} {
		if h.on {
			hints = append(hints, h.name)
		}
	}
	if len(hints) == 0 {
		hints = []string{"none"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (hints: %s)\n\n%s\n\n", a.Title, strings.Join(hints, ", "), gendoc.Escape(t.Description))
	for _, part := range []struct {
		title string
		s     docSchema
	}{{"Arguments", t.InputSchema}, {"Result (`structuredContent`)", t.OutputSchema}} {
		if len(part.s.Properties) == 0 || string(part.s.Properties) == "{}" {
			fmt.Fprintf(&b, "%s: none.\n\n", part.title)
			continue
		}
		fmt.Fprintf(&b, "%s:\n\n| field | type | required | description |\n|---|---|---|---|\n", part.title)
		if err := fieldRows(&b, part.s, ""); err != nil {
			return "", err
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// summaryTable lists the tools with their titles and hints, linking to each one's section.
func summaryTable(names []string) (string, error) {
	var b strings.Builder
	b.WriteString("| tool | title | read-only | destructive | idempotent | open world |\n|---|---|:-:|:-:|:-:|:-:|\n")
	for _, n := range names {
		g, err := os.ReadFile(filepath.Join("testdata", "schemas", n+".json"))
		if err != nil {
			return "", err
		}
		var t docTool
		if err := json.Unmarshal(g, &t); err != nil {
			return "", err
		}
		mark := func(on bool) string {
			if on {
				return "✓"
			}
			return ""
		}
		a := t.Annotations
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s | %s | %s |\n", n, n, gendoc.Cell(a.Title),
			mark(a.ReadOnlyHint), mark(a.DestructiveHint), mark(a.IdempotentHint), mark(a.OpenWorldHint))
	}
	return b.String(), nil
}

var toolBlockRE = regexp.MustCompile(`<!-- BEGIN GENERATED TOOL ([a-z0-9_]+) -->`)

// TestToolsDoc keeps docs/tools.md in step with the tools: the summary table and each tool's block
// (description, annotations, argument and result fields) are rendered from the golden schemas, in the
// order tools/list shows the tools, and compared with the file. A tool without a block, or a block for a
// tool that does not exist, fails too. UPDATE_DOCS=1 rewrites the blocks (after UPDATE_GOLDEN=1, when the
// schemas changed).
func TestToolsDoc(t *testing.T) {
	var names []string
	for _, st := range All(&fakeService{}, slog.New(slog.DiscardHandler)) {
		names = append(names, st.Tool.Name)
	}
	sum, err := summaryTable(names)
	if err != nil {
		t.Fatal(err)
	}
	gendoc.Check(t, toolsDoc, "TOOLS", sum)
	for _, n := range names {
		g, err := os.ReadFile(filepath.Join("testdata", "schemas", n+".json"))
		if err != nil {
			t.Fatalf("%s: no golden schema (run UPDATE_GOLDEN=1 go test ./tools/ first): %v", n, err)
		}
		block, err := toolBlock(g)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		gendoc.Check(t, toolsDoc, "TOOL "+n, block)
	}
	doc, err := os.ReadFile(toolsDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range toolBlockRE.FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(names, m[1]) {
			t.Errorf("%s has a block for %s, which is not a tool: remove it", toolsDoc, m[1])
		}
	}
}

// TestReadmeListsEveryTool keeps the README's tool table complete: every tool, linked to its section of
// docs/tools.md.
func TestReadmeListsEveryTool(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range All(&fakeService{}, slog.New(slog.DiscardHandler)) {
		n := st.Tool.Name
		if !strings.Contains(string(readme), "| [`"+n+"`](docs/tools.md#"+n+") |") {
			t.Errorf("README.md's tool table has no row for %s linking to docs/tools.md#%s", n, n)
		}
	}
}
