package live

import (
	"encoding/json"
	"strconv"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
)

// maxEventText is how much of one event's text a page shows, and turnText twice that.
var maxEventText = events.EventLimits.Text

// maxRunText bounds the text of a run of chunks that a page keeps while merging it across batches of
// records: far more than a page shows, so the cut (and the count of bytes cut) is right.
const maxRunText = 64 << 10

// textRun is the last event of a page as read, before it was cut to size, so chunks read in the next
// batch merge with its whole text rather than with a cut one.
type textRun struct {
	ev      events.Event
	dropped int // bytes of text beyond maxRunText, counted but not kept
}

// merge appends next to the run when it continues it.
func (r *textRun) merge(next events.Event) bool {
	text := next.Text
	next.Text = ""
	if !events.Merge(&r.ev, next) {
		return false
	}
	keep := max(0, min(len(text), maxRunText-len(r.ev.Text)))
	keep = len(textcut.Head(text, keep))
	r.ev.Text += text[:keep]
	r.dropped += len(text) - keep
	return true
}

// bound makes an event safe to return: its text redacted whole (before any cut, so a cut never leaves
// the start of a key that redaction would have caught), then every agent-controlled string cut to
// events.EventLimits. dropped is text already left out of ev.Text, counted in the note.
func (l *Session) bound(ev events.Event, dropped int) events.Event {
	ev.Text = l.cfg.Secrets.String(ev.Text)
	if ev.ToolCall != nil {
		tc := *ev.ToolCall
		tc.Output = l.cfg.Secrets.String(tc.Output)
		tc.Title = l.cfg.Secrets.String(tc.Title)
		// A diff shows what the agent writes into files, which may be a key it read.
		if tc.Diffs != nil {
			diffs := make([]events.Diff, len(tc.Diffs))
			for i, d := range tc.Diffs {
				d.Path, d.Diff = l.cfg.Secrets.String(d.Path), l.cfg.Secrets.String(d.Diff)
				diffs[i] = d
			}
			tc.Diffs = diffs
		}
		ev.ToolCall = &tc
	}
	ev.Error = l.cfg.Secrets.String(ev.Error)
	b := events.Bound(ev, events.EventLimits)
	if dropped > 0 {
		head := textcut.JSONHead(textcut.Head(ev.Text, events.EventLimits.Text), 2*events.EventLimits.Text)
		b.Text = head + "… [" + strconv.Itoa(len(ev.Text)-len(head)+dropped) + " more bytes; the raw envelopes have all of it]"
		b.Truncated = true
	}
	return b
}

// boundPending lists at most events.MaxPending waiting requests (each already cut to size by the
// session's state) and counts the rest.
func boundPending(p []events.Event) ([]events.Event, int) {
	more := max(0, len(p)-events.MaxPending)
	p = p[:len(p)-more]
	out := make([]events.Event, len(p))
	for i, ev := range p {
		out[i] = events.Bound(ev, events.PendingLimits) // a state written before the cut existed
	}
	if len(out) == 0 {
		return nil, more
	}
	return out, more
}

func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}
