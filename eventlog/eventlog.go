// Package eventlog keeps a durable, append-only log of one session's ACP
// traffic, because sandbox-agent replays only its last 1024 SSE envelopes and
// the model must be able to page through everything by cursor.
//
// On disk a log is two files:
//
//	<path>      JSON lines, one Record per line, each ending in '\n'
//	<path>.idx  for Seq n, the 8-byte little-endian offset of record n's line
//	            at byte (n-1)*8
//
// The data file is the source of truth; the index only makes Read cost the
// page instead of the log, and Open can always rebuild it from the data.
// Cursors are Seq values, which are stored in the records themselves, so they
// survive restarts and index rebuilds.
//
// Durability: Append writes (one write call for the lines, then one for the
// index entries) but does not fsync: the caller decides how often to pay for
// one. The server (live/live.go) calls Sync after every Append, which is one
// batch of up to 1024 envelopes, before anyone is told of it, and logs a
// failed Sync. A process kill at any instant loses nothing Append has returned
// for (the page cache survives it); a machine crash or power loss can lose
// what was appended after the last Sync that returned nil. Either way Open
// repairs the files to a self-consistent log: see recover.go.
package eventlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one envelope of a session's ACP traffic.
type Record struct {
	Seq   int64           `json:"seq"`           // 1, 2, 3… assigned by Append; the cursor unit
	Time  time.Time       `json:"t"`             // set by Append if zero; stored in UTC
	Dir   string          `json:"dir"`           // "in" (agent → us, from SSE) or "out" (us → agent)
	SSEID int64           `json:"sse,omitempty"` // sandbox-agent's SSE event id for "in" records
	Env   json.RawMessage `json:"env"`           // the JSON-RPC envelope, compact, one line
}

// Direction values for Record.Dir.
const (
	DirIn  = "in"
	DirOut = "out"
)

// ErrCorrupt is wrapped by errors that come from files that do not match
// what Append writes. Read repairs the log once by itself when it meets one.
var ErrCorrupt = errors.New("eventlog: corrupt log")

const entrySize = 8 // bytes per index entry

// Log is one session's log. Appends are serialised; Reads run in parallel
// with each other (pread on shared descriptors) but not with an Append.
type Log struct {
	path string

	mu        sync.RWMutex
	data, idx *os.File // both O_APPEND: writes always land at the end
	dataSize  int64    // end of the last complete line = offset of the next record
	lastSeq   int64
	lastSSEID int64
	gen       int64 // bumped by every repair so concurrent Reads repair only once
	broken    error // set when a failed Append could not be rolled back
	closed    bool
}

// Open opens the log at path, creating it (mode 0600) if missing; the parent
// directory must exist. After a crash it repairs the files (recover.go).
// Only one Log may have a path open at a time, in any process.
func Open(path string) (*Log, error) {
	const flag = os.O_RDWR | os.O_CREATE | os.O_APPEND
	_, err1 := os.Lstat(path)
	_, err2 := os.Lstat(path + ".idx")
	created := errors.Is(err1, fs.ErrNotExist) || errors.Is(err2, fs.ErrNotExist)
	data, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, err
	}
	idx, err := os.OpenFile(path+".idx", flag, 0o600)
	if err != nil {
		data.Close()
		return nil, err
	}
	l := &Log{path: path, data: data, idx: idx}
	if err := l.recover(false); err != nil {
		data.Close()
		idx.Close()
		return nil, fmt.Errorf("eventlog: open %s: %w", path, err)
	}
	if created {
		// A new file's name is durable only once its directory is synced.
		if err := syncDir(filepath.Dir(path)); err != nil {
			l.Close()
			return nil, fmt.Errorf("eventlog: open %s: %w", path, err)
		}
	}
	return l, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append assigns Seq (and Time if zero) to recs, writes them, and returns
// them as stored (Env compacted). Either all of recs are appended or, on
// error, none are. It does not fsync; see Sync.
func (l *Log) Append(recs ...Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, os.ErrClosed
	}
	if l.broken != nil {
		return nil, l.broken
	}

	// Encode everything before writing anything, so a bad record in the
	// middle of a batch cannot leave half the batch on disk.
	out := make([]Record, len(recs))
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	enc.SetEscapeHTML(false) // keep Env byte-for-byte as compacted
	entries := make([]byte, 0, len(recs)*entrySize)
	now := time.Now().UTC() // UTC() also drops the monotonic reading, so it round-trips
	for i, r := range recs {
		if r.Dir != DirIn && r.Dir != DirOut {
			return nil, fmt.Errorf("eventlog: record %d: dir %q is not %q or %q", i, r.Dir, DirIn, DirOut)
		}
		var env bytes.Buffer
		if err := json.Compact(&env, r.Env); err != nil {
			return nil, fmt.Errorf("eventlog: record %d: env is not valid JSON: %w", i, err)
		}
		if bytes.IndexByte(env.Bytes(), '\n') >= 0 { // cannot happen after Compact; the format depends on it
			return nil, fmt.Errorf("eventlog: record %d: env contains a newline", i)
		}
		r.Env = env.Bytes()
		r.Seq = l.lastSeq + int64(i) + 1
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Time = r.Time.UTC() // stored with "Z", so what Read decodes equals what we return
		entries = binary.LittleEndian.AppendUint64(entries, uint64(l.dataSize)+uint64(lines.Len()))
		if err := enc.Encode(r); err != nil { // Encode adds the '\n'
			return nil, fmt.Errorf("eventlog: record %d: %w", i, err)
		}
		out[i] = r
	}

	// Data first, then index: a crash in between leaves lines without index
	// entries, which Open re-indexes; never entries without lines.
	if _, err := l.data.Write(lines.Bytes()); err != nil {
		return nil, l.rollback(err)
	}
	if _, err := l.idx.Write(entries); err != nil {
		return nil, l.rollback(err)
	}
	l.dataSize += int64(lines.Len())
	l.lastSeq += int64(len(out))
	for _, r := range out {
		if r.SSEID != 0 {
			l.lastSSEID = r.SSEID // the latest, as Open finds it: a continued session's new server counts from 1
		}
	}
	return out, nil
}

// rollback undoes a partly written Append so the next one starts from a
// consistent end. If even that fails the log refuses further appends; the
// next Open repairs it.
func (l *Log) rollback(err error) error {
	err = fmt.Errorf("eventlog: append: %w", err)
	e1 := l.data.Truncate(l.dataSize)
	e2 := l.idx.Truncate(l.lastSeq * entrySize)
	if e := errors.Join(e1, e2); e != nil {
		l.broken = fmt.Errorf("eventlog: log unusable until reopened: %w", errors.Join(err, e))
		return l.broken
	}
	return err
}

// LastSeq returns the Seq of the last record, 0 for an empty log.
func (l *Log) LastSeq() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastSeq
}

// Size returns the size in bytes of the log's data file: what a cap on one session's log is checked
// against.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.dataSize
}

// LastSSEID returns the SSEID of the latest record that has one (0 if none),
// the value to send as Last-Event-ID when reconnecting to sandbox-agent.
func (l *Log) LastSSEID() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastSSEID
}

// Sync makes everything appended so far durable against a machine crash.
// Data before index, so a durable index entry always has durable data.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return os.ErrClosed
	}
	return l.syncLocked()
}

func (l *Log) syncLocked() error {
	if err := l.data.Sync(); err != nil {
		return fmt.Errorf("eventlog: sync: %w", err)
	}
	if err := l.idx.Sync(); err != nil {
		return fmt.Errorf("eventlog: sync: %w", err)
	}
	return nil
}

// Close syncs and closes the files. Later calls on l return os.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return os.ErrClosed
	}
	l.closed = true
	return errors.Join(l.syncLocked(), l.data.Close(), l.idx.Close())
}
