package testagent

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// hostileUnit is what filler is made of: characters JSON escapes to six bytes or two (<, &, a control
// character, a quote, a newline) and multi-byte ones, so a cut that counts bytes wrongly or splits a
// character shows.
const hostileUnit = "<&\x01\"\nx é😀 "

// filler returns n bytes (at most; cut on a character boundary) of hostileUnit repeated.
func filler(n int) string {
	s := strings.Repeat(hostileUnit, n/len(hostileUnit)+1)[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// spell streams "NAME=<value>" in chunks of n runes, as agent_message_chunks or agent_thought_chunks,
// waiting ms between chunks.
func (t *turn) spell(kind, name string, n, ms int) result {
	v, ok := os.LookupEnv(name)
	if !ok {
		v = "unset"
	}
	for i, s := range splitRunes(name+"="+v, n) {
		if i > 0 && ms > 0 && !t.wait(time.Duration(ms)*time.Millisecond) {
			return cancelled
		}
		t.update(chunk(kind, s))
	}
	return next
}

// perms sends n permission requests at once, each with huge titles and option names, and waits for
// every answer (or the turn's cancellation).
func (t *turn) perms(n, titleBytes, options, nameBytes int) result {
	opts := make([]map[string]any, options)
	for i := range opts {
		opts[i] = map[string]any{"optionId": fmt.Sprintf("o%d", i+1), "name": filler(nameBytes), "kind": "allow_once"}
	}
	replies := make([]chan inMsg, n)
	ids := make([]json.RawMessage, n)
	for i := range n {
		callID := t.newCallID()
		title := filler(titleBytes)
		t.toolCall(callID, title, "execute")
		t.a.mu.Lock()
		t.a.nextPerm++
		ids[i] = json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("perm-%d", t.a.nextPerm)))
		replies[i] = make(chan inMsg, 1)
		t.a.pending[idKey(ids[i])] = replies[i]
		t.a.mu.Unlock()
		t.a.out.send(outMsg{ID: ids[i], Method: "session/request_permission", Params: map[string]any{
			"sessionId": t.s.id,
			"toolCall":  map[string]any{"toolCallId": callID, "title": title, "kind": "execute", "status": "pending"},
			"options":   opts,
		}})
	}
	defer func() {
		t.a.mu.Lock()
		for _, id := range ids {
			delete(t.a.pending, idKey(id))
		}
		t.a.mu.Unlock()
	}()
	for _, r := range replies {
		select {
		case <-r:
		case <-t.ctx.Done():
			return cancelled
		case <-t.a.eof:
			return cancelled
		}
	}
	return next
}

// planBig sends a plan of n entries of size bytes each.
func (t *turn) planBig(n, size int) {
	entries := make([]any, n)
	for i := range entries {
		entries[i] = map[string]any{"content": filler(size), "priority": filler(size), "status": "pending"}
	}
	t.update(map[string]any{"sessionUpdate": "plan", "entries": entries})
}
