package live

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/fakeagent"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// TestBudgetCancelsTurn: a turn that crosses a limit of its session's budget (docs/sessions.md, "Budgets")
// gets session/cancel at once, carrying the limit in its _meta, so the log shows a cancel_requested with the
// budget and the turn ends as budget_exceeded; an agent that ignores the cancel has its turn ended locally
// after exactly CancelGrace. The next turn is measured from zero again: it reports more than the limit in
// total, less in growth, and ends normally.
func TestBudgetCancelsTurn(t *testing.T) {
	usd := func(amount float64) *fakeagent.Cost { return &fakeagent.Cost{Amount: amount, Currency: "USD"} }
	for _, tt := range []struct {
		name   string
		budget state.Budget
		prompt string // obey: the agent ends the turn on session/cancel; ignore: it does not
		report func(*fakeagent.Turn)
		next   func(*fakeagent.Turn) // the next turn's usage, under the limit
		hit    events.BudgetHit
		slack  float64       // how far over hit.Used the used figure may be (the time limit's timer)
		took   time.Duration // from the turn's start to its end
		late   time.Duration // how far over took the end may be
	}{
		{"tokens", state.Budget{MaxTokens: 100}, "obey",
			func(turn *fakeagent.Turn) {
				time.Sleep(time.Second)
				turn.Usage(50, 1000, nil)
				time.Sleep(time.Second)
				turn.Usage(250, 1000, nil) // the context grew by 250 tokens in this turn: over 100
			},
			func(turn *fakeagent.Turn) { turn.Usage(300, 1000, nil) },
			events.BudgetHit{Limit: events.LimitTokens, Used: 250, Max: 100}, 0, 2 * time.Second, 0},
		{"tokens, cancel ignored", state.Budget{MaxTokens: 100}, "ignore",
			func(turn *fakeagent.Turn) {
				time.Sleep(2 * time.Second)
				turn.Usage(250, 1000, nil)
			},
			func(turn *fakeagent.Turn) { turn.Usage(300, 1000, nil) },
			events.BudgetHit{Limit: events.LimitTokens, Used: 250, Max: 100}, 0, 2*time.Second + CancelGrace, 0},
		{"cost", state.Budget{MaxCostUSD: 0.5}, "obey",
			func(turn *fakeagent.Turn) {
				time.Sleep(time.Second)
				turn.Usage(10, 1000, usd(0.25))
				time.Sleep(time.Second)
				turn.Usage(20, 1000, usd(0.75))
			},
			func(turn *fakeagent.Turn) { turn.Usage(30, 1000, usd(1)) },
			events.BudgetHit{Limit: events.LimitCost, Used: 0.75, Max: 0.5}, 0, 2 * time.Second, 0},
		{"turn time", state.Budget{MaxTurnSeconds: 30}, "obey",
			func(*fakeagent.Turn) {},
			func(*fakeagent.Turn) {},
			events.BudgetHit{Limit: events.LimitTurnTime, Used: 30, Max: 30}, 1, 30 * time.Second, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cancels atomic.Int32 // session/cancel notifications the agent received
			opts := fakeagent.Options{Prompt: func(turn *fakeagent.Turn) {
				if turn.Text == "next" {
					tt.next(turn)
					turn.Say("fine")
					return
				}
				turn.Say("working")
				tt.report(turn)
				select {
				case <-turn.Cancelled():
				case <-turn.Stopped():
					return
				}
				cancels.Add(1)
				if turn.Text == "obey" {
					turn.End("cancelled")
					return
				}
				<-turn.Stopped()
			}}
			worldTest(t, opts, func(t *testing.T, w *world) {
				ctx := t.Context()
				l := w.openWith(t, "budget", func(rec *state.Session) { rec.Budget = &tt.budget }, nil)
				res, err := l.Send(ctx, tt.prompt, 0, nil)
				if err != nil || res.Status != events.StatusRunning {
					t.Fatalf("send: %+v, %v", res, err)
				}
				start := time.Now()
				_, page := readTurn(t, l, res.Cursor)
				if took := time.Since(start); took < tt.took || took > tt.took+tt.late {
					t.Errorf("the turn ended after %v, want %v", took, tt.took)
				}
				if n := cancels.Load(); n != 1 {
					t.Errorf("the agent received %d session/cancel, want 1", n)
				}
				if page.Status != events.StatusIdle || page.LastStop != events.StopBudgetExceeded {
					t.Errorf("after the turn: %s, %q; want idle, %s", page.Status, page.LastStop, events.StopBudgetExceeded)
				}
				// Read again now that the turn is over: Page takes the session's state and the log's end in two
				// steps, so a page read just as the turn ended can hold its turn_end without the totals and the
				// budget that the state adds to it.
				page, err = l.Page(PageRequest{Cursor: res.Cursor})
				if err != nil || page.More {
					t.Fatalf("the turn's page: %+v, %v", page, err)
				}
				for _, kind := range []string{events.KindCancel, events.KindTurnEnd} {
					var hit *events.BudgetHit
					for _, ev := range page.Events {
						if ev.Kind == kind {
							hit = ev.Budget
						}
					}
					if hit == nil || hit.Limit != tt.hit.Limit || hit.Max != tt.hit.Max || hit.Used < tt.hit.Used || hit.Used > tt.hit.Used+tt.slack {
						t.Errorf("%s budget %+v, want %+v", kind, hit, tt.hit)
					}
				}

				res, err = l.Send(ctx, "next", 10*time.Second, nil)
				if err != nil || !res.Done || res.StopReason != "end_turn" || res.FinalText != "fine" {
					t.Errorf("the next turn: %+v, %v; want it to end normally", res, err)
				}
				if n := outMethods(t, l, acp.MethodCancel); n != 1 {
					t.Errorf("%d session/cancel logged over both turns, want 1", n)
				}
			})
		})
	}
}
