package manager

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestConcurrentSendsStartOneTurn fires 8 send_message calls at one idle session while its event stream is
// (as far as the server knows) still connecting, as a host retrying a slow call does. Exactly one starts a
// turn; the other 7 get a one-line "busy" error; the log holds one prompt and the agent saw one.
func TestConcurrentSendsStartOneTurn(t *testing.T) {
	w := newFakeWorld(t)
	ctx := t.Context()
	s := w.sandboxWithSession(t, "concurrent")
	l, err := w.m.session(ctx, "concurrent", s.Name)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the event stream is connected", func() bool {
		l.upMu.Lock()
		defer l.upMu.Unlock()
		return l.isUp
	})
	// Every send now waits for the stream inside its turn start, which widens the window a racing send
	// needs; the stream is marked up again once all of them are in.
	l.setUp(false)

	const n = 8
	type outcome struct {
		res TurnResult
		err error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := w.m.SendMessage(ctx, SendRequest{Sandbox: "concurrent", Session: s.Name, Message: fmt.Sprintf("say prompt-%d", i)})
			out[i] = outcome{res, err}
		})
	}
	close(start)
	time.Sleep(300 * time.Millisecond) // lets the sends reach the stream wait; no bound on anything
	l.setUp(true)
	wg.Wait()

	winner, busy := -1, 0
	for i, o := range out {
		switch {
		case o.err == nil:
			if winner >= 0 {
				t.Errorf("sends %d and %d both started a turn (%s, %s)", winner, i, out[winner].res.TurnID, o.res.TurnID)
			}
			winner = i
		case errors.Is(o.err, sandbox.ErrInvalid) && strings.Contains(o.err.Error(), "is busy") && !strings.Contains(o.err.Error(), "\n"):
			busy++
		default:
			t.Errorf("send %d: %v; want a one-line busy error", i, o.err)
		}
	}
	if winner < 0 || busy != n-1 {
		t.Fatalf("%d turns started and %d busy errors; want 1 and %d", n-busy, busy, n-1)
	}

	// The turn runs to its end with the winner's text only.
	var texts, users []string
	cursor := out[winner].res.Cursor
	for done := false; !done; {
		page, err := w.m.GetEvents(ctx, EventsRequest{Sandbox: "concurrent", Session: s.Name, Cursor: cursor, Wait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			switch ev.Kind {
			case events.KindAgentMessage:
				texts = append(texts, ev.Text)
			case events.KindUserMessage:
				users = append(users, ev.Text)
			}
		}
		cursor, done = page.NextCursor, page.Status == events.StatusIdle && len(page.Events) == 0
	}
	want := fmt.Sprintf("prompt-%d", winner)
	if got := strings.Join(texts, ""); !strings.Contains(got, want) || strings.Count(got, "prompt-") != 1 {
		t.Errorf("agent text %q, want the winner's %q only", got, want)
	}
	if len(users) != 1 {
		t.Errorf("user messages in the turn: %q, want exactly one", users)
	}
	recs, err := l.log.Read(1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	prompts := 0
	for _, r := range recs {
		var env acp.Envelope
		if r.Dir == "out" && json.Unmarshal(r.Env, &env) == nil && env.Method == events.MethodPrompt {
			prompts++
		}
	}
	if prompts != 1 {
		t.Errorf("the log holds %d prompts, want 1", prompts)
	}
}
