package live

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/budget"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
)

// progressEvery is how often a waiting call reports progress: often enough to keep a host's idle watchdog
// happy and show movement, rarely enough not to fill mcp-go's 100-slot notification channel.
const progressEvery = 3 * time.Second

// WaitFor calls done until it reports true, re-checking at every append to the session's log, until wait
// passes or ctx ends. progress (if set) hears what the agent is doing every few seconds meanwhile.
func (l *Session) WaitFor(ctx context.Context, wait time.Duration, progress func(string), done func() (bool, error)) error {
	deadline := time.NewTimer(max(wait, 0))
	defer deadline.Stop()
	ticker := time.NewTicker(progressEvery)
	defer ticker.Stop()
	for {
		changed := l.Changed() // taken before the check, so an append in between still wakes us
		ok, err := done()
		if ok || err != nil || wait <= 0 {
			return err
		}
		select {
		case <-changed:
		case <-ticker.C:
			if progress != nil {
				progress(l.activity())
			}
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return nil // the caller (or the client's cancellation) ends the wait; what we have is returned
		}
	}
}

// activity says in a few words what the session is doing, from its state and its last event.
func (l *Session) activity() string {
	s := l.Snapshot()
	msg := s.State.Status
	if s.State.Turn != "" {
		msg += " " + s.State.Turn
	}
	l.mu.Lock()
	lg := l.log
	l.mu.Unlock()
	if lg == nil {
		return msg
	}
	recs, err := lg.ReadLast(20, pageBatchBytes) // the latest records, bounded by bytes as well
	if err != nil {
		return msg
	}
	evs := events.Normalize(recs, false)
	if len(evs) == 0 {
		return msg
	}
	ev := evs[len(evs)-1]
	// Everything the agent wrote is redacted whole, then cut: the message goes out as a notification,
	// which no result middleware sees.
	red := l.cfg.Secrets.String
	switch {
	case ev.ToolCall != nil && ev.ToolCall.Title != "":
		title := textcut.Head(red(ev.ToolCall.Title), 80)
		msg += fmt.Sprintf(": %s %q %s", strings.ReplaceAll(ev.Kind, "_", " "), title, textcut.Head(ev.ToolCall.Status, 20))
	case ev.Text != "":
		t := red(ev.Text)
		if tail := textcut.Tail(t, 80); len(tail) < len(t) {
			t = "…" + tail
		}
		msg += fmt.Sprintf(": %s %q", strings.ReplaceAll(ev.Kind, "_", " "), strings.Join(strings.Fields(t), " "))
	default:
		msg += ": " + strings.ReplaceAll(ev.Kind, "_", " ")
	}
	return msg
}

// turnText is the agent's text in a turn, from the log: what Send returns when the turn ends in
// time, and how many bytes were cut from its start. Long text keeps its end, where agents put their
// conclusions; the caller says where the rest is.
func (l *Session) turnText(startSeq int64) (string, int64) {
	l.mu.Lock()
	lg := l.log
	l.mu.Unlock()
	if lg == nil {
		return "", 0
	}
	// Only the end is kept as the log is read, in batches bounded by bytes: a turn that wrote hundreds of
	// MiB costs the time to read them, not the memory.
	b := budget.Tail{Max: maxEventText * 2}
	for cursor := startSeq; ; {
		recs, err := lg.ReadBytes(cursor, 1000, pageBatchBytes)
		if err != nil || len(recs) == 0 {
			break
		}
		for _, ev := range events.Normalize(recs, false) {
			if ev.Kind == events.KindAgentMessage {
				b.WriteString(ev.Text)
			}
		}
		cursor = recs[len(recs)-1].Seq
	}
	// Ingest stored the text redacted across chunks already; redacting the kept tail again is a second
	// line of defence. Then it is cut to its JSON size, never inside a character.
	text, cut := b.String()
	text = l.cfg.Secrets.String(text)
	if tail := textcut.JSONTail(text, maxEventText*4); len(tail) < len(text) {
		cut += int64(len(text) - len(tail))
		text = tail
	}
	return text, cut
}
