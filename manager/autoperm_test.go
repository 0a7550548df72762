package manager

import (
	"encoding/json"
	"fmt"
	"testing"
)

// permParams builds session/request_permission params with one location and the usual three options.
func permParams(kind, path string) string {
	return fmt.Sprintf(`{"sessionId":"s","toolCall":{"toolCallId":"c1","kind":%q,"locations":[{"path":%q}]},`+
		`"options":[{"optionId":"always","kind":"allow_always"},{"optionId":"once","kind":"allow_once"},{"optionId":"no","kind":"reject_once"}]}`, kind, path)
}

func TestAutoOption(t *testing.T) {
	const ws = "/home/u/proj"
	onlyAlways := `{"toolCall":{"kind":"edit","locations":[{"path":"/home/u/proj/a.go"}]},"options":[{"optionId":"always","kind":"allow_always"},{"optionId":"no","kind":"reject_once"}]}`
	cases := []struct {
		name, policy, workspace, params, want string
	}{
		{"edit inside the workspace", AutoPermissionEdits, ws, permParams("edit", ws+"/src/a.go"), "once"},
		{"read inside the workspace", AutoPermissionEdits, ws, permParams("read", ws+"/README.md"), "once"},
		{"the workspace itself", AutoPermissionEdits, ws, permParams("read", ws), "once"},
		{"edit outside the workspace", AutoPermissionEdits, ws, permParams("edit", "/etc/passwd"), ""},
		{"a workspace of / bounds nothing", AutoPermissionEdits, "/", permParams("edit", "/etc/passwd"), ""},
		{"no workspace bounds nothing", AutoPermissionEdits, "", permParams("edit", "/etc/passwd"), ""},
		{"dot-dot out of the workspace", AutoPermissionEdits, ws, permParams("edit", ws+"/../../../etc/passwd"), ""},
		{"sibling with the workspace as prefix", AutoPermissionEdits, ws, permParams("edit", ws+"-evil/a"), ""},
		{"relative path", AutoPermissionEdits, ws, permParams("edit", "src/a.go"), ""},
		{".git hook", AutoPermissionEdits, ws, permParams("edit", ws+"/.git/hooks/pre-commit"), ""},
		{".git config", AutoPermissionEdits, ws, permParams("edit", ws+"/.git/config"), ""},
		{".claude settings", AutoPermissionEdits, ws, permParams("edit", ws+"/.claude/settings.json"), ""},
		{".vscode tasks deep down", AutoPermissionEdits, ws, permParams("edit", ws+"/sub/.vscode/tasks.json"), ""},
		{".envrc", AutoPermissionEdits, ws, permParams("edit", ws+"/.envrc"), ""},
		{".mcp.json", AutoPermissionEdits, ws, permParams("edit", ws+"/.mcp.json"), ""},
		{".github workflow", AutoPermissionEdits, ws, permParams("edit", ws+"/.github/workflows/ci.yml"), ""},
		{"execute is never an edit", AutoPermissionEdits, ws, permParams("execute", ws+"/a.sh"), ""},
		{"no location", AutoPermissionEdits, ws, `{"toolCall":{"kind":"edit"},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"only allow_always offered (edits)", AutoPermissionEdits, ws, onlyAlways, ""},
		{"only allow_always offered (all)", AutoPermissionAll, ws, onlyAlways, ""},
		{"all allows outside, once", AutoPermissionAll, ws, permParams("execute", "/etc/passwd"), "once"},
		{"off", AutoPermissionOff, ws, permParams("edit", ws+"/a"), ""},
		{"duplicate kind key in another case", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute","KIND":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate kind key, same case", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute","kind":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"key only in another case", AutoPermissionEdits, ws,
			`{"toolCall":{"KIND":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate path key", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"edit","locations":[{"path":"/etc/passwd","Path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"duplicate option kind", AutoPermissionAll, ws,
			`{"toolCall":{"kind":"edit"},"options":[{"optionId":"x","kind":"allow_always","Kind":"allow_once"}]}`, ""},
		{"duplicate toolCall", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":"execute"},"toolcall":{"kind":"edit","locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"kind not a string", AutoPermissionEdits, ws,
			`{"toolCall":{"kind":["edit"],"locations":[{"path":"/home/u/proj/a"}]},"options":[{"optionId":"once","kind":"allow_once"}]}`, ""},
		{"trailing garbage", AutoPermissionEdits, ws, permParams("edit", ws+"/a") + `x`, ""},
		{"not JSON", AutoPermissionAll, ws, `nope`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := autoOption(c.policy, c.workspace, json.RawMessage(c.params)); got != c.want {
				t.Errorf("autoOption(%s, %q, %s) = %q, want %q", c.policy, c.workspace, c.params, got, c.want)
			}
		})
	}
}
