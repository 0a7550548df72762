package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// fakeService records calls and returns canned results or an error.
type fakeService struct {
	err   error
	calls []string
}

func (f *fakeService) record(s string) error { f.calls = append(f.calls, s); return f.err }

func (f *fakeService) CreateSandbox(_ context.Context, r manager.CreateSandboxRequest) (manager.SandboxResult, error) {
	return manager.SandboxResult{Name: "box", Backend: "sbx", Workspace: r.Workspace, Status: "running", AgentVersion: "0.4.2"},
		f.record("create_sandbox " + r.Workspace + " " + r.Name)
}
func (f *fakeService) DestroySandbox(_ context.Context, name string, keep ...manager.KeepWork) (manager.DestroyResult, error) {
	call := "destroy_sandbox " + name
	if len(keep) > 0 && keep[0] != (manager.KeepWork{}) {
		call += fmt.Sprintf(" %+v", keep[0])
	}
	return manager.DestroyResult{Name: name, Destroyed: true}, f.record(call)
}
func (f *fakeService) LandSandbox(_ context.Context, r manager.LandRequest) (manager.LandResult, error) {
	return manager.LandResult{Sandbox: r.Sandbox, Workspace: "/w", Commits: 1}, f.record(fmt.Sprintf("land_sandbox %+v", r))
}
func (f *fakeService) CreateSession(_ context.Context, r manager.CreateSessionRequest) (manager.SessionResult, error) {
	return manager.SessionResult{Sandbox: r.Sandbox, Name: "mock-1", Agent: r.Agent, Status: "idle", AgentInfo: json.RawMessage(`{"name":"x"}`)},
		f.record("create_session " + r.Sandbox + " " + r.Agent)
}
func (f *fakeService) SendMessage(_ context.Context, r manager.SendRequest) (manager.TurnResult, error) {
	return manager.TurnResult{Sandbox: r.Sandbox, Session: r.Session, TurnID: "turn-1", Status: "running"}, f.record("send_message " + r.Message)
}
func (f *fakeService) GetEvents(_ context.Context, r manager.EventsRequest) (live.Page, error) {
	return live.Page{Sandbox: r.Sandbox, Session: r.Session, Status: "idle", Events: []events.Event{{Seq: 1, Kind: "agent_message", Text: "hi"}}, NextCursor: 1},
		f.record(fmt.Sprintf("get_events %d %d", r.Cursor, r.Limit))
}
func (f *fakeService) RespondPermission(_ context.Context, sb, s, id, opt string) (manager.PermissionResult, error) {
	return manager.PermissionResult{RequestID: id, Outcome: opt, Status: "running"}, f.record("respond_permission " + id + " " + opt)
}
func (f *fakeService) CancelTurn(_ context.Context, sb, s string) (manager.CancelResult, error) {
	return manager.CancelResult{TurnID: "turn-1", Status: "running"}, f.record("cancel_turn")
}

func (f *fakeService) ListSandboxes(context.Context) (manager.SandboxList, error) {
	return manager.SandboxList{Sandboxes: []manager.SandboxEntry{{Name: "box", Backend: "sbx", Status: "running", Ours: true,
		Sessions: []manager.SessionEntry{{Name: "mock-1", Agent: "mock", Status: "idle"}}}}}, f.record("list_sandboxes")
}
func (f *fakeService) ListSessions(_ context.Context, sb string) (manager.SessionList, error) {
	return manager.SessionList{Sandbox: sb, Sessions: []manager.SessionEntry{{Name: "mock-1", Agent: "mock", Status: "running", Turns: 2, Pending: 1}}},
		f.record("list_sessions " + sb)
}

func (f *fakeService) Diff(_ context.Context, sb string) (manager.DiffResult, error) {
	return manager.DiffResult{Sandbox: sb, Workspace: "/w", Diff: "diff --git a/x b/x\n", Untracked: []string{"new.txt"}}, f.record("get_diff " + sb)
}

func byName(t *testing.T, svc Service) map[string]server.ServerTool {
	t.Helper()
	m := map[string]server.ServerTool{}
	for _, st := range All(svc, slog.New(slog.DiscardHandler)) {
		m[st.Tool.Name] = st
	}
	return m
}

// TestSchemasGolden snapshots every tool's definition: a change to what the model sees must be a
// reviewed diff. UPDATE_GOLDEN=1 rewrites the files.
func TestSchemasGolden(t *testing.T) {
	for name, st := range byName(t, &fakeService{}) {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(st.Tool, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "schemas", name+".json")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("no golden file (run with UPDATE_GOLDEN=1 and review it): %v", err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Errorf("tool %s changed; review and run UPDATE_GOLDEN=1:\n%s", name, got)
			}
		})
	}
}

// TestInventory checks what every tool must have: a valid name, title, description, all annotations set,
// inline object schemas with descriptions on every property, and no top-level combinators.
func TestInventory(t *testing.T) {
	tools := byName(t, &fakeService{})
	for _, want := range []string{"create_sandbox", "create_session", "send_message", "get_events", "destroy_sandbox", "respond_permission", "cancel_turn"} {
		if _, ok := tools[want]; !ok {
			t.Errorf("tool %s missing", want)
		}
	}
	nameRE := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for name, st := range tools {
		tool := st.Tool
		a := tool.Annotations
		if !nameRE.MatchString(name) || tool.Description == "" || tool.Title == "" || a.Title == "" {
			t.Errorf("%s: name, description or title missing", name)
		}
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: annotations not all set: %+v", name, a)
		}
		for kind, raw := range map[string]json.RawMessage{"input": tool.RawInputSchema, "output": tool.RawOutputSchema} {
			var s map[string]any
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%s %s schema: %v", name, kind, err)
			}
			if s["type"] != "object" {
				t.Errorf("%s %s schema type = %v, want object", name, kind, s["type"])
			}
			for _, k := range []string{"anyOf", "oneOf", "allOf", "$ref", "$defs"} {
				if _, ok := s[k]; ok {
					t.Errorf("%s %s schema has top-level %s", name, kind, k)
				}
			}
			props, _ := s["properties"].(map[string]any)
			for p, v := range props {
				if d, _ := v.(map[string]any)["description"].(string); d == "" {
					t.Errorf("%s %s property %s has no description", name, kind, p)
				}
			}
		}
	}
}

func TestAnnotations(t *testing.T) {
	tests := []struct {
		tool                                         string
		readOnly, destructive, idempotent, openWorld bool
	}{
		{"create_sandbox", false, false, true, true},
		{"create_session", false, false, false, true},
		{"send_message", false, false, false, true},
		{"get_events", true, false, true, false},
		{"respond_permission", false, false, false, true},
		{"cancel_turn", false, true, true, true},
		{"destroy_sandbox", false, true, true, true},
		{"list_sandboxes", true, false, true, true},
		{"list_sessions", true, false, true, false},
		{"get_diff", true, false, true, false},
	}
	tools := byName(t, &fakeService{})
	for _, tt := range tests {
		a := tools[tt.tool].Tool.Annotations
		got := [4]bool{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		want := [4]bool{tt.readOnly, tt.destructive, tt.idempotent, tt.openWorld}
		if got != want {
			t.Errorf("%s annotations (readOnly, destructive, idempotent, openWorld) = %v, want %v", tt.tool, got, want)
		}
	}
}

func call(t *testing.T, st server.ServerTool, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = st.Tool.Name
	req.Params.Arguments = args
	res, err := st.Handler(context.Background(), req)
	if err != nil {
		t.Fatalf("%s returned a protocol error: %v", st.Tool.Name, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestValidation: bad arguments are refused with one actionable line, and the service is never called.
func TestValidation(t *testing.T) {
	tests := []struct {
		name, tool string
		args       map[string]any
		want       string
	}{
		{"workspace missing", "create_sandbox", map[string]any{}, "workspace is required"},
		{"name that would become a flag", "create_sandbox", map[string]any{"workspace": "/w", "name": "-rf"}, "sandbox name \"-rf\" is not valid"},
		{"name with shell characters", "create_sandbox", map[string]any{"workspace": "/w", "name": "a;rm -rf"}, "is not valid"},
		{"unknown backend", "create_sandbox", map[string]any{"workspace": "/w", "backend": "k8s"}, "backend \"k8s\" is unknown"},
		{"unknown agent", "create_session", map[string]any{"sandbox": "box", "agent": "gpt"}, "unknown agent \"gpt\""},
		{"session name with a space", "create_session", map[string]any{"sandbox": "box", "agent": "mock", "name": "a b"}, "session name"},
		{"sandbox missing", "send_message", map[string]any{"session": "s1", "message": "hi"}, "sandbox is required"},
		{"message too long", "send_message", map[string]any{"sandbox": "box", "session": "s1", "message": strings.Repeat("x", maxMessage+1)}, "over the 100000 limit"},
		{"wait over the limit", "send_message", map[string]any{"sandbox": "box", "session": "s1", "message": "hi", "wait_seconds": 46}, "wait_seconds must be between 0 and 45"},
		{"negative cursor", "get_events", map[string]any{"sandbox": "box", "session": "s1", "cursor": -1}, "cursor must be"},
		{"get_events wait over the limit", "get_events", map[string]any{"sandbox": "box", "session": "s1", "wait_seconds": 3600}, "wait_seconds must be between 0 and 45"},
		{"limit too big", "get_events", map[string]any{"sandbox": "box", "session": "s1", "limit": 10000}, "limit between"},
		{"option missing", "respond_permission", map[string]any{"sandbox": "box", "session": "s1", "request_id": "p"}, "required"},
		{"wrong type", "get_events", map[string]any{"sandbox": "box", "session": "s1", "cursor": "abc"}, `argument "cursor" must be of type int64`},
		{"unknown argument", "destroy_sandbox", map[string]any{"name": "box", "force": true}, `unknown field "force"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{}
			res := call(t, byName(t, svc)[tt.tool], tt.args)
			got := resultText(res)
			if !res.IsError || !strings.Contains(got, tt.want) || strings.Contains(got, "\n") {
				t.Errorf("got isError=%t %q, want one error line containing %q", res.IsError, got, tt.want)
			}
			if strings.HasSuffix(got, sandbox.ErrInvalid.Error()) {
				t.Errorf("message ends with the sentinel text: %q", got)
			}
			if len(svc.calls) != 0 {
				t.Errorf("service called: %v", svc.calls)
			}
		})
	}
}

// TestResults: success carries structured content matching the output type, and a short text.
func TestResults(t *testing.T) {
	tests := []struct {
		tool     string
		args     map[string]any
		call     string
		wantText string
	}{
		{"create_sandbox", map[string]any{"workspace": "/w"}, "create_sandbox /w ", "Created sandbox box"},
		{"create_session", map[string]any{"sandbox": "box", "agent": "mock"}, "create_session box mock", "Session mock-1"},
		{"send_message", map[string]any{"sandbox": "box", "session": "s1", "message": "go"}, "send_message go", "Turn turn-1 is running"},
		{"get_events", map[string]any{"sandbox": "box", "session": "s1", "cursor": 3, "limit": 5}, "get_events 3 5", "[1] agent_message:\n  │ hi\nstatus=idle next_cursor=1 more=false"},
		{"respond_permission", map[string]any{"sandbox": "box", "session": "s1", "request_id": "perm-1", "option": "allow"}, "respond_permission perm-1 allow", "Answered perm-1 with allow"},
		{"cancel_turn", map[string]any{"sandbox": "box", "session": "s1"}, "cancel_turn", "Asked turn turn-1 to stop"},
		{"destroy_sandbox", map[string]any{"name": "box"}, "destroy_sandbox box", "Destroyed sandbox box"},
		{"list_sandboxes", map[string]any{}, "list_sandboxes", "box (sbx, running, ours)"},
		{"get_diff", map[string]any{"sandbox": "box"}, "get_diff box", "diff --git a/x b/x\n\nUntracked files:\n  new.txt"},
		{"list_sessions", map[string]any{"sandbox": "box"}, "list_sessions box", "mock-1 (mock) running, 2 turn(s), 1 permission request(s) waiting"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			svc := &fakeService{}
			res := call(t, byName(t, svc)[tt.tool], tt.args)
			if res.IsError {
				t.Fatalf("error: %s", resultText(res))
			}
			if got := strings.Join(svc.calls, ";"); got != tt.call {
				t.Errorf("service calls = %q, want %q", got, tt.call)
			}
			if got := resultText(res); !strings.Contains(got, tt.wantText) {
				t.Errorf("text = %q, want it to contain %q", got, tt.wantText)
			}
			if res.StructuredContent == nil {
				t.Error("no structured content")
			}
		})
	}
}

// TestServiceErrors: a failing service call becomes one isError line without sentinel noise.
func TestServiceErrors(t *testing.T) {
	err := remedy.Errorf(sandbox.NotFound, remedy.CreateSandbox, "unknown sandbox %q", "box")
	res := call(t, byName(t, &fakeService{err: err})["send_message"], map[string]any{"sandbox": "box", "session": "s1", "message": "go"})
	if got, want := resultText(res), "unknown sandbox \"box\": create it with create_sandbox first"; !res.IsError || got != want {
		t.Errorf("got isError=%t %q, want %q", res.IsError, got, want)
	}
	if got := Message(fmt.Errorf("list: %w", context.Canceled)); !strings.Contains(got, "cancelled") {
		t.Errorf("Message(cancelled) = %q", got)
	}
	if got := Message(errors.New("a\n  b")); got != "a b" {
		t.Errorf("Message folds lines: got %q", got)
	}
}
