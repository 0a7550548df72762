package agents

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/modelapi"
	"github.com/sandbox-mcp/sandbox-mcp/internal/testkit"
	"github.com/sandbox-mcp/sandbox-mcp/live"
	"github.com/sandbox-mcp/sandbox-mcp/manager"
)

// Scenarios every agent goes through: a turn cancelled while the model streams, a session continued after
// the sandbox's sandbox-agent process (and with it the agent) was stopped.

// slowText is what the scripted model streams slowly (8 bytes every 150 ms: about 16 s in all).
var slowText = strings.Repeat("slowly streaming text ", 40)

// cancelWhileStreaming: once the model's slow text reaches the reader, cancel_turn ends the turn cancelled
// with the text cut short, and the session takes the next turn.
func cancelWhileStreaming(t *testing.T, r *agentRun) {
	t.Helper()
	h := r.h
	r.api.Push(modelapi.Step{Text: slowText, Delay: 150 * time.Millisecond})
	var got []events.Event
	cursor := r.send("tell me a long story")
	deadline := time.Now().Add(60 * time.Second)
	for !has(got, events.KindAgentMessage) {
		if time.Now().After(deadline) {
			t.Fatalf("no streamed text within 60 s: %v", testkit.Summarize(got))
		}
		var page live.Page
		h.OK("get_events", map[string]any{"sandbox": r.sandbox, "session": r.sess.Name, "cursor": cursor}, &page)
		got, cursor = append(got, page.Events...), page.NextCursor
		time.Sleep(100 * time.Millisecond)
	}
	h.OK("cancel_turn", map[string]any{"sandbox": r.sandbox, "session": r.sess.Name}, &struct{}{})
	page := r.wait(cursor, &got, events.StatusIdle)
	if page.LastStop != "cancelled" {
		t.Errorf("last_stop_reason = %q, want cancelled; events %v", page.LastStop, testkit.Summarize(got))
	}
	var text string
	for _, ev := range got {
		if ev.Kind == events.KindAgentMessage {
			text += ev.Text
		}
	}
	if len(text) >= len(slowText) {
		t.Errorf("the whole text arrived (%d bytes): the turn was not cancelled mid-stream", len(text))
	}
	r.usableAfter("still here")
}

// continueAfterRestart: a turn tells the agent a word; the sandbox's container is stopped (sandbox-agent is
// its main process, so it and the agent die); create_session with continue restarts it and reloads the agent's
// session (session/load, advertised by the agent); the next turn's model request carries the earlier turn.
func continueAfterRestart(t *testing.T, r *agentRun) {
	t.Helper()
	const word = "PINEAPPLE-7431"
	r.api.Push(modelapi.Step{Text: "Noted: " + word + "."})
	var got []events.Event
	if page := r.wait(r.send("remember the word "+word), &got, events.StatusIdle); page.LastStop != "end_turn" {
		t.Fatalf("first turn: stop %q error %q", page.LastStop, page.LastError)
	}
	// The agents write their session history after the turn ends, asynchronously (Claude Code's transcript
	// was seen to miss the last exchange when the stop came at once: 1 run in 3 on a loaded machine). This
	// test is about continuing a session, not about that race, so the sandbox stops a moment later, as a
	// user's or an idle stop would.
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "stop", "-t", "5", r.sandbox).CombinedOutput(); err != nil {
		t.Fatalf("docker stop %s: %v %s", r.sandbox, err, out)
	}
	// The event stream ends with the process: the session ends (or fails) and can be continued.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list manager.SessionList
		r.h.OK("list_sessions", map[string]any{"sandbox": r.sandbox}, &list)
		if len(list.Sessions) == 1 && list.Sessions[0].CanContinue {
			if list.Sessions[0].ContinueWith != "session/load" {
				t.Errorf("continue_with = %q, want session/load", list.Sessions[0].ContinueWith)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session is not marked continuable 60 s after the stop: %+v", list.Sessions)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var cont manager.SessionResult
	r.h.OK("create_session", map[string]any{"sandbox": r.sandbox, "agent": r.sess.Agent, "continue": r.sess.Name}, &cont)
	if cont.Continued != "session/load" {
		t.Fatalf("continued = %q, want session/load", cont.Continued)
	}
	before := len(r.api.Requests())
	r.sess = cont
	r.api.Push(modelapi.Step{Text: "The word was " + word + "."})
	got = nil
	page := r.wait(r.send("which word did I ask you to remember?"), &got, events.StatusIdle)
	if page.LastStop != "end_turn" {
		t.Fatalf("turn after continuing: stop %q error %q, events %v", page.LastStop, page.LastError, testkit.Summarize(got))
	}
	reqs := r.api.Requests()[before:]
	var last string
	for _, q := range reqs {
		if !q.Aside {
			b, _ := json.Marshal(q.Body)
			last = string(b)
		}
	}
	if !strings.Contains(last, "remember the word "+word) || !strings.Contains(last, "Noted: "+word) {
		t.Errorf("the model request after continuing lacks the earlier turn (%d requests); last: %.2000s", len(reqs), last)
	}
}
