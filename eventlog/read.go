package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/sandbox-mcp/sandbox-mcp/internal/jsonscan"
)

// Read returns the records with Seq > after, at most limit, in order. after
// beyond the end gives an empty result; after < 0 is an error. Its cost is
// the page: one pread of the index, one pread of the data, and decoding.
func (l *Log) Read(after int64, limit int) ([]Record, error) {
	return l.ReadBytes(after, limit, 0)
}

// ReadBytes is Read with a byte budget: when maxBytes is positive, the page stops before the record
// that would take the lines read past maxBytes, though it always holds at least one record (which may
// be bigger). Records vary from a few bytes to megabytes, so a count alone does not bound a read.
func (l *Log) ReadBytes(after int64, limit int, maxBytes int64) ([]Record, error) {
	if after < 0 {
		return nil, fmt.Errorf("eventlog: read: negative cursor %d", after)
	}
	if limit < 0 {
		return nil, fmt.Errorf("eventlog: read: negative limit %d", limit)
	}
	l.mu.RLock()
	recs, err := l.readLocked(after, limit, maxBytes)
	gen := l.gen
	l.mu.RUnlock()
	if !errors.Is(err, ErrCorrupt) {
		return recs, err
	}
	// The files were damaged in a way Open's bounded checks did not see
	// (only a disk fault does that: appends never rewrite old bytes).
	// Repair with the full scan and answer from the repaired log.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, os.ErrClosed
	}
	if l.gen == gen {
		if err := l.recover(true); err != nil {
			return nil, err
		}
	}
	return l.readLocked(after, limit, maxBytes)
}

// ReadLast returns the last records of the log, at most limit, oldest first: as many as fit in
// maxBytes when it is positive, and always the last one. The index gives the sizes, so only the
// records returned are read.
func (l *Log) ReadLast(limit int, maxBytes int64) ([]Record, error) {
	if limit <= 0 {
		return []Record{}, nil
	}
	l.mu.RLock()
	last, size := l.lastSeq, l.dataSize
	after := max(0, last-int64(limit))
	if maxBytes > 0 && last > after {
		ib := make([]byte, (last-after)*entrySize)
		if _, err := l.idx.ReadAt(ib, after*entrySize); err == nil {
			first := last // the oldest record returned: walk back while the lines still fit
			for r := last - 1; r > after; r-- {
				if size-int64(binary.LittleEndian.Uint64(ib[(r-1-after)*entrySize:])) > maxBytes {
					break
				}
				first = r
			}
			after = first - 1
		}
	}
	l.mu.RUnlock()
	return l.ReadBytes(after, int(last-after), 0)
}

// readLocked does Read's work; the caller holds l.mu (either mode). Every
// record is checked against its index entry and Seq, so a damaged index or
// data file yields ErrCorrupt, never a wrong page.
func (l *Log) readLocked(after int64, limit int, maxBytes int64) ([]Record, error) {
	if l.closed {
		return nil, os.ErrClosed
	}
	if after >= l.lastSeq || limit == 0 {
		return []Record{}, nil
	}
	n := min(int64(limit), l.lastSeq-after)
	// Offsets of records after+1 … after+n, plus the start of the record
	// after the page, which for the last page is the end of the data.
	entries := n
	if after+n < l.lastSeq {
		entries++
	}
	ib := make([]byte, entries*entrySize)
	if _, err := l.idx.ReadAt(ib, after*entrySize); err != nil {
		return nil, corrupt("index read at seq %d: %v", after+1, err)
	}
	offs := make([]int64, n+1)
	for i := range entries {
		offs[i] = int64(binary.LittleEndian.Uint64(ib[i*entrySize:]))
	}
	if entries == n {
		offs[n] = l.dataSize
	}
	for i := range n {
		if offs[i] < 0 || offs[i] >= offs[i+1] || offs[i+1] > l.dataSize {
			return nil, corrupt("index entry %d out of order", after+i+1)
		}
	}
	if maxBytes > 0 {
		// The index tells each line's size before any is read: keep the records that fit.
		k := int64(1)
		for k < n && offs[k+1]-offs[0] <= maxBytes {
			k++
		}
		n, offs = k, offs[:k+1]
	}
	start := offs[0]
	buf := make([]byte, offs[n]-start)
	if _, err := l.data.ReadAt(buf, start); err != nil {
		return nil, corrupt("data read at %d: %v", start, err)
	}
	recs := make([]Record, n)
	for i := range n {
		line := buf[offs[i]-start : offs[i+1]-start]
		if err := decodeLine(line, after+i+1, &recs[i]); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// decodeLine decodes one '\n'-terminated line and checks it is record seq as
// Append would have written it. Recovery and Read share it so they agree on
// what a valid record is.
func decodeLine(line []byte, seq int64, r *Record) error {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return corrupt("record %d: not a whole line", seq)
	}
	*r = Record{}
	if !decodeAppended(line, r) {
		return corrupt("record %d: not a line as Append writes it", seq)
	}
	if r.Seq != seq || (r.Dir != DirIn && r.Dir != DirOut) || len(r.Env) == 0 {
		return corrupt("record %d: found seq %d dir %q env %d bytes", seq, r.Seq, r.Dir, len(r.Env))
	}
	return nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// decodeAppended decodes a line laid out exactly as Append writes it,
//
//	{"seq":N,"t":"T","dir":"in"|"out"[,"sse":N],"env":…}\n
//
// into what json.Unmarshal gives for it, at a tenth of the cost: the envelope is checked with one
// jsonscan pass instead of being scanned twice and copied, and no reflection is involved. It is the only
// decoder of the log's lines: a line in any other layout is not one Append wrote (only Append writes the
// file), so it reports false, and the line is corrupt even if it is valid JSON. json.Unmarshal is its
// reference in the tests. Env shares the page's buffer, capped so that appending to it cannot overwrite
// the next record.
func decodeAppended(line []byte, r *Record) bool {
	p, ok := bytes.CutPrefix(line, []byte(`{"seq":`))
	if !ok {
		return false
	}
	if r.Seq, p, ok = cutInt(p); !ok {
		return false
	}
	if p, ok = bytes.CutPrefix(p, []byte(`,"t":`)); !ok {
		return false
	}
	// A timestamp in quotes, of bytes that stand for themselves in a JSON string; time.Time decodes
	// it as json.Unmarshal would (which calls the same UnmarshalJSON with the same bytes).
	end := 1
	for end < len(p) && p[end] != '"' && p[end] >= 0x20 && p[end] < 0x7f && p[end] != '\\' {
		end++
	}
	if len(p) == 0 || p[0] != '"' || end == len(p) || p[end] != '"' || r.Time.UnmarshalJSON(p[:end+1]) != nil {
		return false
	}
	p = p[end+1:]
	switch {
	case bytes.HasPrefix(p, []byte(`,"dir":"in"`)):
		r.Dir, p = DirIn, p[len(`,"dir":"in"`):]
	case bytes.HasPrefix(p, []byte(`,"dir":"out"`)):
		r.Dir, p = DirOut, p[len(`,"dir":"out"`):]
	default:
		return false
	}
	if rest, ok := bytes.CutPrefix(p, []byte(`,"sse":`)); ok {
		if r.SSEID, p, ok = cutInt(rest); !ok {
			return false
		}
	}
	if p, ok = bytes.CutPrefix(p, []byte(`,"env":`)); !ok {
		return false
	}
	// The envelope runs to the record's closing brace. Append writes it compacted, so it has no
	// whitespace around it: with none, a valid JSON text there is exactly what a RawMessage member holds.
	env, ok := bytes.CutSuffix(p, []byte("}\n"))
	if !ok || len(env) == 0 || isSpace(env[0]) || isSpace(env[len(env)-1]) || !jsonscan.Valid(env) {
		return false
	}
	r.Env = env[:len(env):len(env)]
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// cutInt reads a JSON number that is an int64 without fraction or exponent (what Append writes for
// Seq and SSEID) and returns the rest of b.
func cutInt(b []byte) (n int64, rest []byte, ok bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	if i == digits || (b[digits] == '0' && i > digits+1) {
		return 0, b, false // no digits, or a leading zero (not JSON)
	}
	n, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0, b, false // beyond int64: json.Unmarshal refuses it too
	}
	return n, b[i:], true
}
