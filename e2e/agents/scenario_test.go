package agents

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

var (
	update  = flag.Bool("update", false, "rewrite the golden files in testdata/")
	capture = flag.Bool("capture", false, "copy each golden test's session log to events/testdata/real/ (the envelopes events' unit tests replay)")
)

// agentRun is one real agent's sandbox and session, driven through sandbox-mcp.
type agentRun struct {
	t       *testing.T
	h       *harness
	api     *modelapi.Server
	ws      string
	sandbox string
	sess    manager.SessionResult
	// Took is how long create_session took.
	Took time.Duration
}

// newRun starts sandbox-mcp, a sandbox on ws and a session with agent; args go to create_session.
func newRun(t *testing.T, h *harness, api *modelapi.Server, agent string, args map[string]any) *agentRun {
	t.Helper()
	return newRunIn(t, h, api, t.TempDir(), agent, args)
}

// newRunIn is newRun on a workspace of the caller's.
func newRunIn(t *testing.T, h *harness, api *modelapi.Server, ws, agent string, args map[string]any) *agentRun {
	t.Helper()
	r := &agentRun{t: t, h: h, api: api, ws: ws}
	r.sandbox = h.sandbox(ws)
	a := map[string]any{"sandbox": r.sandbox, "agent": agent}
	for k, v := range args {
		a[k] = v
	}
	t0 := time.Now()
	h.OK("create_session", a, &r.sess)
	r.Took = time.Since(t0)
	t.Logf("create_session %s took %v", agent, r.Took)
	return r
}

// send starts a turn and returns its cursor.
func (r *agentRun) send(msg string) int64 {
	r.t.Helper()
	var turn manager.TurnResult
	r.h.OK("send_message", map[string]any{"sandbox": r.sandbox, "session": r.sess.Name, "message": msg}, &turn)
	return turn.Cursor
}

// wait follows the session from cursor until status want, appending to got.
func (r *agentRun) wait(cursor int64, got *[]events.Event, want string) live.Page {
	r.t.Helper()
	// 90 s: a real agent's turn on a loaded machine.
	return testkit.WaitStatus(r.h.T, r.h.Harness, r.sandbox, r.sess.Name, cursor, got, want, 90*time.Second)
}

// answer replies to the one pending permission request with option.
func (r *agentRun) answer(page live.Page, option string) {
	r.t.Helper()
	if len(page.Pending) != 1 {
		r.t.Fatalf("pending permissions = %+v, want 1", page.Pending)
	}
	r.h.OK("respond_permission", map[string]any{"sandbox": r.sandbox, "session": r.sess.Name,
		"request_id": page.Pending[0].Permission.RequestID, "option": option}, &struct{}{})
}

// writeWithPermission is the turn of each agent's WriteWithPermission test, the model's steps pushed
// already: "write hello.txt"; the permission request it asks, answered with the option choose returns; the
// turn ending normally, hello.txt in the workspace holding content, and the turn's events matching the
// golden file name (the session's log captured under that name too). The events are appended to got.
func (r *agentRun) writeWithPermission(got *[]events.Event, content, name string, choose func(page live.Page) string) {
	r.t.Helper()
	page := r.wait(r.send("write hello.txt"), got, events.StatusWaitingPermission)
	r.answer(page, choose(page))
	page = r.wait(page.NextCursor, got, events.StatusIdle)
	if page.LastStop != "end_turn" {
		r.t.Errorf("last_stop_reason = %q, want end_turn", page.LastStop)
	}
	r.fileIs("hello.txt", content)
	golden(r.t, name, *got, r.ws)
	r.captureLog(name)
}

// firstOption chooses the pending permission request's first option.
func firstOption(page live.Page) string { return page.Pending[0].Permission.Options[0].ID }

// fileIs checks a file the agent wrote in the workspace.
func (r *agentRun) fileIs(rel, want string) {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.ws, rel))
	if err != nil || string(data) != want {
		r.t.Errorf("%s in the workspace = %q, %v; want %q", rel, data, err, want)
	}
}

func has(evs []events.Event, kind string) bool {
	for _, ev := range evs {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}

// golden compares the normalised events of a turn with testdata/<name>.json, with what changes from run to
// run (times, log positions, tool-call and request ids, the workspace path) replaced by placeholders, so an
// adapter upgrade that changes what the agent sends shows as a diff. -update rewrites the file.
func golden(t *testing.T, name string, evs []events.Event, ws string) {
	t.Helper()
	ids := map[string]string{}
	idOf := func(kind, id string) string {
		if id == "" {
			return ""
		}
		if p, ok := ids[id]; ok {
			return p
		}
		p := kind + "-" + strconv.Itoa(len(ids)+1)
		ids[id] = p
		return p
	}
	var out []events.Event
	for _, ev := range evs {
		if ev.Kind == events.KindCommands {
			// Sent when the adapter gets round to it (after session/new, or during the first turn), so where
			// it falls among the turn's events varies; its shape is checked by events/real_test.go.
			continue
		}
		ev.Seq, ev.FirstSeq, ev.Time, ev.Raw = 0, 0, time.Time{}, nil
		// Text that get_events returned over two pages is one message, as a reader joins it.
		if n := len(out); n > 0 && (ev.Kind == events.KindAgentMessage || ev.Kind == events.KindThought) && out[n-1].Kind == ev.Kind {
			out[n-1].Text += ev.Text
			continue
		}
		if ev.ToolCall != nil {
			tc := *ev.ToolCall
			tc.ID = idOf("tool", tc.ID)
			ev.ToolCall = &tc
		}
		if ev.Permission != nil {
			p := *ev.Permission
			p.RequestID = idOf("request", p.RequestID)
			ev.Permission = &p
		}
		out = append(out, ev)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(string(b), ws, "$WORKSPACE")
	got = strings.ReplaceAll(got, strings.TrimPrefix(ws, "/"), "$WORKSPACE") // OpenCode's titles drop the leading /
	got = durationRE.ReplaceAllString(got, "${1}N${2}") + "\n"
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to write it): %v", err)
	}
	if got != string(want) {
		t.Errorf("normalised events differ from %s (run go test ./e2e/agents -run %s -update after checking the change):\n%s", path, t.Name(), got)
	}
}

// captureLog copies the session's event log (every ACP envelope, both ways) to
// events/testdata/real/<name>.jsonl with -capture, the workspace path replaced by /workspace, so the events
// package's tests replay what the real adapter sent.
func (r *agentRun) captureLog(name string) {
	r.t.Helper()
	if !*capture {
		return
	}
	data, err := os.ReadFile(filepath.Join(r.h.State, "sessions", r.sandbox, r.sess.Name+".log"))
	if err != nil {
		r.t.Fatal(err)
	}
	out := strings.ReplaceAll(string(data), r.ws, "/workspace")
	out = strings.ReplaceAll(out, strings.TrimPrefix(r.ws, "/"), "workspace")
	path := filepath.Join("..", "..", "events", "testdata", "real", name+".jsonl")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// durationRE matches timings agents print in tool output ("in 12ms"), which vary from run to run.
var durationRE = regexp.MustCompile(`(\b)\d+(ms\b)`)

// usableAfter checks that the session serves turns again after a failed or cancelled one: the model's next
// answer (text) reaches the reader and no turn fails. It allows one extra turn, because claude-agent-acp 0.23.1
// ends the first prompt after a failed or cancelled turn at once with end_turn (it takes the SDK's stale "idle"
// state for the new prompt's end) and answers that prompt during the next one; a fixed adapter answers in the
// first turn. It reports which happened.
func (r *agentRun) usableAfter(text string) {
	r.t.Helper()
	r.api.Push(modelapi.Step{Text: text})
	var all []events.Event
	for i, msg := range []string{"are you there?", "and now?"} {
		var got []events.Event
		page := r.wait(r.send(msg), &got, events.StatusIdle)
		all = append(all, got...)
		if page.LastStop != "end_turn" || page.LastError != "" {
			r.t.Fatalf("turn %q after the failure: stop %q, error %q, events %v", msg, page.LastStop, page.LastError, testkit.Summarize(got))
		}
		if strings.Contains(strings.Join(testkit.Summarize(got), "\n"), text) {
			r.t.Logf("the session answered %d turn(s) after the failure", i+1)
			return
		}
		if i == 0 {
			r.api.Push(modelapi.Step{Text: "answer to the second prompt"})
		}
	}
	r.t.Errorf("the model's answer %q never reached the reader: %v", text, testkit.Summarize(all))
}
