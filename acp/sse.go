package acp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// SSEEvent is one server-sent event. sandbox-agent sends `event: message`, `id: <n>` (a per-server sequence
// starting at 1) and one line of `data:` holding one JSON-RPC envelope; `: heartbeat` comments every ~15 s.
type SSEEvent struct {
	ID   int64
	Name string
	Data []byte
	// Dropped, when positive, is the size in bytes of an event whose data was over the reader's limit:
	// its data was read past and discarded (Data is nil), so the stream moves on and its id can be stored.
	Dropped int64
}

// DefaultMaxEvent bounds the data of one event (one envelope): an envelope carrying a big tool output or a
// whole-file diff can be megabytes, but not unbounded. Bigger ones are dropped, not buffered.
const DefaultMaxEvent = 16 << 20

// sseBuffer is the reader's buffer: lines longer than it are read in pieces, so no line is ever held
// whole except a data line, and that only up to the event limit.
const sseBuffer = 64 << 10

// ReadSSE is ReadSSELimit with DefaultMaxEvent.
func ReadSSE(r io.Reader, fn func(SSEEvent) error, beat func()) error {
	return ReadSSELimit(r, DefaultMaxEvent, fn, beat)
}

// ReadSSELimit parses an event stream and calls fn for each complete event, and beat (if non-nil) for
// each comment line, so callers can tell a live but quiet stream from a dead one. An event whose data is
// over maxEvent bytes is delivered with Dropped set and no data; the reader never holds more than
// maxEvent bytes of it. It returns fn's first error, the reader's error, or nil at EOF. An event cut off
// by EOF is dropped, never half-delivered: its id was not stored, so the reconnect replays it.
func ReadSSELimit(r io.Reader, maxEvent int, fn func(SSEEvent) error, beat func()) error {
	br := bufio.NewReaderSize(r, sseBuffer)
	var (
		ev      SSEEvent
		data    []byte
		size    int64 // bytes of data so far, the newlines between data lines included
		hasData bool
	)
	add := func(b []byte) {
		size += int64(len(b))
		if size > int64(maxEvent) {
			data = nil // over the limit: stop holding it, keep counting
			return
		}
		data = append(data, b...)
	}
	for {
		piece, err := br.ReadSlice('\n')
		whole := err == nil
		switch {
		case errors.Is(err, io.EOF):
			return nil // a line cut off by EOF: its event is never complete
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return err
		}
		line := trimEOL(piece, whole)
		if len(line) == 0 && whole { // dispatch
			if hasData {
				out := SSEEvent{ID: ev.ID, Name: ev.Name, Data: data}
				if size > int64(maxEvent) {
					out.Data, out.Dropped = nil, size
				}
				if err := fn(out); err != nil {
					return err
				}
			}
			ev, data, size, hasData = SSEEvent{}, nil, 0, false
			continue
		}
		if line[0] == ':' {
			if beat != nil {
				beat()
			}
			if err := skipLine(br, whole); err != nil {
				return err
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch {
		case string(field) == "data":
			if hasData {
				add([]byte{'\n'})
			}
			hasData = true
			add(value)
			// The rest of a long data line, piece by piece.
			for !whole {
				piece, err = br.ReadSlice('\n')
				whole = err == nil
				switch {
				case errors.Is(err, io.EOF):
					return nil
				case err != nil && !errors.Is(err, bufio.ErrBufferFull):
					return err
				}
				add(trimEOL(piece, whole))
			}
		case whole && string(field) == "id":
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil {
				ev.ID = n
			}
		case whole && string(field) == "event":
			ev.Name = string(value)
		default:
			// An unknown field, or an id or event line longer than the buffer (sandbox-agent sends
			// neither): ignored, and never held.
			if err := skipLine(br, whole); err != nil {
				return err
			}
		}
	}
}

// trimEOL removes a line's "\n" or "\r\n" when the piece ends the line.
func trimEOL(piece []byte, whole bool) []byte {
	if whole {
		piece = bytes.TrimSuffix(piece[:len(piece)-1], []byte("\r"))
	}
	return piece
}

// skipLine discards the rest of a line of which a first piece was read; whole says it already ended.
func skipLine(br *bufio.Reader, whole bool) error {
	for !whole {
		_, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, bufio.ErrBufferFull):
			if errors.Is(err, io.EOF) {
				return nil // the caller's next read sees EOF too
			}
			return err
		}
	}
	return nil
}
