package manager

import (
	"context"
	"fmt"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
)

// EventsRequest is get_events' input after binding.
type EventsRequest struct {
	Sandbox, Session string
	Cursor           int64
	Limit            int
	Raw              bool
	MaxBytes         int
	// Wait, when positive, holds the call until events arrive after Cursor, the turn stops running, or
	// Wait passes. Progress, when set, is called every few seconds meanwhile with what the agent is doing.
	Wait     time.Duration
	Progress func(msg string)
}

// EventsPage is a page of normalised events.
type EventsPage struct {
	Sandbox     string         `json:"sandbox" jsonschema_description:"Sandbox name."`
	Session     string         `json:"session" jsonschema_description:"Session name."`
	Status      string         `json:"status" jsonschema:"enum=idle,enum=running,enum=waiting_permission,enum=ended,enum=failed" jsonschema_description:"Session status: idle (ready for send_message), running, waiting_permission (answer with respond_permission), ended or failed."`
	Turn        string         `json:"turn,omitempty" jsonschema_description:"The running turn's id."`
	Events      []events.Event `json:"events" jsonschema_description:"Events after the cursor, oldest first."`
	NextCursor  int64          `json:"next_cursor" jsonschema_description:"Pass as cursor to get the events that follow."`
	More        bool           `json:"more" jsonschema_description:"True when more events are already waiting after next_cursor."`
	Truncated   bool           `json:"truncated" jsonschema_description:"True when the page was cut to stay within the output limit (more then follow)."`
	Pending     []events.Event `json:"pending_permissions,omitempty" jsonschema_description:"Permission requests waiting for respond_permission (at most 5; answer them and read again for the rest)."`
	PendingMore int            `json:"pending_more,omitempty" jsonschema_description:"How many more permission requests wait beyond those listed."`
	LastStop    string         `json:"last_stop_reason,omitempty" jsonschema_description:"How the last turn ended."`
	LastError   string         `json:"last_error,omitempty" jsonschema_description:"Why the last turn or the session failed."`
}

// Output bounds: a page stays far below Claude Code's 25 k-token tool-output limit.
const (
	DefaultLimit    = 100
	MaxLimit        = 500
	DefaultMaxBytes = 40_000
)

// GetEvents returns the normalised events after a cursor, bounded in count and bytes, waiting for them
// when asked.
func (m *Manager) GetEvents(ctx context.Context, req EventsRequest) (EventsPage, error) {
	if req.Wait > MaxWait {
		return EventsPage{}, invalidf("wait_seconds %d is over the %d-second limit (hosts cut calls at about 60 s): wait less and call again", int(req.Wait.Seconds()), int(MaxWait.Seconds()))
	}
	defer m.use(ctx, req.Sandbox)() // a use, for --idle-ttl (ttl.go)
	l, err := m.session(ctx, req.Sandbox, req.Session)
	if err != nil {
		return EventsPage{}, err
	}
	var page EventsPage
	err = m.waitFor(ctx, l, req.Wait, req.Progress, func() (bool, error) {
		var err error
		page, err = m.readPage(l, req)
		busy := page.Status == events.StatusRunning
		return err != nil || len(page.Events) > 0 || !busy, err
	})
	return page, err
}

// readPage reads one bounded page of events after req.Cursor.
func (m *Manager) readPage(l *live, req EventsRequest) (EventsPage, error) {
	if req.Cursor < 0 {
		return EventsPage{}, invalidf("cursor %d is negative: pass 0 or a next_cursor from get_events", req.Cursor)
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := l.snapshot()
	page := EventsPage{Sandbox: req.Sandbox, Session: req.Session, Status: s.State.Status, Turn: s.State.Turn,
		LastStop: s.State.LastStopReason, LastError: s.State.LastError, Events: []events.Event{}}
	page.Pending, page.PendingMore = boundPending(s.State.Pending)
	page.LastStop, _ = textcut.JSONClip(page.LastStop, events.EventLimits.Field, textcut.MoreBytes)
	page.LastError, _ = textcut.JSONClip(page.LastError, events.EventLimits.Error, textcut.MoreBytes)
	l.mu.Lock()
	lg := l.log
	last := int64(0)
	if lg != nil {
		last = lg.LastSeq()
	}
	l.mu.Unlock()
	if req.Cursor > last {
		return EventsPage{}, invalidf("cursor %d is beyond the end of the log (%d): pass 0 or a next_cursor from get_events", req.Cursor, last)
	}
	page.NextCursor = req.Cursor
	// The byte budget covers the whole page: what the agent can put in the fields above counts too.
	size := jsonSize(page)
	var run textRun // the page's last event before it was cut to size, while it may still grow
	// Read records in batches until the page holds limit events or the byte budget is spent. A batch may
	// end inside a run of text chunks; the merge then continues on the next page.
	for cursor := req.Cursor; len(page.Events) < limit && cursor < last; {
		recs, err := lg.Read(cursor, limit*4)
		if err != nil {
			return EventsPage{}, fmt.Errorf("read events: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		// Events are normalised as the page takes them: a full page leaves the rest of the batch undecoded.
		for ev := range events.NormalizeSeq(recs, req.Raw) {
			ev = s.State.Usage.Enrich(ev)
			if n := len(page.Events); n > 0 && run.merge(ev) {
				// A run of text chunks split by the batch boundary continues the same event.
				merged := m.bound(run.ev, run.dropped)
				grown := jsonSize(merged) - jsonSize(page.Events[n-1])
				if size+grown > maxBytes {
					page.Truncated = true
					break
				}
				size += grown
				page.Events[n-1] = merged
				page.NextCursor = ev.Seq
				continue
			}
			b := m.bound(ev, 0)
			bs := jsonSize(b)
			if size+bs > maxBytes && len(page.Events) > 0 {
				page.Truncated = true
				break
			}
			if len(page.Events) == limit {
				break
			}
			size += bs
			page.Events = append(page.Events, b)
			run = textRun{ev: ev}
			page.NextCursor = ev.Seq
		}
		if page.Truncated || len(page.Events) == limit {
			break
		}
		cursor = recs[len(recs)-1].Seq
		page.NextCursor = cursor // records that produced no event are consumed too
	}
	page.More = page.NextCursor < last
	return page, nil
}
