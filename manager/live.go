package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/sandbox"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

// live is a session the server is serving: its record, its durable log, its ACP client and the goroutine
// that ingests its event stream.
type live struct {
	m      *Manager
	client *acp.Client

	// ingest orders the log: the stream reader holds it while appending, and an answer we send (permission,
	// cancel) holds it from before its POST until it is logged, so the agent's reaction to our answer never
	// lands in the log before the answer itself.
	ingest sync.Mutex
	// starting is held by a send_message from its status check until its prompt is logged (turns.go).
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
func (l *live) setUp(up bool) {
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
func (l *live) awaitStream(ctx context.Context, d time.Duration) bool {
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

func (l *live) key() string { return l.rec.Sandbox + "/" + l.rec.Name }

// snapshot returns a copy of the record under the lock.
func (l *live) snapshot() state.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

// wait returns a channel closed at the next append.
func (l *live) wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// append writes records to the log, advances the state and persists the record when the status changed.
func (l *live) append(recs ...eventlog.Record) ([]eventlog.Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log == nil {
		return nil, fmt.Errorf("session %s is closed", l.key())
	}
	// Redacted before anything reaches disk: no state file may hold a key an agent printed or a
	// prompt carried, whichever direction it travelled.
	for i := range recs {
		recs[i].Env = l.m.cfg.Redact(recs[i].Env)
	}
	stored, err := l.log.Append(recs...)
	if err != nil {
		return nil, fmt.Errorf("append to event log of %s: %w", l.key(), err)
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

// syncLog makes a log durable; a variable so that tests can count and fail it.
var syncLog = (*eventlog.Log).Sync

// syncLocked syncs the log and logs a failure (once per run of failures: every batch would repeat it). The
// events stay in the log and are read as usual; only their durability against a power loss is in doubt.
func (l *live) syncLocked() {
	if l.log == nil {
		return
	}
	err := syncLog(l.log)
	switch {
	case err != nil && !l.syncFailing:
		l.m.log.Error("event log not synced to disk: a power loss could lose its latest events", "session", l.key(), "err", err)
	case err == nil && l.syncFailing:
		l.m.log.Info("event log syncs to disk again", "session", l.key())
	}
	l.syncFailing = err != nil
}

// persistLocked writes the session's record. Its log needs no sync first: append syncs every batch.
func (l *live) persistLocked() {
	l.rec.State.LastError = string(l.m.cfg.Redact([]byte(l.rec.State.LastError)))
	if err := l.m.cfg.Store.PutSession(l.rec); err != nil {
		l.m.log.Error("persist session", "session", l.key(), "err", err)
	}
}

// setState changes the state outside the log (ended by destroy, failed because the server lost it).
func (l *live) setState(fn func(*events.State)) {
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
func (l *live) run(ctx context.Context) {
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
			l.m.log.Warn("agent session lost", "session", l.key())
			l.setState(func(s *events.State) {
				s.Fail("sandbox-agent no longer has this session (it restarted or the sandbox was recreated): create a new session")
			})
			return
		}
		if errors.Is(err, sandbox.ErrNotFound) {
			l.m.log.Warn("sandbox gone; session failed", "session", l.key())
			l.setState(func(s *events.State) {
				s.Fail("the sandbox no longer exists (removed outside sandbox-mcp): destroy_sandbox, then create_sandbox again")
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
			l.m.log.Debug("gap in event ids; reconnecting to fill it", "session", l.key())
			continue
		}
		if err != nil {
			l.m.log.Debug("event stream dropped", "session", l.key(), "err", err)
		} else {
			backoff = 250 * time.Millisecond
		}
		if st := l.snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
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

func (l *live) streamOnce(ctx context.Context) error {
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
	l.m.log.Debug("event stream connecting", "session", l.key(), "last_event_id", last)
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
				if st := l.snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
					ended = true
					cancel()
				}
			}
		}
		written <- err
	}()
	maxEnvelope := l.m.cfg.MaxEnvelope
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
			if gaps <= maxGapRetries {
				return errGap
			}
			l.m.log.Error("events lost: sandbox-agent no longer holds them", "session", l.key(), "from", last+1, "to", id-1)
			lost, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "sandbox-mcp-gap", "error": map[string]any{
				"code": -32001, "message": fmt.Sprintf("%d events (sandbox-agent ids %d-%d) were lost: sandbox-agent replays only its last 1024", id-1-last, last+1, id-1)}})
			if err := queue.put(ctx, sseItem{data: lost}); err != nil {
				return err
			}
		}
		gaps = 0
		l.gaps = 0
		last = id
		if ev.Dropped > 0 {
			// Read past, never held: recorded with its id, so the stream moves on instead of replaying it.
			l.m.log.Warn("dropping an envelope over the size limit", "session", l.key(), "sse_id", id, "bytes", ev.Dropped, "limit", maxEnvelope)
			return queue.put(ctx, sseItem{id: id, data: droppedEnvelope(id, ev.Dropped, maxEnvelope)})
		}
		if !json.Valid(data) {
			l.m.log.Warn("dropping invalid envelope", "session", l.key(), "sse_id", id)
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
		l.m.log.Debug("gap in event ids; reconnecting to fill it", "session", l.key(), "last_event_id", last)
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
func (l *live) ingestBatch(ctx context.Context, batch []sseItem) error {
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

// maxGapRetries is how many reconnects in a row may try to fill one gap before it is recorded as lost.
const maxGapRetries = 3

// sendLogged posts an envelope that expects no reply and logs it, in that order and before anything the
// agent streams in reaction to it.
func (l *live) sendLogged(ctx context.Context, env []byte) error {
	l.ingest.Lock()
	defer l.ingest.Unlock()
	if err := l.client.Post(ctx, json.RawMessage(env), 15*time.Second); err != nil {
		return err
	}
	_, err := l.append(eventlog.Record{Dir: "out", Env: env})
	return err
}

func (l *live) stop() {
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
