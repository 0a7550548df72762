// Package live holds a live agent session: its durable event log, its ACP client and the goroutine
// that ingests its event stream, and the operations on it (start a turn, answer a permission request,
// cancel, read a page of events, wait). The manager owns the set of sessions and their sandboxes; a
// session knows neither MCP nor any backend.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/redact"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// Config is what every session of a server shares. The owner fills every field (New in package manager).
type Config struct {
	// Store persists the session's record whenever its status changes.
	Store  *state.Store
	Logger *slog.Logger
	// Redact removes secret values from an envelope before it is logged; it must return valid JSON for
	// valid JSON. Secrets redacts text streamed in pieces (chunks.go), progress messages and merged text.
	Redact  func([]byte) []byte
	Secrets *redact.Redactor
	// MaxEnvelope caps one envelope from the agent (bytes): a bigger one is read past and logged as an
	// error event. MaxLogBytes caps the session's event log (logcap.go).
	MaxEnvelope int
	MaxLogBytes int64
	// AutoPermission answers permission requests by policy (AutoPermission* constants).
	AutoPermission string
	// Workspace returns the folder of a sandbox's work as its agent sees it: what --auto-permission edits
	// allows edits in. "" when unknown (nothing is then allowed by that policy).
	Workspace func(sandbox string) string
	// SandboxGone reports whether the backend positively says a sandbox no longer exists.
	SandboxGone func(ctx context.Context, sandbox string) bool
	// Sync makes a log durable (nil: eventlog.Log.Sync); tests count and fail it here.
	Sync func(*eventlog.Log) error
	// Spawn runs fn in a goroutine the owner joins when it shuts down, and reports whether it did (false
	// once shutdown began). A prompt's POST runs there: it outlives the tool call that sent it.
	Spawn func(fn func(context.Context)) bool
}

func (c *Config) sync(lg *eventlog.Log) error {
	if c.Sync != nil {
		return c.Sync(lg)
	}
	return lg.Sync()
}

// Open makes a session live over its log and client. Start begins ingesting its stream; Stop ends that
// and closes the log, which the session owns from now on.
func Open(cfg *Config, rec state.Session, log *eventlog.Log, client *acp.Client) *Session {
	return &Session{cfg: cfg, logger: cfg.Logger, client: client, rec: rec, log: log, changed: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the session's stream ingestion (and its budget watcher, when it has a budget) in goroutines
// started by goFn, which the owner joins on shutdown. A session that is over starts nothing.
func (l *Session) Start(ctx context.Context, goFn func(func())) {
	st := l.rec.State.Status
	if st == events.StatusEnded || st == events.StatusFailed {
		close(l.done)
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	goFn(func() { l.run(ctx) })
	if !l.rec.Budget.IsZero() {
		goFn(func() { l.watchBudget(ctx) })
	}
}

// Session is a session the server is serving: its record, its durable log, its ACP client and the goroutine
// that ingests its event stream.
type Session struct {
	cfg    *Config
	logger *slog.Logger
	client *acp.Client

	// ingest orders the log: the stream reader holds it while appending, and an answer we send (permission,
	// cancel) holds it from before its POST until it is logged, so the agent's reaction to our answer never
	// lands in the log before the answer itself.
	ingest sync.Mutex
	// starting is held by a send_message from its status check until its prompt is logged (turn.go).
	starting sync.Mutex

	mu      sync.Mutex
	rec     state.Session
	log     *eventlog.Log
	changed chan struct{} // closed and replaced on every append: a broadcast to waiters
	// syncFailing: the last sync of log failed (logged once until one succeeds again)
	syncFailing bool

	chunks chunkRedactor // streamed text, redacted across envelopes (chunks.go); under ingest

	cancel context.CancelFunc
	done   chan struct{}
	gaps   int       // reconnects in a row spent on one gap in SSE ids (stream goroutine only)
	budget logBudget // the session log cap (logcap.go; the stream's writer goroutine only)

	upMu sync.Mutex
	up   chan struct{} // closed while the event stream is connected; replaced when it drops
	isUp bool
}

// setUp records whether the event stream is connected.
func (l *Session) setUp(up bool) {
	l.upMu.Lock()
	defer l.upMu.Unlock()
	if l.up == nil {
		l.up = make(chan struct{})
	}
	switch {
	case up && !l.isUp:
		close(l.up)
	case !up && l.isUp:
		l.up = make(chan struct{})
	}
	l.isUp = up
}

// awaitStream waits up to d for the event stream to be connected. A prompt sent before it is would race
// the agent's first burst against sandbox-agent's 1024-envelope replay ring.
func (l *Session) awaitStream(ctx context.Context, d time.Duration) bool {
	l.upMu.Lock()
	if l.up == nil {
		l.up = make(chan struct{})
	}
	up := l.up
	l.upMu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-up:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// streamMaxDur bounds one SSE connection: every external call has a deadline; the stream then reconnects
// from the last stored id, which costs nothing and proves the connection still works.
const streamMaxDur = 5 * time.Minute

// stallAfter is how long a stream may stay silent before we reconnect: sandbox-agent sends a heartbeat
// comment every ~15 s, so three missed beats mean a dead connection.
const stallAfter = 45 * time.Second

// Key names the session in logs: sandbox/session.
func (l *Session) Key() string { return l.rec.Sandbox + "/" + l.rec.Name }

// Snapshot returns a copy of the record under the lock.
func (l *Session) Snapshot() state.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

// Changed returns a channel closed at the next append.
func (l *Session) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// append writes records to the log, advances the state and persists the record when the status changed.
func (l *Session) append(recs ...eventlog.Record) ([]eventlog.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log == nil {
		return nil, fmt.Errorf("session %s is closed", l.Key())
	}
	// Redacted before anything reaches disk: no state file may hold a key an agent printed or a
	// prompt carried, whichever direction it travelled.
	for i := range recs {
		recs[i].Env = l.cfg.Redact(recs[i].Env)
	}
	stored, err := l.log.Append(recs...)
	if err != nil {
		return nil, fmt.Errorf("append to event log of %s: %w", l.Key(), err)
	}
	// Every batch reaches the disk before anyone is told of it (the broadcast below, a tool result): a
	// power loss loses at most the batch being written. One fsync per batch, not per envelope: a burst
	// arrives as batches of up to 1024 (streamOnce), so the cost stays bounded however fast the agent is.
	l.syncLocked()
	before := statusKey(l.rec.State)
	for _, r := range stored {
		l.rec.State.Apply(r)
	}
	if statusKey(l.rec.State) != before {
		l.persistLocked()
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return stored, nil
}

// statusKey is what must reach disk at once when it changes; text chunks alone do not.
func statusKey(s events.State) string {
	return fmt.Sprintf("%s|%s|%d|%d", s.Status, s.Turn, s.Turns, len(s.Pending))
}

// syncLocked syncs the log and logs a failure (once per run of failures: every batch would repeat it). The
// events stay in the log and are read as usual; only their durability against a power loss is in doubt.
func (l *Session) syncLocked() {
	if l.log == nil {
		return
	}
	err := l.cfg.sync(l.log)
	switch {
	case err != nil && !l.syncFailing:
		l.logger.Error("event log not synced to disk: a power loss could lose its latest events", "session", l.Key(), "err", err)
	case err == nil && l.syncFailing:
		l.logger.Info("event log syncs to disk again", "session", l.Key())
	}
	l.syncFailing = err != nil
}

// persistLocked writes the session's record. Its log needs no sync first: append syncs every batch.
func (l *Session) persistLocked() {
	l.rec.State.LastError = string(l.cfg.Redact([]byte(l.rec.State.LastError)))
	if err := l.cfg.Store.PutSession(l.rec); err != nil {
		l.logger.Error("persist session", "session", l.Key(), "err", err)
	}
}

// SetState changes the state outside the log (ended by destroy, failed because the server lost it).
func (l *Session) SetState(fn func(*events.State)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(&l.rec.State)
	l.persistLocked()
	close(l.changed)
	l.changed = make(chan struct{})
}

// run ingests the session's SSE stream until stop, reconnecting from the last stored id. Ids at or below
// it are skipped, so a replay after a reconnect never doubles an event, and nothing the server still holds
// is lost.
func (l *Session) run(ctx context.Context) {
	defer close(l.done)
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := l.streamOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		var pe *acp.ProblemError
		if errors.As(err, &pe) && pe.Kind() == "session_not_found" {
			// sandbox-agent restarted (or the sandbox was recreated): the agent process and its
			// conversation are gone for good.
			l.logger.Warn("agent session lost", "session", l.Key())
			l.SetState(func(s *events.State) {
				s.Fail("sandbox-agent no longer has this session (it restarted or the sandbox was recreated): create a new session")
			})
			return
		}
		if errors.Is(err, sandbox.ErrNotFound) {
			l.logger.Warn("sandbox gone; session failed", "session", l.Key())
			l.SetState(func(s *events.State) {
				s.Fail("the sandbox no longer exists (removed outside sandbox-mcp): destroy the sandbox, then create it again")
			})
			return
		}
		// Nothing listens on sandbox-agent's port: if health checks confirm it is down, the session's
		// agent died with it and no reconnect can bring it back (faults.go).
		if errors.Is(err, acp.ErrUnreachable) && l.agentServerDown(ctx) && ctx.Err() == nil {
			l.failAgentServerDown(ctx)
			return
		}
		if errors.Is(err, errGap) {
			l.logger.Debug("gap in event ids; reconnecting to fill it", "session", l.Key())
			continue
		}
		if err != nil {
			l.logger.Debug("event stream dropped", "session", l.Key(), "err", err)
		} else {
			backoff = 250 * time.Millisecond
		}
		if st := l.Snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if err != nil {
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

func (l *Session) streamOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer l.setUp(false)
	stall := time.AfterFunc(stallAfter, cancel)
	defer stall.Stop()
	l.mu.Lock()
	// Envelopes dropped past the log cap are in no record; resuming after them keeps sandbox-agent from
	// replaying them (the writer goroutine that set lastDropped has ended: see written below).
	last := max(l.log.LastSSEID(), l.budget.lastDropped)
	l.mu.Unlock()
	l.logger.Debug("event stream connecting", "session", l.Key(), "last_event_id", last)
	gaps := l.gaps

	// The reader hands envelopes to a writer goroutine that appends them in batches: reading rarely waits
	// on the disk, because sandbox-agent drops envelopes for an SSE client that falls behind. The queue
	// is bounded in bytes (ingestqueue.go): past that the reader waits, and a gap it causes is filled by
	// the reconnect below.
	queue := newIngestQueue(ingestQueueBytes)
	written := make(chan error, 1)
	var ended bool
	go func() {
		var err error
		for {
			batch, ok := queue.take(ingestBatchItems, ingestBatchBytes)
			if !ok {
				break
			}
			if err != nil || ended {
				continue // keep draining so the reader never blocks
			}
			if err = l.ingestBatch(ctx, batch); err == nil {
				if st := l.Snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
					ended = true
					cancel()
				}
			}
		}
		written <- err
	}()
	maxEnvelope := l.cfg.MaxEnvelope
	onEvent := func(ev acp.SSEEvent) error {
		id, data := ev.ID, ev.Data
		stall.Reset(stallAfter)
		if id <= last {
			return nil
		}
		if id > last+1 && (last > 0 || id > 1) {
			// sandbox-agent skips envelopes for an SSE client that falls behind (measured: a burst of
			// 1600 through docker exec arrived with a gap). Reconnect at once from the last stored id:
			// its 1024-envelope replay ring still holds what was skipped.
			gaps++
			l.gaps = gaps
			if gaps <= MaxGapRetries {
				return errGap
			}
			l.logger.Error("events lost: sandbox-agent no longer holds them", "session", l.Key(), "from", last+1, "to", id-1)
			lost := noteEnvelope("sandbox-mcp-gap", fmt.Sprintf("%d events (sandbox-agent ids %d-%d) were lost: sandbox-agent replays only its last 1024", id-1-last, last+1, id-1))
			if err := queue.put(ctx, sseItem{data: lost}); err != nil {
				return err
			}
		}
		gaps = 0
		l.gaps = 0
		last = id
		if ev.Dropped > 0 {
			// Read past, never held: recorded with its id, so the stream moves on instead of replaying it.
			l.logger.Warn("dropping an envelope over the size limit", "session", l.Key(), "sse_id", id, "bytes", ev.Dropped, "limit", maxEnvelope)
			return queue.put(ctx, sseItem{id: id, data: droppedEnvelope(id, ev.Dropped, maxEnvelope)})
		}
		if !json.Valid(data) {
			l.logger.Warn("dropping invalid envelope", "session", l.Key(), "sse_id", id)
			return nil
		}
		return queue.put(ctx, sseItem{id: id, data: data})
	}
	// A gap reconnects at once from the reader's own last id, keeping the queue and its writer. (Returning
	// to run() first meant waiting for the writer to drain the queue, an fsync per batch, and resuming from
	// the last id on disk: meanwhile sandbox-agent went on producing, and on a loaded machine it could get
	// past its 1024-envelope ring before the new connection asked for the missing ids.)
	var serr error
	for {
		serr = l.client.StreamEvents(ctx, last, streamMaxDur, maxEnvelope, onEvent, func() { stall.Reset(stallAfter) }, func() { l.setUp(true) })
		if !errors.Is(serr, errGap) || ctx.Err() != nil {
			break
		}
		l.logger.Debug("gap in event ids; reconnecting to fill it", "session", l.Key(), "last_event_id", last)
	}
	queue.close()
	if err := <-written; err != nil {
		return err
	}
	if ended {
		return errStreamDone
	}
	return serr
}

// sseItem is one envelope on its way from the stream reader to the log (id 0: our own record).
type sseItem struct {
	id   int64
	data []byte
}

// ingestBatch appends envelopes to the log in one write, answering permission requests by policy on the
// way so a request and its automatic answer land together (readers never see it waiting).
func (l *Session) ingestBatch(ctx context.Context, batch []sseItem) error {
	l.ingest.Lock()
	defer l.ingest.Unlock()
	batch, fail := l.admit(batch)
	if fail != "" {
		defer l.failOverLimit(fail)
	}
	if len(batch) == 0 {
		return nil // all dropped past the log cap: nothing changed for a reader
	}
	recs := make([]eventlog.Record, 0, len(batch))
	for _, it := range batch {
		recs = append(recs, l.redactIn(it.id, it.data)...)
		if reply := l.autoAnswer(ctx, it.data); reply != nil {
			recs = append(recs, eventlog.Record{Dir: "out", Env: reply})
		}
	}
	_, err := l.append(recs...)
	return err
}

var errStreamDone = errors.New("session ended")

// errGap makes the stream reconnect at once to fill a gap in the SSE ids.
var errGap = errors.New("gap in event ids")

// MaxGapRetries is how many reconnects in a row may try to fill one gap before it is recorded as lost.
const MaxGapRetries = 3

// sendLogged posts an envelope that expects no reply and logs it, in that order and before anything the
// agent streams in reaction to it.
func (l *Session) sendLogged(ctx context.Context, env []byte) error {
	l.ingest.Lock()
	defer l.ingest.Unlock()
	if err := l.client.Post(ctx, json.RawMessage(env), 15*time.Second); err != nil {
		return err
	}
	_, err := l.append(eventlog.Record{Dir: "out", Env: env})
	return err
}

// Stop ends the stream ingestion, flushes held text and closes the log.
func (l *Session) Stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
	l.ingest.Lock()
	l.flushChunks()
	l.ingest.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log != nil {
		_ = l.log.Close()
		l.log = nil
	}
}

// invalidf is an error the caller can act on: bad input, or a request the session's state refuses.
func invalidf(format string, args ...any) error {
	return sandbox.Errorf(sandbox.Invalid, format, args...)
}

// End ends a session whose sandbox is going away: a running turn is cancelled (best effort) and the
// session is marked ended. It reports whether the session was still open.
func (l *Session) End(ctx context.Context) bool {
	s := l.Snapshot()
	if s.State.Status == events.StatusEnded || s.State.Status == events.StatusFailed {
		return false
	}
	if s.State.Turn != "" {
		_ = l.client.Post(ctx, acp.Notification{Method: acp.MethodCancel, Params: acp.CancelParams{SessionID: s.SessionID}}, 5*time.Second)
	}
	// No DELETE: it hangs for its full timeout in 0.4.2, and removing the sandbox ends the agent.
	l.SetState(func(st *events.State) { st.End() })
	return true
}

// Log is the session's event log, nil once the session is stopped. Readers may read it concurrently with
// the stream's appends (eventlog is safe for that); they must not close it.
func (l *Session) Log() *eventlog.Log {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log
}
