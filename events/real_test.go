package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/real/*.events.json")

// readLog reads a session log captured from a real agent (e2e/agents -capture): testdata/real/<name>.jsonl.
func readLog(t *testing.T, name string) []eventlog.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "real", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []eventlog.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r eventlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestRealAgentLogs replays what claude-agent-acp 0.23.1, codex-acp 0.16.0 and OpenCode 1.18.33 sent in a turn
// that writes a file (captured by e2e/agents with -capture): every record decodes as encoding/json decodes it
// (decode.go), the events are the golden ones (testdata/real/<name>.events.json; -update rewrites them), and
// the state ends idle.
func TestRealAgentLogs(t *testing.T) {
	for _, name := range []string{"claude-write", "codex-write", "opencode-write"} {
		t.Run(name, func(t *testing.T) {
			recs := readLog(t, name)
			for _, r := range recs {
				checkDecoders(t, r.Env)
			}
			evs := Normalize(recs, false)
			for i := range evs {
				evs[i] = Bound(evs[i], EventLimits)
			}
			got, _ := json.MarshalIndent(evs, "", "  ")
			path := filepath.Join("testdata", "real", name+".events.json")
			if *updateGolden {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if string(want) != string(got)+"\n" {
				t.Errorf("events differ from %s (-update rewrites it):\n%s", path, got)
			}
			st := NewState()
			for _, r := range recs {
				st.Apply(r)
			}
			if st.Status != StatusIdle || st.LastStopReason != "end_turn" || len(st.Pending) != 0 {
				t.Errorf("state after the turn: %+v", st)
			}
		})
	}
}

// TestRealAgentUpdateKinds: what each real adapter sends beyond text reaches the reader.
func TestRealAgentUpdateKinds(t *testing.T) {
	find := func(evs []Event, kind string, pred func(Event) bool) bool {
		for _, ev := range evs {
			if ev.Kind == kind && pred(ev) {
				return true
			}
		}
		return false
	}
	claude := Normalize(readLog(t, "claude-write"), false)
	newFile := func(ev Event) bool {
		ds := ev.ToolCall.Diffs
		return len(ds) == 1 && ds[0].NewFile && ds[0].Added == 1 && ds[0].Removed == 0 &&
			ds[0].Path == "/workspace/hello.txt" && ds[0].Diff == "+hello from claude\n" &&
			len(ev.ToolCall.Locations) == 1 && ev.ToolCall.Locations[0].Path == "/workspace/hello.txt"
	}
	if !find(claude, KindPermissionRequest, newFile) {
		t.Errorf("claude: the permission request does not show the Write's diff and location: %+v", claude)
	}
	if !find(claude, KindToolCallUpdate, newFile) {
		t.Errorf("claude: no tool_call_update with the Write's diff")
	}
	if !find(claude, KindCommands, func(ev Event) bool { return len(ev.Commands) > 10 }) {
		t.Errorf("claude: no available_commands event")
	}
	codex := Normalize(readLog(t, "codex-write"), false)
	if !find(codex, KindCommands, func(ev Event) bool {
		return slicesContain(ev.Commands, Command{Name: "review-branch", Description: "Review the code changes against a specific branch", Hint: "branch name"})
	}) {
		t.Errorf("codex: no available_commands event with review-branch and its hint")
	}
	opencode := Normalize(readLog(t, "opencode-write"), false)
	if !find(opencode, KindToolCallUpdate, func(ev Event) bool {
		return len(ev.ToolCall.Locations) == 1 && ev.ToolCall.Locations[0].Path == "/workspace/hello.txt"
	}) {
		t.Errorf("opencode: no tool_call_update with the file's location")
	}
}

func slicesContain[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// TestNormalizeUpdateKinds: each ACP update kind the real adapters send, as they send it (shapes from
// their sources: claude-agent-acp 0.23.1 dist/acp-agent.js and tools.js, codex-acp src/thread.rs, OpenCode
// src/acp), maps to its event.
func TestNormalizeUpdateKinds(t *testing.T) {
	tests := []struct {
		name   string
		update string
		want   Event
		none   bool
	}{
		{name: "claude Edit: diff of the replaced string, location with line",
			update: `{"sessionUpdate":"tool_call_update","toolCallId":"t","content":[{"type":"diff","path":"/w/a.go","oldText":"a\nb\nc","newText":"a\nB\nc\nd"}],"locations":[{"path":"/w/a.go","line":12}]}`,
			want: Event{Kind: KindToolCallUpdate, ToolCall: &ToolCall{ID: "t", Diffs: []Diff{{Path: "/w/a.go", Added: 2, Removed: 1, Diff: " a\n-b\n+B\n c\n+d\n"}},
				Locations: []Location{{Path: "/w/a.go", Line: 12}}}}},
		{name: "terminal content (claude Bash, codex exec with a terminal-capable client)",
			update: `{"sessionUpdate":"tool_call","toolCallId":"t","title":"ls","kind":"execute","status":"in_progress","content":[{"type":"terminal","terminalId":"term-1"}]}`,
			want:   Event{Kind: KindToolCall, ToolCall: &ToolCall{ID: "t", Title: "ls", Kind: "execute", Status: "in_progress", Terminals: []string{"term-1"}}}},
		{name: "malformed locations cost only themselves",
			update: `{"sessionUpdate":"tool_call","toolCallId":"t","title":"x","locations":[{"path":5},{"path":"/ok","line":-3},"junk",{"line":2}]}`,
			want:   Event{Kind: KindToolCall, ToolCall: &ToolCall{ID: "t", Title: "x", Locations: []Location{{Path: "/ok"}}}}},
		{name: "locations not a list",
			update: `{"sessionUpdate":"tool_call","toolCallId":"t","locations":"x"}`,
			want:   Event{Kind: KindToolCall, ToolCall: &ToolCall{ID: "t"}}},
		{name: "config options (claude-agent-acp, OpenCode): current values",
			update: `{"sessionUpdate":"config_option_update","configOptions":[{"id":"mode","name":"Mode","category":"mode","type":"select","currentValue":"plan","options":[]},` +
				`{"id":"model","name":"Model","category":"model","type":"select","currentValue":"opus","options":[]},{"id":"fast","type":"boolean","currentValue":true},{"id":"bad","currentValue":{"x":1}},{"id":"nil","currentValue":null}]}`,
			want: Event{Kind: KindConfigChange, Config: []ConfigValue{{ID: "mode", Category: "mode", Value: "plan"}, {ID: "model", Category: "model", Value: "opus"}, {ID: "fast", Value: "true"}}}},
		{name: "session title (codex-acp thread name)",
			update: `{"sessionUpdate":"session_info_update","title":"Write hello.txt"}`,
			want:   Event{Kind: KindSessionInfo, Text: "Write hello.txt"}},
		{name: "session info without a title", update: `{"sessionUpdate":"session_info_update","title":null,"updatedAt":"2026-01-01T00:00:00Z"}`, none: true},
		{name: "mode change", update: `{"sessionUpdate":"current_mode_update","currentModeId":"acceptEdits"}`,
			want: Event{Kind: KindModeChange, Text: "acceptEdits"}},
		{name: "commands with input hints",
			update: `{"sessionUpdate":"available_commands_update","availableCommands":[{"name":"review","description":"Review","input":{"hint":"what"}},{"name":""},{"description":"no name"},{"name":"init","description":"x","input":null}]}`,
			want:   Event{Kind: KindCommands, Commands: []Command{{Name: "review", Description: "Review", Hint: "what"}, {Name: "init", Description: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := update(tt.update)
			got, ok := normalizeOne(eventlog.Record{Dir: eventlog.DirIn, Env: json.RawMessage(env)})
			if tt.none {
				if ok {
					t.Errorf("got an event %+v, want none", got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("got  %v %s\nwant %s", ok, g, w)
			}
		})
	}
}

// TestStateModeAndModel: the session's state follows the agent's mode and model changes.
func TestStateModeAndModel(t *testing.T) {
	st := NewState()
	for _, r := range records(
		in(update(`{"sessionUpdate":"config_option_update","configOptions":[{"id":"mode","category":"mode","currentValue":"default"},{"id":"model","category":"model","currentValue":"sonnet"}]}`)),
		in(update(`{"sessionUpdate":"current_mode_update","currentModeId":"plan"}`)),
		in(update(`{"sessionUpdate":"config_option_update","configOptions":[{"id":"model","currentValue":"`+strings.Repeat("m", 600)+`"}]}`)),
	) {
		st.Apply(r)
	}
	if st.Mode != "plan" || !strings.HasPrefix(st.Model, "mmm") || len(st.Model) > 300 {
		t.Errorf("mode %q, model %q (%d bytes): want plan and the model cut to size", st.Mode, st.Model, len(st.Model))
	}
}

// TestBoundExtras: a hostile agent's lists and strings in the new update kinds are cut to the limits: a
// tool call with 1,000 diffs of 1 MB with 100 kB paths and 1,000 locations and terminals, 1,000 commands with
// 10 kB descriptions, 1,000 config options with 10 kB values, a 100 kB title. Each bounded event stays
// under 32 kB of JSON (as a page event) and 3 kB (as a pending permission request), and is marked truncated.
func TestBoundExtras(t *testing.T) {
	big := strings.Repeat("\"<\n", 100_000/3)
	old := strings.Repeat("line\n", 200_000)
	tc := &ToolCall{ID: big, Title: big, Kind: big, Status: big, Output: big}
	d := summarizeDiff(big, &old, old+"x\ny")
	if d.Added != 2 || d.Removed != 0 {
		t.Fatalf("diff of two appended lines: +%d -%d", d.Added, d.Removed)
	}
	d.Diff = big
	for i := range 1000 {
		tc.Diffs = append(tc.Diffs, d)
		tc.Locations = append(tc.Locations, Location{Path: big, Line: i})
		tc.Terminals = append(tc.Terminals, big)
	}
	var cmds []Command
	var cfg []ConfigValue
	for range 1000 {
		cmds = append(cmds, Command{Name: big, Description: big, Hint: big})
		cfg = append(cfg, ConfigValue{ID: big, Category: big, Value: big})
	}
	for _, ev := range []Event{
		{Kind: KindToolCallUpdate, ToolCall: tc},
		{Kind: KindPermissionRequest, ToolCall: tc, Permission: &Permission{RequestID: big}},
		{Kind: KindCommands, Commands: cmds},
		{Kind: KindConfigChange, Config: cfg},
		{Kind: KindSessionInfo, Text: big},
	} {
		for _, lim := range []struct {
			l   Limits
			max int
		}{{EventLimits, 32_000}, {PendingLimits, 3_000}} {
			b := Bound(ev, lim.l)
			n := len(mustJSON(t, b))
			if n > lim.max || !b.Truncated {
				t.Errorf("%s bounded: %d bytes of JSON (max %d), truncated=%v", ev.Kind, n, lim.max, b.Truncated)
			}
		}
	}
}

// TestSummarizeDiff: counts and text of a diff, for the shapes the adapters send.
func TestSummarizeDiff(t *testing.T) {
	s := func(v string) *string { return &v }
	tests := []struct {
		name             string
		old              *string
		new              string
		added, removed   int
		diff             string
		newFile, partial bool
	}{
		{name: "new file", old: nil, new: "a\nb\n", added: 2, diff: "+a\n+b\n", newFile: true},
		{name: "emptied file", old: s("a\nb"), new: "", removed: 2, diff: "-a\n-b\n"},
		{name: "unchanged", old: s("a\nb"), new: "a\nb\n", diff: ""},
		{name: "edit in the middle with context", old: s("1\n2\n3\n4\n5\n6\n7\n8\n9"), new: "1\n2\n3\n4\nfive\n6\n7\n8\n9",
			added: 1, removed: 1, diff: " 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{name: "aligned inside the change", old: s("a\nx\nb\ny\nc"), new: "a\nb\nc\nd",
			added: 1, removed: 2, diff: " a\n-x\n b\n-y\n c\n+d\n"},
		{name: "a change too large to align counts as replaced", old: s(strings.Repeat("o\n", 300) + "same\n" + strings.Repeat("p\n", 300)),
			new: strings.Repeat("n\n", 300) + "same\n" + strings.Repeat("q\n", 300), added: 601, removed: 601, partial: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := summarizeDiff("/p", tt.old, tt.new)
			if d.Added != tt.added || d.Removed != tt.removed || d.NewFile != tt.newFile || (!tt.partial && d.Diff != tt.diff) {
				t.Errorf("got +%d -%d new=%v %q; want +%d -%d new=%v %q", d.Added, d.Removed, d.NewFile, d.Diff, tt.added, tt.removed, tt.newFile, tt.diff)
			}
		})
	}
	// A diff longer than the text kept ends with a count of the lines left out.
	d := summarizeDiff("/p", nil, strings.Repeat("0123456789\n", 10_000))
	if d.Added != 10_000 || len(d.Diff) > maxDiffText+40 || !strings.HasSuffix(d.Diff, " more lines]\n") {
		t.Errorf("long diff: +%d, %d bytes, ends %q", d.Added, len(d.Diff), d.Diff[max(0, len(d.Diff)-30):])
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStateModeFromResponses: Claude Code asked for mode acceptEdits and model haiku at create_session
// (captured: session/new, set_mode, set_config_option and their answers in the log). Its last
// config_option_update still says model "default" (sent by set_mode, before the model was set); the
// set_config_option answer says haiku, and the state follows the answers too.
func TestStateModeFromResponses(t *testing.T) {
	st := NewState()
	for _, r := range readLog(t, "claude-models") {
		st.Apply(r)
	}
	if st.Mode != "acceptEdits" || st.Model != "haiku" {
		t.Errorf("mode %q, model %q; want acceptEdits and haiku", st.Mode, st.Model)
	}
}
