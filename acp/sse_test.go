package acp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll runs ReadSSE over input and returns the delivered events and the number of heartbeats.
func readAll(t *testing.T, r io.Reader) ([]SSEEvent, int, error) {
	t.Helper()
	var got []SSEEvent
	beats := 0
	err := ReadSSE(r, func(ev SSEEvent) error {
		got = append(got, ev)
		return nil
	}, func() { beats++ })
	return got, beats, err
}

func TestReadSSE(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name      string
		input     string
		want      []SSEEvent
		wantBeats int
	}{
		{
			name:  "one event as sandbox-agent frames it",
			input: "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\"}\n\n",
			want:  []SSEEvent{{ID: 1, Name: "message", Data: []byte(`{"jsonrpc":"2.0"}`)}},
		},
		{
			name:  "several events are delivered in order",
			input: "event: message\nid: 1\ndata: a\n\nevent: message\nid: 2\ndata: b\n\nevent: message\nid: 3\ndata: c\n\n",
			want: []SSEEvent{
				{ID: 1, Name: "message", Data: []byte("a")},
				{ID: 2, Name: "message", Data: []byte("b")},
				{ID: 3, Name: "message", Data: []byte("c")},
			},
		},
		{
			name:      "heartbeat comments call beat and deliver nothing",
			input:     ": heartbeat\n\n: heartbeat\n\n",
			wantBeats: 2,
		},
		{
			name:      "a heartbeat between events is counted and does not disturb them",
			input:     "id: 1\ndata: a\n\n: heartbeat\n\nid: 2\ndata: b\n\n",
			want:      []SSEEvent{{ID: 1, Data: []byte("a")}, {ID: 2, Data: []byte("b")}},
			wantBeats: 1,
		},
		{
			name:  "id without a space and a large id parse",
			input: "id:9007199254740993\ndata:x\n\n",
			want:  []SSEEvent{{ID: 9007199254740993, Data: []byte("x")}},
		},
		{
			name:  "an id that is not a number is ignored",
			input: "id: abc\ndata: x\n\n",
			want:  []SSEEvent{{Data: []byte("x")}},
		},
		{
			name:  "an event without id has id 0 and the id does not carry over",
			input: "id: 5\ndata: a\n\ndata: b\n\n",
			want:  []SSEEvent{{ID: 5, Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name:  "multi-line data is joined with newlines",
			input: "data: line1\ndata: line2\ndata:\ndata: line4\n\n",
			want:  []SSEEvent{{Data: []byte("line1\nline2\n\nline4")}},
		},
		{
			name:  "only one space after the colon is stripped",
			input: "data:   indented\n\n",
			want:  []SSEEvent{{Data: []byte("  indented")}},
		},
		{
			name:  "a data field without a colon is an empty data line",
			input: "data\n\n",
			want:  []SSEEvent{{Data: nil}},
		},
		{
			name:  "unknown fields are ignored",
			input: "retry: 1000\nfoo: bar\ndata: x\n\n",
			want:  []SSEEvent{{Data: []byte("x")}},
		},
		{
			name:  "an event without data is not delivered",
			input: "event: message\nid: 4\n\n",
		},
		{
			// sandbox-agent sends \n; CRLF also works because bufio.ScanLines drops the \r.
			name:      "CRLF line endings are accepted",
			input:     "event: message\r\nid: 7\r\ndata: crlf\r\n\r\n: heartbeat\r\n\r\n",
			want:      []SSEEvent{{ID: 7, Name: "message", Data: []byte("crlf")}},
			wantBeats: 1,
		},
		{
			// The SSE spec also allows a bare CR as line end; ReadSSE does not (sandbox-agent never sends it),
			// so such a stream is one unterminated line and nothing is delivered.
			name:  "bare CR line endings are not line breaks",
			input: "id: 1\rdata: x\r\r",
		},
		{
			name:  "an event cut by EOF is not delivered",
			input: "id: 1\ndata: whole\n\nid: 2\ndata: cut",
			want:  []SSEEvent{{ID: 1, Data: []byte("whole")}},
		},
		{
			name:  "an event cut by EOF after its data line is not delivered",
			input: "id: 1\ndata: whole\n\nid: 2\ndata: cut\n",
			want:  []SSEEvent{{ID: 1, Data: []byte("whole")}},
		},
		{
			name:  "a 1 MiB data line is delivered whole",
			input: "id: 1\ndata: " + big + "\n\n",
			want:  []SSEEvent{{ID: 1, Data: []byte(big)}},
		},
		{
			name:  "empty input delivers nothing",
			input: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, beats, err := readAll(t, strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("ReadSSE: got error %v, want nil", err)
			}
			if !sameEvents(got, tt.want) {
				t.Errorf("events: got %s, want %s", showEvents(got), showEvents(tt.want))
			}
			if beats != tt.wantBeats {
				t.Errorf("beats: got %d, want %d", beats, tt.wantBeats)
			}
		})
	}
}

func TestReadSSEOneByteReads(t *testing.T) {
	input := "event: message\nid: 1\ndata: a\n\n: heartbeat\n\nid: 2\ndata: b\n\n"
	got, beats, err := readAll(t, iotest.OneByteReader(strings.NewReader(input)))
	if err != nil {
		t.Fatalf("ReadSSE: got error %v, want nil", err)
	}
	want := []SSEEvent{{ID: 1, Name: "message", Data: []byte("a")}, {ID: 2, Data: []byte("b")}}
	if !sameEvents(got, want) || beats != 1 {
		t.Errorf("got %s and %d beats, want %s and 1 beat", showEvents(got), beats, showEvents(want))
	}
}

func TestReadSSEStopsOnCallbackError(t *testing.T) {
	errStop := errors.New("stop")
	calls := 0
	err := ReadSSE(strings.NewReader("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"), func(SSEEvent) error {
		calls++
		return errStop
	}, nil)
	if !errors.Is(err, errStop) {
		t.Errorf("got error %v, want %v", err, errStop)
	}
	if calls != 1 {
		t.Errorf("fn calls: got %d, want 1", calls)
	}
}

func TestReadSSEReturnsReaderError(t *testing.T) {
	errRead := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("id: 1\ndata: a\n\nid: 2\ndata: b"), iotest.ErrReader(errRead))
	got, _, err := readAll(t, r)
	if !errors.Is(err, errRead) {
		t.Errorf("got error %v, want %v", err, errRead)
	}
	if want := []SSEEvent{{ID: 1, Data: []byte("a")}}; !sameEvents(got, want) {
		t.Errorf("events: got %s, want %s", showEvents(got), showEvents(want))
	}
}

func TestReadSSENilBeatIgnoresComments(t *testing.T) {
	var got []SSEEvent
	err := ReadSSE(strings.NewReader(": heartbeat\n\ndata: x\n\n"), func(ev SSEEvent) error {
		got = append(got, ev)
		return nil
	}, nil)
	if err != nil || !sameEvents(got, []SSEEvent{{Data: []byte("x")}}) {
		t.Errorf("got %s, %v; want one event x and no error", showEvents(got), err)
	}
}

func TestReadSSEDataIsNotAliased(t *testing.T) {
	var got []SSEEvent
	input := "data: first\n\ndata: second\n\n"
	if err := ReadSSE(strings.NewReader(input), func(ev SSEEvent) error {
		got = append(got, ev) // kept past the callback, as Client.Stream's callers may do
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Data) != "first" || string(got[1].Data) != "second" {
		t.Errorf("got %s, want first and second", showEvents(got))
	}
}

// FuzzReadSSE checks that arbitrary bytes never panic ReadSSE, and that any payloads framed the way
// sandbox-agent frames them come back exactly, with their ids, whatever the payload bytes are. Payloads are
// the input split at NUL bytes; a payload's newlines become several data lines, and CRs are dropped (a CR
// before a line end is not part of the line; see the CRLF case above).
func FuzzReadSSE(f *testing.F) {
	f.Add([]byte("event: message\nid: 1\ndata: {}\n\n"))
	f.Add([]byte(": heartbeat\n\ndata: a\ndata: b\n\n"))
	f.Add([]byte("a\x00b\nc\x00\x00 d"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Arbitrary input: no panic.
		_ = ReadSSE(bytes.NewReader(raw), func(SSEEvent) error { return nil }, func() {})

		payloads := bytes.Split(bytes.ReplaceAll(raw, []byte("\r"), nil), []byte{0})
		var framed bytes.Buffer
		for i, p := range payloads {
			framed.WriteString(": heartbeat\n\nevent: message\nid: " + strconv.Itoa(i+1) + "\n")
			for _, line := range bytes.Split(p, []byte("\n")) {
				framed.WriteString("data: ")
				framed.Write(line)
				framed.WriteByte('\n')
			}
			framed.WriteByte('\n')
		}
		framed.WriteString("id: 999\ndata: cut by EOF") // never delivered
		// With a small limit, each payload comes back whole or as dropped with its exact size.
		const limit = 8
		i := 0
		err := ReadSSELimit(bytes.NewReader(framed.Bytes()), limit, func(ev SSEEvent) error {
			p := payloads[i]
			if len(p) > limit && (ev.Dropped != int64(len(p)) || ev.Data != nil) || len(p) <= limit && (ev.Dropped != 0 || !bytes.Equal(ev.Data, p)) {
				t.Errorf("limit %d, event %d: dropped %d data %q; payload %q", limit, i, ev.Dropped, ev.Data, p)
			}
			i++
			return nil
		}, nil)
		if err != nil || i != len(payloads) {
			t.Fatalf("ReadSSELimit: %d events, %v; want %d", i, err, len(payloads))
		}
		got, beats, err := readAll(t, &framed)
		if err != nil {
			t.Fatalf("ReadSSE of framed payloads: %v", err)
		}
		if len(got) != len(payloads) {
			t.Fatalf("got %d events, want %d", len(got), len(payloads))
		}
		for i, ev := range got {
			if ev.ID != int64(i+1) || ev.Name != "message" || !bytes.Equal(ev.Data, payloads[i]) {
				t.Errorf("event %d: got id %d name %q data %q, want id %d name message data %q", i, ev.ID, ev.Name, ev.Data, i+1, payloads[i])
			}
		}
		if beats != len(payloads) {
			t.Errorf("beats: got %d, want %d", beats, len(payloads))
		}
	})
}

func sameEvents(a, b []SSEEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func showEvents(evs []SSEEvent) string {
	var b strings.Builder
	b.WriteString("[")
	for i, ev := range evs {
		if i > 0 {
			b.WriteString(" ")
		}
		data := string(ev.Data)
		if len(data) > 40 {
			data = data[:40] + "…(" + strconv.Itoa(len(ev.Data)) + " bytes)"
		}
		b.WriteString("{id=" + strconv.FormatInt(ev.ID, 10) + " name=" + strconv.Quote(ev.Name) + " data=" + strconv.Quote(data) + "}")
	}
	b.WriteString("]")
	return b.String()
}

// TestReadSSEOversizeEventIsDropped: an event over the limit is read past, reported with its id and size,
// and the events after it arrive. Before, the reader failed with bufio.ErrTooLong on such an event, the
// stream reconnected from the last stored id, sandbox-agent replayed the same event, and the session never
// moved again.
func TestReadSSEOversizeEventIsDropped(t *testing.T) {
	huge := strings.Repeat("y", DefaultMaxEvent+1)
	tests := []struct {
		name  string
		limit int
		input string
		want  []SSEEvent
	}{
		{"one line over the default limit", DefaultMaxEvent,
			"id: 1\ndata: a\n\nevent: message\nid: 2\ndata: " + huge + "\n\nid: 3\ndata: c\n\n",
			[]SSEEvent{{ID: 1, Data: []byte("a")}, {ID: 2, Name: "message", Dropped: int64(len(huge))}, {ID: 3, Data: []byte("c")}}},
		{"several data lines over a small limit", 10,
			"id: 1\ndata: 12345\ndata: 67890\n\nid: 2\ndata: 1234567890\n\n",
			[]SSEEvent{{ID: 1, Dropped: 11}, {ID: 2, Data: []byte("1234567890")}}},
		{"long comment and unknown field lines are skipped", 10,
			": " + strings.Repeat("c", 3*sseBuffer) + "\nretry" + strings.Repeat("r", 3*sseBuffer) + "\nid: 4\ndata: ok\n\n",
			[]SSEEvent{{ID: 4, Data: []byte("ok")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []SSEEvent
			err := ReadSSELimit(strings.NewReader(tt.input), tt.limit, func(ev SSEEvent) error {
				got = append(got, ev)
				return nil
			}, nil)
			if err != nil {
				t.Fatalf("ReadSSELimit: %v (an oversize event must not end the stream)", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %s, want %s", showEvents(got), showEvents(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || got[i].Name != tt.want[i].Name || got[i].Dropped != tt.want[i].Dropped || !bytes.Equal(got[i].Data, tt.want[i].Data) {
					t.Errorf("event %d: got id %d name %q dropped %d data %.20q; want %+v", i, got[i].ID, got[i].Name, got[i].Dropped, got[i].Data, tt.want[i])
				}
			}
		})
	}
}

// TestReadSSEOversizeEventIsNotHeld: reading past a 256 MiB event with a 1 MiB limit allocates a few MiB in
// all, not the event: the reader's memory is bounded by the limit whatever the agent sends.
func TestReadSSEOversizeEventIsNotHeld(t *testing.T) {
	const size, limit = 256 << 20, 1 << 20
	r := io.MultiReader(strings.NewReader("id: 1\ndata: "), &repeatReader{n: size}, strings.NewReader("\n\nid: 2\ndata: after\n\n"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var got []SSEEvent
	if err := ReadSSELimit(r, limit, func(ev SSEEvent) error { got = append(got, ev); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(got) != 2 || got[0].Dropped != size || string(got[1].Data) != "after" {
		t.Fatalf("got %s (first dropped %d), want event 1 dropped with its size, then event 2", showEvents(got), got[0].Dropped)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*limit {
		t.Errorf("reading past a %d-byte event allocated %d bytes; want at most %d (8× the limit)", size, alloc, 8*limit)
	}
}

// repeatReader yields n bytes of 'x' without holding them.
type repeatReader struct{ n int }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}
