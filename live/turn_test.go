package live

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

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
		if got := outMethods(t, l, events.MethodPrompt); got != 1 {
			t.Errorf("the log holds %d prompts, want 1", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(prompts) != 1 {
			t.Errorf("the agent received prompts %q, want one", prompts)
		}
	})
}
