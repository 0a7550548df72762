package fakeagent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Turn is one session/prompt as the agent sees it. Its methods emit what an ACP agent streams during a
// turn (docs/upstream/sandbox-agent.md §6.1); they are safe to call from the Prompt goroutine only.
type Turn struct {
	a  *Agent
	s  *server
	id json.RawMessage // the prompt request's JSON-RPC id

	// SessionID is the prompt's sessionId; Text is its prompt text (the text blocks joined); Cwd is the
	// cwd session/new gave the session.
	SessionID, Text, Cwd string

	quit       chan struct{} // the fake's life the turn runs in: closed when it dies or closes
	cancel     chan struct{}
	cancelOnce sync.Once
	done       chan []byte // the reply that ends the turn, once
	ended      bool
}

// ID is the prompt request's id as text (a string id without its quotes).
func (t *Turn) ID() string {
	var s string
	if json.Unmarshal(t.id, &s) == nil {
		return s
	}
	return string(t.id)
}

// prompt starts a turn and holds the POST until it ends (§6): when the client stops waiting, the turn goes
// on and its reply still reaches the stream.
func (a *Agent) prompt(ctx context.Context, s *server, env envelope) ([]byte, bool) {
	var p struct {
		SessionID string `json:"sessionId"`
		Prompt    []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"prompt"`
	}
	_ = json.Unmarshal(env.Params, &p)
	t := &Turn{a: a, s: s, id: env.ID, SessionID: p.SessionID, cancel: make(chan struct{}), done: make(chan []byte, 1)}
	for _, b := range p.Prompt {
		if b.Type == "text" {
			t.Text += b.Text
		}
	}
	a.mu.Lock()
	if a.dead || a.closed {
		a.mu.Unlock()
		return nil, false
	}
	t.quit, t.Cwd = a.quit, s.cwds[t.SessionID]
	s.turns[t.SessionID] = t
	a.wg.Add(1)
	a.mu.Unlock()
	script := a.opts.Prompt
	if script == nil {
		script = func(t *Turn) { t.Say(t.Text) }
	}
	go func() {
		defer a.wg.Done()
		script(t)
		if !t.ended {
			t.End("end_turn")
		}
	}()
	select {
	case reply := <-t.done:
		return reply, true
	case <-ctx.Done():
	case <-t.quit:
	}
	return nil, false
}

// Cancelled is closed when the client sends session/cancel for this turn's session, or when the fake stops.
func (t *Turn) Cancelled() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		select {
		case <-t.cancel:
		case <-t.quit:
		}
	}()
	return ch
}

// Stopped is closed when the fake dies or the test ends: a script that waits forever waits on this.
func (t *Turn) Stopped() <-chan struct{} { return t.quit }

// Update emits a session/update notification with the given update object.
func (t *Turn) Update(update any) {
	u, _ := json.Marshal(update)
	t.a.emit(t.s, fmt.Appendf(nil, `{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":%q,"update":%s}}`, t.SessionID, u))
}

// Say emits an agent_message_chunk with text.
func (t *Turn) Say(text string) {
	t.Update(map[string]any{"sessionUpdate": "agent_message_chunk", "content": map[string]string{"type": "text", "text": text}})
}

// ToolCall emits a tool_call update (kind execute, status pending).
func (t *Turn) ToolCall(callID, title string) {
	t.Update(map[string]any{"sessionUpdate": "tool_call", "toolCallId": callID, "title": title, "kind": "execute", "status": "pending"})
}

// Cost is a usage_update's cost: what the session has cost so far, in currency.
type Cost struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// Usage emits a usage_update as ACP's "Session Usage Updates" shape it: used and size are the tokens in the
// agent's context window and the window's size; cost, when set, is the session's cumulative cost.
func (t *Turn) Usage(used, size int64, cost *Cost) {
	u := map[string]any{"sessionUpdate": "usage_update", "used": used, "size": size}
	if cost != nil {
		u["cost"] = cost
	}
	t.Update(u)
}

// RequestPermission emits a session/request_permission request with id reqID (a string or a number) for a
// tool call of kind execute, with the options allow (allow_once), always (allow_always) and reject
// (reject_once), then waits for the client's answer. It returns the answer's result (or error) member, or
// ok=false when the turn was cancelled or the fake stopped first.
func (t *Turn) RequestPermission(reqID any, callID, title string) (answer json.RawMessage, ok bool) {
	return t.requestPermission(reqID, toolCall{ID: callID, Title: title, Kind: "execute", Status: "pending"})
}

// RequestEdit is RequestPermission for a tool call of kind edit whose one location is path (agents send
// absolute paths): what --auto-permission=edits decides on.
func (t *Turn) RequestEdit(reqID any, callID, path string) (answer json.RawMessage, ok bool) {
	return t.requestPermission(reqID, toolCall{ID: callID, Title: "Edit " + path, Kind: "edit", Status: "pending",
		Locations: []location{{Path: path}}})
}

// toolCall is a permission request's toolCall (docs/upstream/sandbox-agent.md §6.1).
type toolCall struct {
	ID        string     `json:"toolCallId"`
	Title     string     `json:"title"`
	Kind      string     `json:"kind"`
	Status    string     `json:"status"`
	Locations []location `json:"locations,omitempty"`
}

type location struct {
	Path string `json:"path"`
}

func (t *Turn) requestPermission(reqID any, call toolCall) (answer json.RawMessage, ok bool) {
	id, _ := json.Marshal(reqID)
	tc, _ := json.Marshal(call)
	ch := make(chan json.RawMessage, 1)
	t.a.mu.Lock()
	t.s.waiting[string(id)] = ch
	t.a.mu.Unlock()
	t.a.emit(t.s, fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"method":"session/request_permission","params":{"sessionId":%q,`+
		`"toolCall":%s,"options":[`+
		`{"optionId":"allow","name":"Allow","kind":"allow_once"},`+
		`{"optionId":"always","name":"Always allow","kind":"allow_always"},`+
		`{"optionId":"reject","name":"Reject","kind":"reject_once"}]}}`, id, t.SessionID, tc))
	select {
	case answer = <-ch:
		return answer, true
	case <-t.cancel:
	case <-t.quit:
	}
	t.a.mu.Lock()
	delete(t.s.waiting, string(id))
	t.a.mu.Unlock()
	return nil, false
}

// End ends the turn with a stop reason: the prompt's response reaches the stream and the held POST.
func (t *Turn) End(stopReason string) {
	t.finish(resultReply(t.id, fmt.Sprintf(`{"stopReason":%q}`, stopReason)))
}

// Fail ends the turn with a JSON-RPC error.
func (t *Turn) Fail(code int, message string) {
	t.finish(errorReply(t.id, code, message))
}

func (t *Turn) finish(reply []byte) {
	if t.ended {
		return
	}
	t.ended = true
	t.a.mu.Lock()
	if t.s.turns[t.SessionID] == t {
		delete(t.s.turns, t.SessionID)
	}
	t.a.mu.Unlock()
	t.a.emit(t.s, reply)
	t.done <- reply
}
