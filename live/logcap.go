package live

import (
	"encoding/json"
	"fmt"

	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// DefaultMaxLogBytes caps one session's event log (the data file). A long working session of a real
// agent logs a few MiB to a few tens of MiB (its text, tool outputs and diffs); 256 MiB leaves ten times
// that, while a flooding agent cannot fill the disk or make every full read of the log (transcript,
// final text) unbounded.
const DefaultMaxLogBytes = 256 << 20

const (
	// keepMax bounds one envelope kept past the cap; bigger ones are shrunk to what the session's state
	// needs, or dropped.
	keepMax = 64 << 10
	// recordOverhead is a record's line besides its envelope (seq, time, dir, sse id).
	recordOverhead = 100
	// maxNoteText bounds an agent-controlled string (an error message) copied into a shrunk envelope.
	maxNoteText = 1 << 10
)

// hardLimit is the size past which even turn ends and permission requests are no longer taken: the
// session fails. Between the cap and it, only those (small, and one per turn or request) are logged.
func hardLimit(limit int64) int64 { return limit + max(limit/8, 1<<20) }

// logBudget applies the session log cap to what the stream brings (ingestBatch, the writer goroutine
// only). Below the cap everything is logged. Past it, content (session/update notifications: message,
// thought and tool output chunks, plans) and other notifications are dropped; turn ends, errors,
// permission requests and the agent's exit are still logged, so the session's status stays right. One
// error record says that the cap was reached, and one before each record kept after drops says how many
// envelopes (and bytes) were dropped since.
type logBudget struct {
	max int64

	noted        bool  // the "limit reached" record is written
	dropped      int64 // envelopes dropped since the last summary
	droppedBytes int64
	firstDropped int64 // their first SSE id
	lastDropped  int64 // the SSE id of the last envelope dropped, for the reconnect (streamOnce)
}

// admit returns what of batch to log in a log now size bytes long: kept envelopes, possibly shrunk, and
// our notes (id 0). fail is set when the log would pass the hard limit: the session must fail.
func (b *logBudget) admit(size int64, batch []sseItem) (keep []sseItem, fail string) {
	keep = batch[:0:0]
	note := func(msg string) {
		env := noteEnvelope("sandbox-mcp-log-limit", msg)
		keep = append(keep, sseItem{data: env})
		size += int64(len(env)) + recordOverhead
	}
	for _, it := range batch {
		n := int64(len(it.data)) + recordOverhead
		// Once the cap is reached, smaller envelopes that would still fit the rest are dropped too: the
		// log says "no longer recorded" and must not then record some of it.
		if !b.noted && size+n <= b.max {
			keep = append(keep, it)
			size += n
			continue
		}
		if !b.noted {
			b.noted = true
			note(fmt.Sprintf("the session's event log reached its limit of %s (--max-session-log): agent output is no longer recorded; turn ends, permission requests and errors still are. Start a new session to see output again", mib(b.max)))
		}
		data, ok := essential(it.data)
		if !ok {
			if b.dropped == 0 {
				b.firstDropped = it.id
			}
			b.dropped++
			b.droppedBytes += int64(len(it.data))
			b.lastDropped = max(b.lastDropped, it.id)
			continue
		}
		if size+int64(len(data))+2*recordOverhead+512 > hardLimit(b.max) {
			return keep, fmt.Sprintf("the agent kept sending after the session's event log passed its hard limit of %s: the session is stopped; start a new session", mib(hardLimit(b.max)))
		}
		if b.dropped > 0 {
			note(fmt.Sprintf("%d envelope(s) (%d bytes, from sandbox-agent id %d) were dropped: the session's event log is over its limit of %s", b.dropped, b.droppedBytes, b.firstDropped, mib(b.max)))
			b.dropped, b.droppedBytes = 0, 0
		}
		keep = append(keep, sseItem{id: it.id, data: data})
		size += int64(len(data)) + recordOverhead
	}
	return keep, ""
}

// essential returns the envelope to keep past the cap, or false for content and anything else the
// session's state does not depend on. A request or response over keepMax is shrunk to the members the
// state reads (a turn's stop reason or error; a permission request's tool call and options).
func essential(data []byte) ([]byte, bool) {
	var env acp.Envelope
	if json.Unmarshal(data, &env) != nil || len(env.ID) > maxNoteText {
		return nil, false
	}
	switch {
	case env.IsNotification() && env.Method != acp.MethodAgentExit:
		return nil, false
	case len(data) <= keepMax:
		return data, true
	case env.IsResponse():
		out := acp.Response{ID: env.ID}
		if env.Error != nil {
			out.Error = &acp.RPCError{Code: env.Error.Code, Message: clipNote(env.Error.Message)}
		} else {
			var res acp.StopResult
			_ = json.Unmarshal(env.Result, &res)
			out.Result = acp.StopResult{StopReason: clipNote(res.StopReason)}
		}
		b, err := json.Marshal(out)
		return b, err == nil
	case env.IsRequest() && env.Method == acp.MethodPermission:
		var p struct {
			SessionID string `json:"sessionId"`
			ToolCall  struct {
				ToolCallID string `json:"toolCallId"`
				Title      string `json:"title"`
				Kind       string `json:"kind"`
				Status     string `json:"status"`
			} `json:"toolCall"`
			Options []struct {
				OptionID string `json:"optionId"`
				Name     string `json:"name"`
				Kind     string `json:"kind"`
			} `json:"options"`
		}
		if json.Unmarshal(env.Params, &p) != nil {
			return nil, false
		}
		p.ToolCall.Title = clipNote(p.ToolCall.Title)
		p.ToolCall.ToolCallID, p.ToolCall.Kind, p.ToolCall.Status = clipNote(p.ToolCall.ToolCallID), clipNote(p.ToolCall.Kind), clipNote(p.ToolCall.Status)
		p.Options = p.Options[:min(len(p.Options), 8)]
		for i := range p.Options {
			o := &p.Options[i]
			o.OptionID, o.Name, o.Kind = clipNote(o.OptionID), clipNote(o.Name), clipNote(o.Kind)
		}
		b, err := json.Marshal(acp.Request{ID: env.ID, Method: env.Method, Params: p})
		return b, err == nil && len(b) <= keepMax
	}
	return nil, false
}

// droppedEnvelope is the record that stands for an envelope over the per-envelope cap, which the SSE
// reader read past: logged with that envelope's SSE id, so the stream resumes after it.
func droppedEnvelope(id, size int64, limit int) []byte {
	return noteEnvelope("sandbox-mcp-dropped", fmt.Sprintf("envelope %d of %d bytes dropped (limit %d, --max-envelope): the agent sent more in one message than sandbox-mcp keeps", id, size, limit))
}

func clipNote(s string) string {
	if len(s) > maxNoteText {
		return textcut.Head(s, maxNoteText) + "…"
	}
	return s
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// admit applies the session log cap to a batch from the stream (ingestBatch holds l.ingest).
func (l *Session) admit(batch []sseItem) ([]sseItem, string) {
	l.mu.Lock()
	var size int64
	if l.log != nil {
		size = l.log.Size()
	}
	l.mu.Unlock()
	if l.budget.max == 0 {
		l.budget.max = l.cfg.MaxLogBytes
	}
	return l.budget.admit(size, batch)
}

// failOverLimit fails the session whose agent went on past the hard limit; the stream then ends.
func (l *Session) failOverLimit(reason string) {
	l.logger.Error("session log over its hard limit; session failed", "session", l.Key())
	l.SetState(func(s *events.State) { s.Fail(reason) })
}
