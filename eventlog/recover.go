package eventlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Crash recovery.
//
// What a crash can leave behind, given that Append writes the lines (one
// write) and then their index entries (one write), and never rewrites:
//
//   - a torn last line with no '\n' (killed inside the data write);
//   - lines without index entries, or a torn last entry (killed between or
//     inside the writes);
//   - after a machine crash without Sync, also an index ahead of the data,
//     or junk where the unsynced tail of a file should be.
//
// The data file is the truth: the log is the longest prefix of lines that
// decode as records numbered 1, 2, 3… (decodeLine). recover finds that
// prefix cheaply in the normal case (it trusts the index up to its last
// entry that points inside the data, after checking that one entry) and
// re-indexes only the tail after it. A full scan of the data, the only O(n)
// path, happens only when that check fails, so only after damage.

// recover repairs the files and loads dataSize, lastSeq and lastSSEID. With
// full set it ignores the index and rebuilds it from the data. The caller
// holds l.mu for writing, or l is not yet shared.
func (l *Log) recover(full bool) error {
	dst, err := l.data.Stat()
	if err != nil {
		return err
	}
	ist, err := l.idx.Stat()
	if err != nil {
		return err
	}
	size, idxSize := dst.Size(), ist.Size()

	var k, p int64 // records 1..k are indexed and trusted; line k ends at p
	if !full {
		k, p = l.trustedPrefix(idxSize/entrySize, size)
	}
	// Drop index entries past k (index ahead of the data, torn last entry,
	// or everything on a full rebuild) before appending the rebuilt ones.
	if idxSize != k*entrySize {
		if err := l.idx.Truncate(k * entrySize); err != nil {
			return err
		}
	}
	count, end, bad, err := l.scanTail(k, p, size)
	if err != nil {
		return err
	}
	if end < size {
		// A torn last line is dropped silently: no Append returned for it.
		// A whole line that is not the next record is junk from a machine
		// crash or a disk fault; keep it and what follows in <path>.torn
		// rather than destroy bytes nobody has looked at.
		if bad {
			if err := l.salvage(end, size); err != nil {
				return err
			}
		}
		if err := l.data.Truncate(end); err != nil {
			return err
		}
	}
	if idxSize != k*entrySize || count > 0 || end < size {
		if err := l.syncLocked(); err != nil { // make the repair itself durable
			return err
		}
	}
	l.dataSize, l.lastSeq = end, k+count
	l.gen++
	l.broken = nil // the files now agree with the state, whatever a failed rollback left

	sse, err := l.scanLastSSEID()
	if errors.Is(err, ErrCorrupt) && !full {
		// Damage inside the trusted prefix, within the records just read.
		return l.recover(true)
	}
	l.lastSSEID = sse
	return err
}

// trustedPrefix returns how many leading index entries to trust, and where
// the last trusted record's line ends. It costs O(log n) index reads and one
// decoded line; any doubt returns 0, which makes recover scan everything.
func (l *Log) trustedPrefix(n, size int64) (k, p int64) {
	entry := func(j int64) int64 { // offset of record j, or -1 if unreadable
		var b [entrySize]byte
		if _, err := l.idx.ReadAt(b[:], (j-1)*entrySize); err != nil {
			return -1
		}
		return int64(binary.LittleEndian.Uint64(b[:]))
	}
	inData := func(j int64) bool { e := entry(j); return e >= 0 && e < size }
	if n == 0 || size == 0 || entry(1) != 0 {
		return 0, 0
	}
	// The index is ahead of the data if its last entries point past the end.
	// Offsets grow with Seq, so binary-search for the last entry inside the
	// data; if damage broke the order, the check below fails instead.
	j := n
	if !inData(n) {
		lo, hi := int64(1), n // inData(lo) holds, inData(hi) does not
		for hi-lo > 1 {
			if mid := lo + (hi-lo)/2; inData(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		j = lo
	}
	off := entry(j)
	if j > 1 { // must start a line: the previous byte ends one
		var b [1]byte
		if off < 1 || off >= size {
			return 0, 0
		}
		if _, err := l.data.ReadAt(b[:], off-1); err != nil || b[0] != '\n' {
			return 0, 0
		}
	}
	line, ok := l.lineAt(off, size)
	var r Record
	if !ok || decodeLine(line, j, &r) != nil {
		return 0, 0
	}
	return j, off + int64(len(line))
}

// lineAt returns the '\n'-terminated line starting at off, reading in
// growing chunks because envelopes have no size bound.
func (l *Log) lineAt(off, size int64) ([]byte, bool) {
	for n := int64(4096); ; n *= 2 {
		n = min(n, size-off)
		if n <= 0 {
			return nil, false
		}
		buf := make([]byte, n)
		if _, err := l.data.ReadAt(buf, off); err != nil {
			return nil, false
		}
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return buf[:i+1], true
		}
		if n == size-off {
			return nil, false
		}
	}
}

// scanTail indexes the lines from offset p, which ends record k, up to size,
// appending their entries to the index. It stops at the first line that is
// torn or not record k+count+1; end is where that line starts (or size) and
// bad says it was a whole line, i.e. junk rather than a torn write.
func (l *Log) scanTail(k, p, size int64) (count, end int64, bad bool, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(l.data, p, size-p), 1<<16)
	batch := make([]byte, 0, 1<<16)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := l.idx.Write(batch)
		batch = batch[:0]
		return err
	}
	end = p
	for {
		line, rerr := r.ReadBytes('\n')
		if rerr == io.EOF {
			break // line, if any, is torn: it has no '\n'
		}
		if rerr != nil {
			return 0, 0, false, rerr
		}
		var rec Record
		if decodeLine(line, k+count+1, &rec) != nil {
			bad = true
			break
		}
		batch = binary.LittleEndian.AppendUint64(batch, uint64(end))
		count++
		end += int64(len(line))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return 0, 0, false, err
			}
		}
	}
	return count, end, bad, flush()
}

// salvage appends the data bytes [from, size) to <path>.torn.
func (l *Log) salvage(from, size int64) error {
	f, err := os.OpenFile(l.path+".torn", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, io.NewSectionReader(l.data, from, size-from))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("saving damaged tail to %s.torn: %w", l.path, err)
	}
	return nil
}

// scanLastSSEID finds the SSEID of the latest record that has one, looking
// back at most 4096 records so Open stays O(1). SSE ids only grow, so the
// latest one is the highest; "out" records carry none, and 4096 of them in a
// row after the last "in" record does not happen in an ACP session.
func (l *Log) scanLastSSEID() (int64, error) {
	const window = 4096
	stop := max(0, l.lastSeq-window)
	// Pages grow from 8 so that large envelopes do not make Open read
	// hundreds of them when the last one already has an SSEID.
	for hi, page := l.lastSeq, int64(8); hi > stop; page = min(2*page, 512) {
		lo := max(stop, hi-page)
		recs, err := l.readLocked(lo, int(hi-lo), 0)
		if err != nil {
			return 0, err
		}
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i].SSEID != 0 {
				return recs[i].SSEID, nil
			}
		}
		hi = lo
	}
	return 0, nil
}
