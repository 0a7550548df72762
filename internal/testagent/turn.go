package testagent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	stopEndTurn   = "end_turn"
	stopCancelled = "cancelled"
	sayChunk      = 8 // max runes per `say` chunk
)

// turn is one running session/prompt.
type turn struct {
	a     *agent
	s     *session
	ctx   context.Context
	id    json.RawMessage
	usage map[string]any // set by `tokens`: the response's usage
}

// result is how a command ends: next == true continues with the next
// command; otherwise exactly one of stop, fail or exit applies.
type result struct {
	next bool
	stop string
	fail string
	exit bool
	code int
}

var (
	next      = result{next: true}
	cancelled = result{stop: stopCancelled}
)

func (t *turn) run(text string) {
	defer t.a.turns.Done()
	t.update(chunk("user_message_chunk", text))
	cmds, err := ParseScript(text)
	if err != nil {
		t.a.endTurn(t.s)
		t.a.respondErr(t.id, codeInvalidParams, "script: "+err.Error())
		return
	}
	r := result{stop: stopEndTurn}
	for _, c := range cmds {
		if t.ctx.Err() != nil {
			r = cancelled
			break
		}
		if res := t.exec(c); !res.next {
			r = res
			break
		}
	}
	if r.stop == stopEndTurn && t.ctx.Err() != nil { // cancel raced the last command
		r = cancelled
	}
	switch {
	case r.exit:
		t.a.requestExit(r.code)
	case r.fail != "":
		t.a.endTurn(t.s)
		t.a.respondErr(t.id, codeInternal, r.fail)
	default:
		t.a.endTurn(t.s)
		res := map[string]any{"stopReason": r.stop}
		if t.usage != nil {
			res["usage"] = t.usage
		}
		t.a.respond(t.id, res)
	}
}

func (t *turn) update(u map[string]any) {
	t.a.record(t.s, u)
	t.a.notify("session/update", map[string]any{"sessionId": t.s.id, "update": u})
}

func textContent(s string) map[string]any {
	return map[string]any{"type": "text", "text": s}
}

func chunk(kind, text string) map[string]any {
	return map[string]any{"sessionUpdate": kind, "content": textContent(text)}
}

func (t *turn) say(text string) {
	t.update(chunk("agent_message_chunk", text))
}

func (t *turn) newCallID() string {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	t.a.nextCall++
	return fmt.Sprintf("call-%d", t.a.nextCall)
}

func (t *turn) toolCall(id, title, kind string) {
	t.update(map[string]any{"sessionUpdate": "tool_call", "toolCallId": id, "title": title, "kind": kind, "status": "pending"})
}

func (t *turn) toolUpdate(id, status, text string) {
	u := map[string]any{"sessionUpdate": "tool_call_update", "toolCallId": id, "status": status}
	if text != "" {
		u["content"] = []any{map[string]any{"type": "content", "content": textContent(text)}}
	}
	t.update(u)
}

// wait sleeps for d unless the turn is cancelled first.
func (t *turn) wait(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

func (t *turn) exec(c Command) result {
	switch c.Op {
	case OpEcho:
		for _, s := range splitN(splitRunes("You said: "+c.Text, 0), 3) {
			t.say(s)
		}
	case OpSay:
		for _, s := range splitRunes(c.Text, sayChunk) {
			t.say(s)
		}
	case OpThink:
		t.update(chunk("agent_thought_chunk", c.Text))
	case OpPlan:
		entries := make([]any, len(c.Items))
		for i, it := range c.Items {
			entries[i] = map[string]any{"content": it, "priority": "medium", "status": "pending"}
		}
		t.update(map[string]any{"sessionUpdate": "plan", "entries": entries})
	case OpTool:
		id := t.newCallID()
		t.toolCall(id, c.Text, "edit")
		t.toolUpdate(id, "in_progress", "")
		t.toolUpdate(id, "completed", "ok")
	case OpWrite:
		id := t.newCallID()
		t.toolCall(id, "Write "+c.Path, "edit")
		if n, err := t.write(c.Path, c.Text); err != nil {
			t.toolUpdate(id, "failed", err.Error())
		} else {
			t.toolUpdate(id, "completed", fmt.Sprintf("wrote %d bytes", n))
		}
	case OpPerm:
		return t.perm(c.Text)
	case OpSleep:
		if !t.wait(time.Duration(c.MS) * time.Millisecond) {
			return cancelled
		}
	case OpEvents:
		for i := 1; i <= c.N; i++ {
			if t.ctx.Err() != nil {
				return cancelled
			}
			t.say(fmt.Sprintf("e%d ", i))
		}
	case OpCalls:
		for i := 1; i <= c.N; i++ {
			if t.ctx.Err() != nil {
				return cancelled
			}
			t.toolCall(t.newCallID(), fmt.Sprintf("t%d", i), "other")
		}
	case OpPermEdit:
		return t.permAt("Edit "+c.Path, "edit", filepath.Join(t.s.cwd, c.Path))
	case OpStream:
		for i := 1; i <= c.N; i++ {
			if !t.wait(time.Duration(c.MS) * time.Millisecond) {
				return cancelled
			}
			t.say(fmt.Sprintf("s%d ", i))
		}
	case OpStop:
		return result{stop: c.Text}
	case OpFail:
		return result{fail: c.Text}
	case OpExit:
		return result{exit: true, code: c.N}
	case OpUsage:
		u := map[string]any{"sessionUpdate": "usage_update", "used": c.Nums[0], "size": c.Nums[1]}
		if c.Cost != nil {
			u["cost"] = map[string]any{"amount": *c.Cost, "currency": "USD"}
		}
		t.update(u)
	case OpTokens:
		n := c.Nums
		t.usage = map[string]any{"inputTokens": n[0], "outputTokens": n[1], "cachedReadTokens": n[2],
			"cachedWriteTokens": n[3], "totalTokens": n[0] + n[1] + n[2] + n[3]}
	case OpHistory:
		t.say(t.history())
	case OpMCP:
		t.a.mu.Lock()
		servers := string(t.s.mcp)
		t.a.mu.Unlock()
		if servers == "" {
			servers = "null"
		}
		t.say("mcp: " + servers)
	case OpSpell:
		return t.spell("agent_message_chunk", c.Text, c.N, c.MS)
	case OpSpellTh:
		return t.spell("agent_thought_chunk", c.Text, c.N, c.MS)
	case OpSayBig:
		t.say(filler(c.N))
	case OpPerms:
		return t.perms(c.N, c.Sizes[0], c.Sizes[1], c.Sizes[2])
	case OpPlanBig:
		t.planBig(c.N, c.Sizes[0])
	case OpFailBig:
		return result{fail: filler(c.N)}
	case OpEchoEnv:
		v, ok := os.LookupEnv(c.Text)
		if !ok {
			v = "unset"
		}
		t.say(c.Text + "=" + v)
	}
	return next
}

// history describes the prompts in the session's history before the running one.
func (t *turn) history() string {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	var prompts []string
	for _, raw := range t.s.history {
		var u struct {
			SessionUpdate string `json:"sessionUpdate"`
			Content       struct {
				Text string `json:"text"`
			} `json:"content"`
		}
		if json.Unmarshal(raw, &u) == nil && u.SessionUpdate == "user_message_chunk" {
			prompts = append(prompts, u.Content.Text)
		}
	}
	if len(prompts) > 0 {
		prompts = prompts[:len(prompts)-1] // the running prompt
	}
	return fmt.Sprintf("history: %d earlier prompt(s): %s", len(prompts), strings.Join(prompts, " | "))
}

// write creates rel (relative, no "..") under the session cwd.
func (t *turn) write(rel, text string) (int, error) {
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) {
		return 0, fmt.Errorf("refused: absolute path %q", rel)
	}
	for _, part := range strings.FieldsFunc(rel, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return 0, fmt.Errorf("refused: path %q escapes the session cwd", rel)
		}
	}
	full := filepath.Join(t.s.cwd, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
		return 0, err
	}
	return len(text), nil
}

var permOptions = []map[string]any{
	{"optionId": "allow", "name": "Allow", "kind": "allow_once"},
	{"optionId": "always", "name": "Always allow", "kind": "allow_always"},
	{"optionId": "reject", "name": "Reject", "kind": "reject_once"},
}

func (t *turn) perm(title string) result { return t.permAt(title, "execute", "") }

// permAt asks for permission for a tool call of the given kind, touching path when it is not empty (ACP
// tool calls list the files they touch as locations: policies decide on them).
func (t *turn) permAt(title, kind, path string) result {
	callID := t.newCallID()
	t.toolCall(callID, title, kind)
	toolCall := map[string]any{"toolCallId": callID, "title": title, "kind": kind, "status": "pending"}
	if path != "" {
		toolCall["locations"] = []any{map[string]any{"path": path}}
	}

	t.a.mu.Lock()
	t.a.nextPerm++
	permID := json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("perm-%d", t.a.nextPerm)))
	reply := make(chan inMsg, 1)
	t.a.pending[idKey(permID)] = reply
	t.a.mu.Unlock()

	t.a.out.send(outMsg{ID: permID, Method: "session/request_permission", Params: map[string]any{
		"sessionId": t.s.id,
		"toolCall":  toolCall,
		"options":   permOptions,
	}})

	var m inMsg
	select {
	case m = <-reply:
	case <-t.ctx.Done():
	case <-t.a.eof:
	}
	if m.ID == nil { // cancelled or stdin closed: abandon the request
		t.a.mu.Lock()
		delete(t.a.pending, idKey(permID))
		t.a.mu.Unlock()
		t.toolUpdate(callID, "failed", "")
		return cancelled
	}
	var res struct {
		Outcome struct {
			Outcome  string `json:"outcome"`
			OptionID string `json:"optionId"`
		} `json:"outcome"`
	}
	if m.Error == nil {
		_ = json.Unmarshal(orEmpty(m.Result), &res)
	}
	if m.Error == nil && res.Outcome.Outcome == "cancelled" {
		t.toolUpdate(callID, "failed", "")
		return cancelled
	}
	status := "failed"
	if m.Error == nil && res.Outcome.Outcome == "selected" {
		for _, o := range permOptions {
			if o["optionId"] == res.Outcome.OptionID && strings.HasPrefix(o["kind"].(string), "allow") {
				status = "completed"
			}
		}
	}
	t.toolUpdate(callID, status, "")
	return next
}

// splitRunes splits s into pieces of at most n runes (n <= 0: one rune each).
func splitRunes(s string, n int) []string {
	if n <= 0 {
		n = 1
	}
	r := []rune(s)
	var out []string
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

// splitN joins runes into k nearly equal pieces (fewer if there are fewer runes).
func splitN(runes []string, k int) []string {
	var out []string
	for i := 0; i < k; i++ {
		lo, hi := i*len(runes)/k, (i+1)*len(runes)/k
		if hi > lo {
			out = append(out, strings.Join(runes[lo:hi], ""))
		}
	}
	return out
}
