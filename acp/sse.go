package acp

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// SSEEvent is one server-sent event. sandbox-agent sends `event: message`, `id: <n>` (a per-server sequence
// starting at 1) and one line of `data:` holding one JSON-RPC envelope; `: heartbeat` comments every ~15 s.
type SSEEvent struct {
	ID   int64
	Name string
	Data []byte
}

// maxSSELine bounds one line: an envelope carrying a big tool output can be large, but not unbounded.
const maxSSELine = 16 << 20

// ReadSSE parses an event stream and calls fn for each complete event, and beat (if non-nil) for each
// comment line, so callers can tell a live but quiet stream from a dead one. It returns fn's first error,
// the reader's error, or nil at EOF. An event cut off by EOF is dropped, never half-delivered: its id was
// not stored, so the reconnect replays it.
func ReadSSE(r io.Reader, fn func(SSEEvent) error, beat func()) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxSSELine)
	var ev SSEEvent
	var data bytes.Buffer
	hasData := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 { // dispatch
			if hasData {
				ev.Data = append([]byte(nil), bytes.TrimSuffix(data.Bytes(), []byte("\n"))...)
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev, hasData = SSEEvent{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			if beat != nil {
				beat()
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			data.Write(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil {
				ev.ID = n
			}
		case "event":
			ev.Name = string(value)
		}
	}
	return sc.Err()
}
