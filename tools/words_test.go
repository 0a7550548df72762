package tools

import (
	"log/slog"
	"maps"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// toolsPkg is this package; the words of its own types are in their tags.
var toolsPkg = reflect.TypeFor[Service]().PkgPath()

// reachable returns the struct types reachable from roots through fields, pointers, slices and maps.
func reachable(roots ...reflect.Type) map[reflect.Type]bool {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			if seen[t] {
				return
			}
			seen[t] = true
			for i := range t.NumField() {
				walk(t.Field(i).Type)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return seen
}

// serviceTypes are the types of the Service's parameters and results: everything the tools take from
// or give to the domain (TestToolsReturnServiceResults checks that the tools add no other result type).
func serviceTypes() (params, results []reflect.Type) {
	svc := reflect.TypeFor[Service]()
	for i := range svc.NumMethod() {
		m := svc.Method(i).Type
		for j := range m.NumIn() {
			params = append(params, m.In(j))
		}
		results = append(results, m.Out(0))
	}
	return params, results
}

// TestToolsReturnServiceResults: every tool's output schema is that of a Service result, so the walks
// below, which start from the Service, see every type a tool returns.
func TestToolsReturnServiceResults(t *testing.T) {
	_, results := serviceTypes()
	schemas := map[string]bool{}
	for _, r := range results {
		schemas[string(Schema(reflect.Zero(r).Interface()))] = true
	}
	for _, st := range All(&fakeService{}, slog.New(slog.DiscardHandler)) {
		if !schemas[string(st.Tool.RawOutputSchema)] {
			t.Errorf("%s returns a type that is no Service result: make serviceTypes see it", st.Tool.Name)
		}
	}
}

var schemaTag = regexp.MustCompile(`(^|\s)jsonschema\w*:`)

// TestSchemaWordsOnlyInTools: the domain's types carry no jsonschema tags; their fields' descriptions
// and enums are the tools' words, in words.go (issue 12).
func TestSchemaWordsOnlyInTools(t *testing.T) {
	params, results := serviceTypes()
	types := reachable(append(params, results...)...)
	for _, must := range []reflect.Type{reflect.TypeFor[events.Event](), reflect.TypeFor[state.MCPServer]()} {
		if !types[must] {
			t.Fatalf("the walk misses %v: it checks nothing", must)
		}
	}
	for typ := range types {
		if typ.PkgPath() == toolsPkg {
			continue
		}
		for i := range typ.NumField() {
			if f := typ.Field(i); schemaTag.MatchString(string(f.Tag)) {
				t.Errorf("%v.%s has a jsonschema tag: the words of the tools go in tools/words.go, not in %s", typ, f.Name, typ.PkgPath())
			}
		}
	}
}

// undescribed are the result fields that have no description today (the goldens show them bare): the
// ACP-shaped parts of an event and the token counts, whose names say it all.
var undescribed = map[reflect.Type][]string{
	reflect.TypeFor[events.ToolCall]():    {"ID", "Title", "Kind", "Status"},
	reflect.TypeFor[events.Diff]():        {"Path"},
	reflect.TypeFor[events.Location]():    {"Path", "Line"},
	reflect.TypeFor[events.PlanEntry]():   {"Content", "Priority", "Status"},
	reflect.TypeFor[events.Command]():     {"Name", "Description"},
	reflect.TypeFor[events.ConfigValue](): {"ID", "Value"},
	reflect.TypeFor[events.Permission]():  {"Options"},
	reflect.TypeFor[events.Option]():      {"ID", "Name"},
	reflect.TypeFor[events.Usage](): {"InputTokens", "OutputTokens", "CachedReadTokens", "CachedWriteTokens",
		"ThoughtTokens", "TotalTokens"},
}

// TestResultFieldsDescribed: every field of the domain types the tools show has words, but for those
// listed in undescribed; a field added to a result without words fails here.
func TestResultFieldsDescribed(t *testing.T) {
	params, roots := serviceTypes()
	shown := reachable(append(params, roots...)...)
	for typ := range descriptions {
		if shown[typ] {
			roots = append(roots, typ) // the domain types the tools take as arguments too (state.MCPServer)
		}
	}
	for typ := range reachable(roots...) {
		// Only the module's own types: time.Time and the like are not ours to describe.
		if !strings.HasPrefix(typ.PkgPath(), path.Dir(toolsPkg)+"/") || typ.PkgPath() == toolsPkg {
			continue
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || f.Anonymous || f.Tag.Get("json") == "-" {
				continue
			}
			described := descriptions[typ][f.Name] != ""
			bare := slices.Contains(undescribed[typ], f.Name)
			if !described && !bare {
				t.Errorf("%v.%s has no description: add one to tools/words.go", typ, f.Name)
			}
			if described && bare {
				t.Errorf("%v.%s is described: take it off undescribed", typ, f.Name)
			}
		}
	}
}

// TestWordsNameFields: every word is for a field a tool shows, declared on the type it is keyed by (an
// embedded struct's fields are looked up by the embedded type), so none is lost silently to a rename.
func TestWordsNameFields(t *testing.T) {
	params, results := serviceTypes()
	shown := reachable(append(params, results...)...)
	check := func(table string, typ reflect.Type, fields []string) {
		if !shown[typ] {
			t.Errorf("%s: %v is not a type the tools show", table, typ)
			return
		}
		for _, field := range fields {
			f, ok := typ.FieldByName(field)
			switch {
			case !ok || len(f.Index) != 1:
				t.Errorf("%s: %v has no field %s of its own", table, typ, field)
			case !f.IsExported() || f.Tag.Get("json") == "-":
				t.Errorf("%s: %v.%s is not in the JSON", table, typ, field)
			case table == "enums" && f.Type.Kind() != reflect.String:
				t.Errorf("enums: %v.%s is not a string field", typ, field)
			}
		}
	}
	for typ, fields := range descriptions {
		check("descriptions", typ, slices.Collect(maps.Keys(fields)))
		for field, d := range fields {
			if d == "" {
				t.Errorf("descriptions: %v.%s is empty", typ, field)
			}
		}
	}
	for typ, fields := range enums {
		check("enums", typ, slices.Collect(maps.Keys(fields)))
		for field, values := range fields {
			if len(values) == 0 {
				t.Errorf("enums: %v.%s has no values", typ, field)
			}
		}
	}
	for typ, fields := range undescribed {
		check("undescribed", typ, fields)
	}
}
