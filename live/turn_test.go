package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// TestConcurrentSendsStartOneTurn fires 8 send_message calls at one idle session while its event
// stream is (as far as the server knows) still connecting, as a host retrying a slow call does. Exactly one
// starts a turn; the other 7 get a one-line "busy" error; the log holds one prompt and the agent saw one.
func TestConcurrentSendsStartOneTurn(t *testing.T) {
	var mu sync.Mutex
	var prompts []string
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		mu.Lock()
		prompts = append(prompts, turn.Text)
		mu.Unlock()
		turn.Say(turn.Text)
	}}
	worldTest(t, opts, func(t *testing.T, w *world) {
		ctx := t.Context()
		l := w.open(t, "concurrent")
		synctest.Wait() // the stream is connected (or blocked connecting) once nothing else moves
		// Every send now waits for the stream inside its turn start, which widens the window a racing send
		// needs; the stream is marked up again once all of them are in.
		l.setUp(false)
		const n = 8
		type outcome struct {
			res Turn
			err error
		}
		out := make([]outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				res, err := l.Send(ctx, fmt.Sprintf("prompt-%d", i), 0, nil)
				out[i] = outcome{res, err}
			})
		}
		synctest.Wait() // every send has returned busy or waits for the stream: no sleep, no guess
		l.setUp(true)
		wg.Wait()

		winner, busy := -1, 0
		for i, o := range out {
			switch {
			case o.err == nil:
				if winner >= 0 {
					t.Errorf("sends %d and %d both started a turn (%s, %s)", winner, i, out[winner].res.ID, o.res.ID)
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
		evs, _ := readTurn(t, l, out[winner].res.Cursor)
		if got, want := texts(evs), fmt.Sprintf("prompt-%d", winner); got != want {
			t.Errorf("agent text %q, want the winner's %q only", got, want)
		}
		if got := outMethods(t, l, acp.MethodPrompt); got != 1 {
			t.Errorf("the log holds %d prompts, want 1", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(prompts) != 1 {
			t.Errorf("the agent received prompts %q, want one", prompts)
		}
	})
}

// posts is an acp.Transport that keeps the body of every POST it passes on.
type posts struct {
	acp.Transport
	mu     sync.Mutex
	bodies []string
}

func (p *posts) Do(ctx context.Context, method, path string, body []byte, timeout time.Duration) (int, []byte, error) {
	if method == http.MethodPost {
		p.mu.Lock()
		p.bodies = append(p.bodies, string(body))
		p.mu.Unlock()
	}
	return p.Transport.Do(ctx, method, path, body, timeout)
}

func (p *posts) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.bodies)
}

// TestLoggedIsPosted: what the log says the session sent (the prompt, a permission answer, session/cancel)
// is, byte for byte, what was posted, each envelope encoded once; the answer echoes the request's numeric
// id as a number.
func TestLoggedIsPosted(t *testing.T) {
	opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
		switch turn.Text {
		case "ask":
			if answer, ok := turn.RequestPermission(7, "call-1", "run ls"); ok {
				turn.Say("answer " + string(answer))
			}
			turn.End("end_turn")
		case "hold":
			<-turn.Cancelled()
			turn.End("cancelled")
		}
	}}
	worldTest(t, opts, func(t *testing.T, w *world) {
		ctx := t.Context()
		rec := &posts{}
		l := w.openVia(t, "posted", func(tr acp.Transport) acp.Transport { rec.Transport = tr; return rec })
		res, err := l.Send(ctx, "ask", time.Minute, nil)
		if err != nil || res.Status != events.StatusWaitingPermission {
			t.Fatalf("send: %+v, %v; want waiting_permission", res, err)
		}
		if _, err := l.Respond(ctx, "7", "allow"); err != nil {
			t.Fatal(err)
		}
		readTurn(t, l, res.Cursor)
		if _, err := l.Send(ctx, "hold", 0, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Cancel(ctx); err != nil {
			t.Fatal(err)
		}

		recs, err := l.Log().Read(0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var logged []string
		for _, r := range recs {
			if r.Dir == eventlog.DirOut {
				logged = append(logged, string(r.Env))
			}
		}
		sid := l.Snapshot().SessionID
		want := []string{
			`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"sessionId":"` + sid + `","prompt":[{"type":"text","text":"ask"}]}}`,
			`{"jsonrpc":"2.0","id":7,"result":{"outcome":{"outcome":"selected","optionId":"allow"}}}`,
			`{"jsonrpc":"2.0","id":"turn-2","method":"session/prompt","params":{"sessionId":"` + sid + `","prompt":[{"type":"text","text":"hold"}]}}`,
			`{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"` + sid + `"}}`,
		}
		if !slices.Equal(logged, want) {
			t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
		}
		if sent := rec.all(); len(sent) < 2 || !slices.Equal(sent[2:], logged) { // after initialize and session/new
			t.Errorf("posted:\n%s\nlogged:\n%s", strings.Join(sent, "\n"), strings.Join(logged, "\n"))
		}
	})
}

// TestSendStartsTurn: Send returns at once with the turn running while the agent works; a second Send
// during the turn is refused in one line; the turn's pages follow it to its end, starting with the user's
// message; a Send that waits gets the turn's final text.
func TestSendStartsTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proceed := make(chan struct{}) // in the bubble: a script blocked on it is durably blocked
		opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
			if turn.Text == "hold" {
				turn.Say("working")
				select {
				case <-proceed:
				case <-turn.Stopped():
					return
				}
				turn.Say(" done")
				return
			}
			turn.Say("echo: " + turn.Text)
		}}
		w := newWorld(t, opts)
		ctx := t.Context()
		l := w.open(t, "turns")
		res, err := l.Send(ctx, "hold", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != events.StatusRunning || res.ID != "turn-1" || res.Done {
			t.Fatalf("Send = %+v; want turn-1 running, not done", res)
		}
		_, err = l.Send(ctx, "again", 0, nil)
		if !errors.Is(err, sandbox.ErrInvalid) || !strings.Contains(err.Error(), "is busy with turn turn-1") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Send during a turn: %v; want a one-line busy error", err)
		}
		close(proceed)
		evs, page := readTurn(t, l, res.Cursor)
		if got := texts(evs); got != "working done" {
			t.Errorf("turn text %q, want %q", got, "working done")
		}
		if page.Status != events.StatusIdle || page.LastStop != "end_turn" {
			t.Errorf("after the turn: status %s, stop %q; want idle, end_turn", page.Status, page.LastStop)
		}
		if evs[0].Kind != events.KindUserMessage || evs[0].Text != "hold" {
			t.Errorf("first event %+v, want the user's message", evs[0])
		}

		// With a wait, Send returns the finished turn.
		res, err = l.Send(ctx, "hi", 10*time.Second, nil)
		if err != nil || !res.Done || res.ID != "turn-2" || res.FinalText != "echo: hi" || res.StopReason != "end_turn" || res.Status != events.StatusIdle {
			t.Errorf("Send with a wait = %+v, %v; want turn-2 done with its text", res, err)
		}
	})
}
