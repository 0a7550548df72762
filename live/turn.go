package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// promptWait is how long Send lets the prompt POST run before treating the turn as started:
// long enough for sandbox-agent to have the request, far below any host's tool timeout.
const promptWait = 1500 * time.Millisecond

// streamWait bounds how long Send waits for the session's event stream to connect first.
const streamWait = 10 * time.Second

// Turn is what Send reports of the turn it started.
type Turn struct {
	ID     string
	Cursor int64 // the log position just before the turn's prompt
	Status string
	// Done: the turn ended within the wait; StopReason, Error and FinalText then say how.
	Done       bool
	StopReason string
	Error      string
	FinalText  string
	FinalCut   int64 // bytes of the agent's text cut from FinalText's start (its end is kept)
}

// Send starts a turn with message and returns at once, or, when wait is positive, once the turn ends or
// asks for a permission or wait passes; progress (if set) hears what the agent does meanwhile. Upstream the
// prompt POST only returns when the turn ends, and hosts drop tool calls after about a minute, so the turn
// runs on while the caller reads it.
func (l *Session) Send(ctx context.Context, message string, wait time.Duration, progress func(string)) (Turn, error) {
	name := l.rec.Name
	// Turn start is one critical section per session, from the status check to the prompt's record (whose
	// append makes the session running): two sends that both saw "idle" would both prompt the agent under
	// one turn id. A second send while one is starting is told the session is busy; it does not wait, as a
	// host retrying a slow call must not queue a second prompt.
	if !l.starting.TryLock() {
		return Turn{}, remedy.Errorf(sandbox.Invalid, remedy.SendAfterTurn, "session %q is busy: another message is starting a turn in it",
			name)
	}
	stored, turn, req, err := l.claimTurn(ctx, message)
	l.starting.Unlock()
	if err != nil {
		return Turn{}, err
	}
	if err := l.startTurn(ctx, turn, req, stored[0].Seq); err != nil {
		return Turn{}, fmt.Errorf("send message to %q: %w", name, err)
	}
	res := Turn{ID: turn, Cursor: stored[0].Seq - 1}
	_ = l.WaitFor(ctx, wait, progress, func() (bool, error) {
		st := l.Snapshot().State
		return st.Turn != turn || st.Status != events.StatusRunning, nil
	})
	st := l.Snapshot().State
	res.Status = st.Status
	if st.Turn != turn {
		res.Done, res.StopReason, res.Error = true, st.LastStopReason, st.LastError
		res.FinalText, res.FinalCut = l.turnText(res.Cursor)
	}
	return res, nil
}

// claimTurn checks that the session can take a turn, waits for its event stream, and logs the prompt,
// which makes the session running. The caller holds l.starting.
func (l *Session) claimTurn(ctx context.Context, message string) (stored []eventlog.Record, turn string, req acp.EncodedRequest, err error) {
	if err := sendable(l.Snapshot()); err != nil {
		return nil, "", req, err
	}
	if !l.awaitStream(ctx, streamWait) {
		l.logger.Warn("sending before the event stream is connected; a burst of over 1024 events could be lost", "session", l.Key())
	}
	s := l.Snapshot() // again: the agent may have exited while we waited
	if err := sendable(s); err != nil {
		return nil, "", req, err
	}
	turn = events.TurnID(s.State.Turns + 1)
	req, err = acp.Request{ID: acp.StringID(turn), Method: acp.MethodPrompt,
		Params: acp.PromptParams{SessionID: s.SessionID, Prompt: []acp.ContentBlock{acp.TextBlock(message)}}}.Encode()
	if err != nil {
		return nil, "", req, err
	}
	// Logged before it is sent, so the user message precedes everything the agent streams back. The log
	// holds it redacted; the agent gets the same envelope as written, encoded only this once.
	stored, err = l.append(eventlog.Record{Dir: "out", Env: req.Body})
	if err != nil {
		return nil, "", req, err
	}
	return stored, turn, req, nil
}

// sendable says why a session cannot take a new turn, or nil.
func sendable(s state.Session) error {
	switch s.State.Status {
	case events.StatusRunning, events.StatusWaitingPermission:
		return remedy.Errorf(sandbox.Invalid, remedy.FollowTurn, "session %q is busy with turn %s (%s)",
			s.Name, s.State.Turn, s.State.Status)
	case events.StatusEnded, events.StatusFailed:
		return remedy.Errorf(sandbox.Invalid, remedy.NewSession, "session %q has %s (%s)",
			s.Name, s.State.Status, s.State.LastError)
	}
	return nil
}

// startTurn posts the prompt in the background, bounded by promptWait: sandbox-agent holds the POST open
// until the turn ends but keeps the turn going when we stop waiting (measured with 0.4.2), and the reply
// arrives on the stream. It returns as soon as the agent reacts (any record after the prompt's), the POST
// ends, or promptWait passes. A POST that fails for a reason other than its deadline never reached the
// agent, so the turn is ended in the log with that error.
func (l *Session) startTurn(ctx context.Context, turn string, req acp.EncodedRequest, seq int64) error {
	failed := make(chan error, 1)
	logged := make(chan struct{})
	notDelivered := func(err error) {
		fail := errorEnvelope(turn, -32000, "not delivered: "+err.Error())
		l.ingest.Lock()
		_, _ = l.append(eventlog.Record{Dir: "in", Env: fail})
		l.ingest.Unlock()
	}
	post := func(context.Context) {
		defer close(logged)
		// Not the tool call's context: returning early must not kill the POST before its deadline. Nor
		// the manager's: Close waits for this bounded POST rather than cut a prompt in half.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), promptWait+10*time.Second)
		defer cancel()
		_, _, err := l.client.Start(pctx, req, promptWait)
		var rpcErr *acp.RPCError
		if err == nil || errors.As(err, &rpcErr) || l.reacted(seq, turn) {
			// Delivered: the agent answered, or already streams this turn (the POST can still fail
			// after that, e.g. when sandbox-agent dies mid-turn; the stream reports that).
			failed <- nil
			return
		}
		// Reported before it is logged, so the log's reaction below cannot be mistaken for the agent's.
		failed <- err
		notDelivered(err)
	}
	if !l.cfg.Spawn(post) {
		err := errors.New("the server is shutting down")
		notDelivered(err)
		return err
	}
	timer := time.NewTimer(promptWait)
	defer timer.Stop()
	for {
		changed := l.Changed()
		if l.reacted(seq, turn) {
			return nil
		}
		select {
		case err := <-failed:
			if err != nil {
				<-logged // the turn is ended in the log before the caller hears of it
			}
			return err
		case <-changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil // the turn goes on; get_events follows it
		}
	}
}

// Respond answers a pending session/request_permission with one of its option ids, or "cancelled", and
// returns the session's status after the answer.
func (l *Session) Respond(ctx context.Context, requestID, option string) (string, error) {
	sessionName := l.rec.Name
	s := l.Snapshot()
	var req *events.Event
	var ids []string
	for i, p := range s.State.Pending {
		ids = append(ids, p.Permission.RequestID)
		if p.Permission.RequestID == requestID {
			req = &s.State.Pending[i]
		}
	}
	if req == nil {
		if more := len(ids) - events.MaxPending; more > 0 { // the agent decides how many there are
			ids = append(ids[:events.MaxPending], fmt.Sprintf("and %d more", more))
		}
		return "", remedy.Errorf(sandbox.Invalid, remedy.ReadPending, "no pending permission request %q in session %q (pending: [%s])", textcut.Head(requestID, 256), sessionName, strings.Join(ids, ", "))
	}
	var optIDs []string
	for _, o := range req.Permission.Options {
		optIDs = append(optIDs, o.ID)
	}
	answer := acp.SelectOption(option)
	if option == "cancelled" {
		answer = acp.CancelPermission()
	} else if !slices.Contains(optIDs, option) {
		return "", invalidf("option %q is not offered for request %q: use one of [%s] or cancelled", textcut.Head(option, 256), requestID, strings.Join(optIDs, ", "))
	}
	// The reply carries the request's own id, with its JSON type (string or number) preserved.
	rawID := s.State.PendingIDs[requestID]
	if len(rawID) == 0 {
		rawID, _ = json.Marshal(requestID)
	}
	env, _ := json.Marshal(acp.Response{ID: rawID, Result: answer})
	if err := l.sendLogged(ctx, env); err != nil {
		return "", fmt.Errorf("answer permission request %q: %w", requestID, err)
	}
	return l.Snapshot().State.Status, nil
}

// CancelGrace is how long Cancel waits for the agent to end the turn before ending it itself.
const CancelGrace = 5 * time.Second

// Cancel sends session/cancel for the running turn and returns the turn and the status after it. The agent
// ends the turn with stop reason "cancelled", which arrives on the stream like any turn end; one that does
// not within CancelGrace is ended here.
func (l *Session) Cancel(ctx context.Context) (turn, status string, err error) {
	sessionName := l.rec.Name
	s := l.Snapshot()
	if s.State.Turn == "" {
		return "", "", invalidf("session %q has no running turn (status %s): nothing to cancel", sessionName, s.State.Status)
	}
	env, _ := json.Marshal(acp.Notification{Method: acp.MethodCancel, Params: acp.CancelParams{SessionID: s.SessionID}})
	if err := l.sendLogged(ctx, env); err != nil {
		return "", "", fmt.Errorf("cancel turn %s: %w", s.State.Turn, err)
	}
	turn = s.State.Turn
	_ = l.WaitFor(ctx, CancelGrace, nil, func() (bool, error) { return l.Snapshot().State.Turn != turn, nil })
	if l.Snapshot().State.Turn == turn {
		// The agent did not end the turn: it may never have received the prompt (the server died while
		// sending it) or it ignores session/cancel. End it here so the session can be used again.
		l.logger.Warn("turn did not end after session/cancel; ending it locally", "session", l.Key(), "turn", turn)
		end := localCancel(turn, "the agent did not answer session/cancel")
		l.ingest.Lock()
		l.flushChunks()
		_, err := l.append(eventlog.Record{Dir: "in", Env: end})
		l.ingest.Unlock()
		if err != nil {
			return "", "", err
		}
	}
	return turn, l.Snapshot().State.Status, nil
}

// reacted reports whether the agent has produced anything for turn since the prompt at seq: an update, a
// request or the turn's reply. Replies to earlier requests (the stream's replay of initialize and
// session/new) do not count: they say nothing about whether the prompt arrived.
func (l *Session) reacted(seq int64, turn string) bool {
	l.mu.Lock()
	lg := l.log
	l.mu.Unlock()
	if lg == nil {
		return false
	}
	recs, err := lg.ReadBytes(seq, 64, pageBatchBytes)
	if err != nil {
		return false
	}
	for _, r := range recs {
		if r.Dir != "in" {
			continue
		}
		var env acp.Envelope
		if json.Unmarshal(r.Env, &env) != nil {
			continue
		}
		if env.Method != "" || acp.IDString(env.ID) == turn {
			return true
		}
	}
	return false
}
