package manager

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
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// promptWait is how long send_message lets the prompt POST run before treating the turn as started:
// long enough for sandbox-agent to have the request, far below any host's tool timeout.
const promptWait = 1500 * time.Millisecond

// streamWait bounds how long send_message waits for the session's event stream to connect first.
const streamWait = 10 * time.Second

// SendRequest is send_message's input after binding.
type SendRequest struct {
	Sandbox, Session, Message string
	// Wait, when positive, holds the call until the turn ends (or asks for a permission) or Wait passes.
	Wait     time.Duration
	Progress func(msg string)
}

// TurnResult is send_message's answer.
type TurnResult struct {
	Sandbox    string `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session    string `json:"session" jsonschema_description:"Session name."`
	TurnID     string `json:"turn_id" jsonschema_description:"Id of the turn this message started."`
	Status     string `json:"status" jsonschema:"enum=idle,enum=running,enum=waiting_permission,enum=ended,enum=failed" jsonschema_description:"Session status now: running while the agent works, idle once the turn ended."`
	Cursor     int64  `json:"cursor" jsonschema_description:"Pass to get_events to read this turn's events from its start."`
	Done       bool   `json:"done" jsonschema_description:"True when the turn ended within wait_seconds."`
	StopReason string `json:"stop_reason,omitempty" jsonschema_description:"How the turn ended, when done."`
	Error      string `json:"error,omitempty" jsonschema_description:"Why the turn failed, when it did."`
	FinalText  string `json:"final_text,omitempty" jsonschema_description:"The agent's text in this turn, when done."`
	Resumed    string `json:"resumed,omitempty" jsonschema_description:"Set when the session had been interrupted (its sandbox stopped or sandbox-agent died) and was continued before this message: how."`
}

// SendMessage starts a turn and returns at once: upstream the prompt POST only returns when the turn ends,
// and hosts drop tool calls after about a minute, so the turn runs on while get_events reads it.
func (m *Manager) SendMessage(ctx context.Context, req SendRequest) (TurnResult, error) {
	sandboxName, sessionName, message := req.Sandbox, req.Session, req.Message
	if req.Wait > MaxWait {
		return TurnResult{}, invalidf("wait_seconds %d is over the %d-second limit: wait less, then follow with get_events", int(req.Wait.Seconds()), int(MaxWait.Seconds()))
	}
	if strings.TrimSpace(message) == "" {
		return TurnResult{}, invalidf("message is empty: say what the agent should do")
	}
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, sandboxName, sessionName)
	if err != nil {
		return TurnResult{}, err
	}
	l, resumed, err := m.resume(ctx, l) // an interrupted session is continued first (resume.go)
	if err != nil {
		return TurnResult{}, err
	}
	// Turn start is one critical section per session, from the status check to the prompt's record (whose
	// append makes the session running): two sends that both saw "idle" would both prompt the agent under
	// one turn id. A second send while one is starting is told the session is busy; it does not wait, as a
	// host retrying a slow call must not queue a second prompt.
	if !l.starting.TryLock() {
		return TurnResult{}, sandbox.Errorf(sandbox.Invalid, "session %q is busy: another send_message is starting a turn in it: follow that turn with get_events, then send again",
			sessionName)
	}
	stored, turn, env, err := m.claimTurn(ctx, l, sessionName, message)
	l.starting.Unlock()
	if err != nil {
		return TurnResult{}, err
	}
	if err := m.startTurn(ctx, l, turn, env, stored[0].Seq); err != nil {
		return TurnResult{}, gone(sandboxName, fmt.Errorf("send message to %q: %w", sessionName, err))
	}
	res := TurnResult{Sandbox: sandboxName, Session: sessionName, TurnID: turn, Cursor: stored[0].Seq - 1, Resumed: resumed}
	_ = m.waitFor(ctx, l, req.Wait, req.Progress, func() (bool, error) {
		st := l.snapshot().State
		return st.Turn != turn || st.Status != events.StatusRunning, nil
	})
	st := l.snapshot().State
	res.Status = st.Status
	if st.Turn != turn {
		res.Done, res.StopReason, res.Error = true, st.LastStopReason, st.LastError
		res.FinalText = m.turnText(l, res.Cursor)
	}
	return res, nil
}

// claimTurn checks that the session can take a turn, waits for its event stream, and logs the prompt,
// which makes the session running. The caller holds l.starting.
func (m *Manager) claimTurn(ctx context.Context, l *live, sessionName, message string) (stored []eventlog.Record, turn string, env []byte, err error) {
	if err := sendable(l.snapshot(), sessionName); err != nil {
		return nil, "", nil, err
	}
	if !l.awaitStream(ctx, streamWait) {
		m.log.Warn("sending before the event stream is connected; a burst of over 1024 events could be lost", "session", l.key())
	}
	s := l.snapshot() // again: the agent may have exited while we waited
	if err := sendable(s, sessionName); err != nil {
		return nil, "", nil, err
	}
	turn = events.TurnID(s.State.Turns + 1)
	env, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": turn, "method": events.MethodPrompt,
		"params": map[string]any{"sessionId": s.SessionID, "prompt": []map[string]string{{"type": "text", "text": message}}}})
	// Logged before it is sent, so the user message precedes everything the agent streams back. The log
	// holds it redacted; the agent gets env as written.
	stored, err = l.append(eventlog.Record{Dir: "out", Env: env})
	if err != nil {
		return nil, "", nil, err
	}
	return stored, turn, env, nil
}

// sendable says why a session cannot take a new turn, or nil.
func sendable(s state.Session, sessionName string) error {
	switch s.State.Status {
	case events.StatusRunning, events.StatusWaitingPermission:
		return sandbox.Errorf(sandbox.Invalid, "session %q is busy with turn %s (%s): read it with get_events, answer permissions with respond_permission, or stop it with cancel_turn",
			sessionName, s.State.Turn, s.State.Status)
	case events.StatusEnded, events.StatusFailed:
		return sandbox.Errorf(sandbox.Invalid, "session %q has %s (%s): open a new one with create_session",
			sessionName, s.State.Status, s.State.LastError)
	}
	return nil
}

// startTurn posts the prompt in the background, bounded by promptWait: sandbox-agent holds the POST open
// until the turn ends but keeps the turn going when we stop waiting (measured with 0.4.2), and the reply
// arrives on the stream. It returns as soon as the agent reacts (any record after the prompt's), the POST
// ends, or promptWait passes. A POST that fails for a reason other than its deadline never reached the
// agent, so the turn is ended in the log with that error.
func (m *Manager) startTurn(ctx context.Context, l *live, turn string, env []byte, seq int64) error {
	failed := make(chan error, 1)
	logged := make(chan struct{})
	notDelivered := func(err error) {
		fail, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": turn,
			"error": map[string]any{"code": -32000, "message": "not delivered: " + err.Error()}})
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
		_, _, err := l.client.Start(pctx, turn, events.MethodPrompt, json.RawMessage(mustParams(env)), promptWait)
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
	if !m.spawn(post) {
		err := errors.New("the server is shutting down")
		notDelivered(err)
		return err
	}
	timer := time.NewTimer(promptWait)
	defer timer.Stop()
	for {
		changed := l.wait()
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

func mustParams(env []byte) []byte {
	var e acp.Envelope
	_ = json.Unmarshal(env, &e)
	return e.Params
}

// PermissionResult is respond_permission's answer.
type PermissionResult struct {
	RequestID string `json:"request_id" jsonschema_description:"The request answered."`
	Outcome   string `json:"outcome" jsonschema_description:"The option id sent, or cancelled."`
	Status    string `json:"status" jsonschema_description:"Session status after the answer."`
}

// RespondPermission answers a pending session/request_permission with one of its option ids, or
// "cancelled".
func (m *Manager) RespondPermission(ctx context.Context, sandboxName, sessionName, requestID, option string) (PermissionResult, error) {
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, sandboxName, sessionName)
	if err != nil {
		return PermissionResult{}, err
	}
	s := l.snapshot()
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
		return PermissionResult{}, invalidf("no pending permission request %q in session %q (pending: [%s]): read get_events for current requests", textcut.Head(requestID, 256), sessionName, strings.Join(ids, ", "))
	}
	var optIDs []string
	for _, o := range req.Permission.Options {
		optIDs = append(optIDs, o.ID)
	}
	outcome := map[string]string{"outcome": "selected", "optionId": option}
	if option == "cancelled" {
		outcome = map[string]string{"outcome": "cancelled"}
	} else if !slices.Contains(optIDs, option) {
		return PermissionResult{}, invalidf("option %q is not offered for request %q: use one of [%s] or cancelled", textcut.Head(option, 256), requestID, strings.Join(optIDs, ", "))
	}
	// The reply carries the request's own id, with its JSON type (string or number) preserved.
	rawID := s.State.PendingIDs[requestID]
	if len(rawID) == 0 {
		rawID, _ = json.Marshal(requestID)
	}
	env, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": rawID, "result": map[string]any{"outcome": outcome}})
	if err := l.sendLogged(ctx, env); err != nil {
		return PermissionResult{}, gone(sandboxName, fmt.Errorf("answer permission request %q: %w", requestID, err))
	}
	return PermissionResult{RequestID: requestID, Outcome: option, Status: l.snapshot().State.Status}, nil
}

// cancelGrace is how long cancel_turn waits for the agent to end the turn before ending it itself.
const cancelGrace = 5 * time.Second

// CancelResult is cancel_turn's answer.
type CancelResult struct {
	TurnID string `json:"turn_id" jsonschema_description:"The turn asked to stop."`
	Status string `json:"status" jsonschema_description:"Session status after the cancel: idle once the turn ended with stop reason cancelled."`
}

// CancelTurn sends session/cancel for the running turn. The agent ends the turn with stop reason
// "cancelled", which arrives on the stream like any turn end.
func (m *Manager) CancelTurn(ctx context.Context, sandboxName, sessionName string) (CancelResult, error) {
	defer m.use(ctx, sandboxName)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, sandboxName, sessionName)
	if err != nil {
		return CancelResult{}, err
	}
	s := l.snapshot()
	if s.State.Turn == "" {
		return CancelResult{}, invalidf("session %q has no running turn (status %s): nothing to cancel", sessionName, s.State.Status)
	}
	env, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": events.MethodCancel,
		"params": map[string]string{"sessionId": s.SessionID}})
	if err := l.sendLogged(ctx, env); err != nil {
		return CancelResult{}, gone(sandboxName, fmt.Errorf("cancel turn %s: %w", s.State.Turn, err))
	}
	turn := s.State.Turn
	_ = m.waitFor(ctx, l, cancelGrace, nil, func() (bool, error) { return l.snapshot().State.Turn != turn, nil })
	if l.snapshot().State.Turn == turn {
		// The agent did not end the turn: it may never have received the prompt (the server died while
		// sending it) or it ignores session/cancel. End it here so the session can be used again.
		m.log.Warn("turn did not end after session/cancel; ending it locally", "session", l.key(), "turn", turn)
		end, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": turn, "result": map[string]any{"stopReason": "cancelled"},
			"_meta": map[string]any{"sandbox-mcp/local": "the agent did not answer session/cancel"}})
		l.ingest.Lock()
		l.flushChunks()
		_, err := l.append(eventlog.Record{Dir: "in", Env: end})
		l.ingest.Unlock()
		if err != nil {
			return CancelResult{}, err
		}
	}
	return CancelResult{TurnID: turn, Status: l.snapshot().State.Status}, nil
}

// gone rewrites a failure caused by a sandbox that no longer exists into what the model should do.
func gone(sandboxName string, err error) error {
	if errors.Is(err, sandbox.ErrNotFound) {
		return sandbox.Errorf(sandbox.NotFound, "sandbox %q no longer exists (it was removed outside sandbox-mcp): call destroy_sandbox to clean up, then create_sandbox", sandboxName)
	}
	return err
}

// reacted reports whether the agent has produced anything for turn since the prompt at seq: an update, a
// request or the turn's reply. Replies to earlier requests (the stream's replay of initialize and
// session/new) do not count: they say nothing about whether the prompt arrived.
func (l *live) reacted(seq int64, turn string) bool {
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
