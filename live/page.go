package live

import (
	"fmt"

	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/internal/textcut"
	"github.com/sandbox-mcp/sandbox-mcp/remedy"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
)

// PageRequest says which page of events to read.
type PageRequest struct {
	Cursor   int64 // read after this log position (0: from the start)
	Limit    int   // events at most (DefaultLimit when 0, never over MaxLimit)
	Raw      bool  // keep every envelope as it came, unmerged
	MaxBytes int   // the page's JSON size at most (DefaultMaxBytes when 0)
}

// Page is a page of a session's normalised events, with its status.
type Page struct {
	Sandbox     string         `json:"sandbox"`
	Session     string         `json:"session"`
	Status      string         `json:"status"`
	Turn        string         `json:"turn,omitempty"`
	Events      []events.Event `json:"events"`
	NextCursor  int64          `json:"next_cursor"`
	More        bool           `json:"more"`
	Truncated   bool           `json:"truncated"`
	Pending     []events.Event `json:"pending_permissions,omitempty"`
	PendingMore int            `json:"pending_more,omitempty"`
	LastStop    string         `json:"last_stop_reason,omitempty"`
	LastError   string         `json:"last_error,omitempty"`
	Mode        string         `json:"mode,omitempty"`
	Model       string         `json:"model,omitempty"`
}

// Output bounds: a page stays far below Claude Code's 25 k-token tool-output limit.
const (
	DefaultLimit    = 100
	MaxLimit        = 500
	DefaultMaxBytes = 40_000
)

// Page reads one bounded page of events after req.Cursor.
func (l *Session) Page(req PageRequest) (Page, error) {
	if req.Cursor < 0 {
		return Page{}, remedy.Errorf(sandbox.Invalid, remedy.PageCursor, "cursor %d is negative", req.Cursor)
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
	s := l.Snapshot()
	page := Page{Sandbox: s.Sandbox, Session: s.Name, Status: s.State.Status, Turn: s.State.Turn,
		LastStop: s.State.LastStopReason, LastError: s.State.LastError, Events: []events.Event{}}
	page.Pending, page.PendingMore = boundPending(s.State.Pending)
	page.Mode, page.Model = s.CurrentConfig()
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
		return Page{}, remedy.Errorf(sandbox.Invalid, remedy.PageCursor, "cursor %d is beyond the end of the log (%d)", req.Cursor, last)
	}
	page.NextCursor = req.Cursor
	// The byte budget covers the whole page: what the agent can put in the fields above counts too.
	size := jsonSize(page)
	var run textRun // the page's last event before it was cut to size, while it may still grow
	// Records are read in batches bounded by bytes as well as count (records run from bytes to megabytes),
	// and a page stops after scanning pageScanBytes of log: a page's memory and time are bounded whatever
	// the agent wrote. With raw, a batch is no bigger than the page's budget, since every envelope of a
	// merged run goes out with it.
	batchBytes := int64(pageBatchBytes)
	if req.Raw {
		batchBytes = min(batchBytes, int64(maxBytes))
	}
	var scanned int64
	// Read records in batches until the page holds limit events or the byte budget is spent. A batch may
	// end inside a run of text chunks; the merge then continues on the next batch or page.
	for cursor := req.Cursor; len(page.Events) < limit && cursor < last && scanned < pageScanBytes; {
		recs, err := lg.ReadBytes(cursor, limit*4, batchBytes)
		if err != nil {
			return Page{}, fmt.Errorf("read events: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			scanned += int64(len(r.Env))
		}
		// Events are normalised as the page takes them: a full page leaves the rest of the batch undecoded.
		for ev := range events.NormalizeSeq(recs, req.Raw) {
			ev = s.State.Usage.Enrich(ev)
			if n := len(page.Events); n > 0 && run.merge(ev) {
				// A run of text chunks split by the batch boundary continues the same event.
				merged := l.bound(run.ev, run.dropped)
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
			b := l.bound(ev, 0)
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

// Byte budgets of a page read (see Page).
const (
	pageBatchBytes = 1 << 20
	pageScanBytes  = 16 << 20
)
