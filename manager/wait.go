package manager

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
)

// MaxWait bounds how long one call may wait: hosts drop tool calls after about 60 s.
const MaxWait = 45 * time.Second

// progressEvery is how often a waiting call reports progress: often enough to keep a host's idle watchdog
// happy and show movement, rarely enough not to fill mcp-go's 100-slot notification channel.
const progressEvery = 3 * time.Second

// waitFor calls done until it reports true, re-checking at every append to the session's log, until wait
// passes or ctx ends. progress (if set) hears what the agent is doing every few seconds meanwhile.
func (m *Manager) waitFor(ctx context.Context, l *live, wait time.Duration, progress func(string), done func() (bool, error)) error {
	deadline := time.NewTimer(max(wait, 0))
	defer deadline.Stop()
	ticker := time.NewTicker(progressEvery)
	defer ticker.Stop()
	for {
		changed := l.wait() // taken before the check, so an append in between still wakes us
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
func (l *live) activity() string {
	s := l.snapshot()
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
	last := lg.LastSeq()
	recs, err := lg.Read(max(last-20, 0), 20)
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
	red := l.m.cfg.Secrets.String
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

// turnText is the agent's text in a turn, from the log: what send_message returns when the turn ends in
// time. Long text keeps its end, where agents put their conclusions.
func (m *Manager) turnText(l *live, startSeq int64) string {
	l.mu.Lock()
	lg := l.log
	l.mu.Unlock()
	if lg == nil {
		return ""
	}
	var b strings.Builder
	for cursor := startSeq; ; {
		recs, err := lg.Read(cursor, 1000)
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
	// Redacted whole before it is cut, so the cut never keeps the end of a key.
	text := m.cfg.Secrets.String(b.String())
	if tail := textcut.JSONTail(textcut.Tail(text, maxEventText*2), maxEventText*4); len(tail) < len(text) {
		text = fmt.Sprintf("[… %d earlier bytes; read them with get_events] ", len(text)-len(tail)) + tail
	}
	return text
}
