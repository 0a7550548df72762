package live

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
)

// chunkRedactor keeps secrets out of a session's streamed text before it reaches the event log. Agents
// stream a message as many agent_message_chunk envelopes; redacting each envelope alone misses a key
// spoken in pieces, which a reader (a merged event, raw mode, two pages, the log file) joins back. So the
// text of each chunk kind runs through a redact.Stream: a chunk is stored with the text that may leave,
// and what could begin a key waits for the next chunk. The log stores envelopes (raw mode returns them),
// so the rewritten chunk is what is stored: no stored envelope, alone or joined, spells a key.
//
// What is held back leaves in a chunk of our own (an "in" record without an SSE id) just before the next
// envelope that ends the run, or when the session stops. It is at most the length of the longest secret
// minus one byte, and only ever text that begins a secret. A SIGKILL loses it.
//
// Used by the ingest path only, under live.ingest.
type chunkRedactor struct {
	red     *redact.Redactor
	streams map[string]*redact.Stream // by sessionUpdate kind: messages and thoughts interleave
	session string                    // the ACP session id, for the chunks we write
}

// chunkEnvelope is what we read of a session/update carrying a text chunk.
type chunkEnvelope struct {
	Method string `json:"method"`
	Params struct {
		SessionID string `json:"sessionId"`
		Update    struct {
			SessionUpdate string          `json:"sessionUpdate"`
			Content       json.RawMessage `json:"content"`
		} `json:"update"`
	} `json:"params"`
}

// streamedKinds are the updates whose text is one stream split into envelopes.
var streamedKinds = []string{"agent_message_chunk", "agent_thought_chunk", "user_message_chunk"}

// quietKinds are updates that neither carry streamed text nor end a run of it (a reader never sees them
// as events), so text held back waits across them.
var quietKinds = []string{"usage_update", "available_commands_update", "config_option_update", "session_info_update"}

// in takes one envelope from the agent and returns the envelopes to store in its place: text held back
// earlier that must leave first (flush), then env itself, its text rewritten when the stream redacted or
// held back part of it.
func (c *chunkRedactor) in(env []byte) (flush [][]byte, out []byte) {
	if c.red.Empty() {
		return nil, env
	}
	var ce chunkEnvelope
	isUpdate := bytes.Contains(env, []byte(acp.MethodUpdate)) && json.Unmarshal(env, &ce) == nil && ce.Method == acp.MethodUpdate
	kind := ce.Params.Update.SessionUpdate
	switch {
	// Any block with text counts, whatever its type: the reader shows its text (events.contentText).
	case isUpdate && slices.Contains(streamedKinds, kind):
		text, spellings, ok := chunkText(ce.Params.Update.Content)
		if !ok {
			return c.flush(), env
		}
		if ce.Params.SessionID != "" {
			c.session = ce.Params.SessionID
		}
		s := c.streams[kind]
		if s == nil {
			if c.streams == nil {
				c.streams = map[string]*redact.Stream{}
			}
			s = c.red.Stream()
			c.streams[kind] = s
		}
		// A second spelling of "text" (which decoders read case-insensitively) is rewritten away too.
		if red := s.Write(text); red != text || spellings > 1 {
			return nil, withText(env, kind, c.session, red)
		}
		return nil, env
	case isUpdate && slices.Contains(quietKinds, kind):
		return nil, env
	}
	return c.flush(), env
}

// chunkText reads a chunk's text as encoding/json does (keys matched in any case, escapes decoded, the
// last of several spellings winning), and counts how many keys spell "text".
func chunkText(content json.RawMessage) (text string, spellings int, ok bool) {
	var block struct {
		Text *string `json:"text"`
	}
	if json.Unmarshal(content, &block) != nil || block.Text == nil {
		return "", 0, false
	}
	// Every key of the block, duplicates included (a map would fold them into one).
	dec := json.NewDecoder(bytes.NewReader(content))
	if _, err := dec.Token(); err != nil { // {
		return "", 0, false
	}
	for dec.More() {
		k, err := dec.Token()
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			return "", 0, false
		}
		if key, _ := k.(string); strings.EqualFold(key, "text") {
			spellings++
		}
	}
	return *block.Text, spellings, true
}

// flush returns a chunk envelope for the text each stream holds back, and empties the streams.
func (c *chunkRedactor) flush() [][]byte {
	var out [][]byte
	for _, kind := range streamedKinds { // a fixed order: the log must not depend on map order
		s := c.streams[kind]
		if s == nil || s.Held() == 0 {
			continue
		}
		out = append(out, withText(nil, kind, c.session, s.Flush()))
	}
	return out
}

// withText returns env (a chunk of kind for session) with its text replaced. Everything else in the
// envelope is kept (numbers exactly as sent; the order of keys may change), unless its shape is
// ambiguous to a decoder (keys spelt twice in different case, which encoding/json matches either way):
// then it is rebuilt from what we know, so no other spelling can keep the old text.
func withText(env []byte, kind, session, text string) []byte {
	canonical := func() []byte {
		b, _ := json.Marshal(acp.Notification{Method: acp.MethodUpdate, Params: acp.UpdateParams{SessionID: session,
			Update: acp.ContentChunk{SessionUpdate: kind, Content: acp.TextBlock(text)}}})
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(env))
	dec.UseNumber()
	var v map[string]any
	if dec.Decode(&v) != nil {
		return canonical()
	}
	content := v
	for _, k := range []string{"params", "update", "content"} {
		content = only(content, k)
		if content == nil {
			return canonical()
		}
	}
	for k := range content {
		if strings.EqualFold(k, "text") {
			delete(content, k)
		}
	}
	content["text"] = text
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return canonical()
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// only returns m[key] as an object when key is its one spelling in m (in any case), else nil.
func only(m map[string]any, key string) map[string]any {
	n := 0
	for k := range m {
		if strings.EqualFold(k, key) {
			n++
		}
	}
	obj, _ := m[key].(map[string]any)
	if n != 1 {
		return nil
	}
	return obj
}

// redactIn is chunkRedactor.in for this session's ingest: the records to append for one envelope from
// the stream (sseID 0 for one of our own). The caller holds l.ingest.
func (l *Session) redactIn(sseID int64, env []byte) []eventlog.Record {
	l.chunks.red = l.cfg.Secrets
	flush, env := l.chunks.in(env)
	recs := make([]eventlog.Record, 0, len(flush)+1)
	for _, f := range flush {
		recs = append(recs, eventlog.Record{Dir: eventlog.DirIn, Env: f})
	}
	return append(recs, eventlog.Record{Dir: eventlog.DirIn, SSEID: sseID, Env: env})
}

// flushChunks appends the text held back, if any: before a turn end we write ourselves, and when the
// session stops. The caller holds l.ingest.
func (l *Session) flushChunks() {
	var recs []eventlog.Record
	for _, f := range l.chunks.flush() {
		recs = append(recs, eventlog.Record{Dir: eventlog.DirIn, Env: f})
	}
	if len(recs) > 0 {
		if _, err := l.append(recs...); err != nil {
			l.logger.Warn("could not store the end of a streamed text", "session", l.Key(), "err", err)
		}
	}
}
