package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/eventlog"
	"github.com/sandbox-mcp/sandbox-mcp/events"
	"github.com/sandbox-mcp/sandbox-mcp/state"
)

func chunkItem(id int64, text string) sseItem {
	env, _ := json.Marshal(acp.Notification{Method: acp.MethodUpdate, Params: acp.UpdateParams{SessionID: "s",
		Update: acp.ContentChunk{SessionUpdate: "agent_thought_chunk", Content: acp.TextBlock(text)}}})
	return sseItem{id: id, data: env}
}

func rawItem(id int64, env string) sseItem { return sseItem{id: id, data: []byte(env)} }

// summary renders what admit kept: "c<id>" for a chunk, "r<id>" for anything else from the agent, and
// "note:<first words>" for our own records.
func summary(items []sseItem) string {
	var out []string
	for _, it := range items {
		switch {
		case it.id == 0:
			var env struct {
				Error struct{ Message string } `json:"error"`
			}
			_ = json.Unmarshal(it.data, &env)
			out = append(out, "note:"+strings.Join(strings.Fields(env.Error.Message)[:3], " "))
		case strings.Contains(string(it.data), acp.MethodUpdate):
			out = append(out, fmt.Sprintf("c%d", it.id))
		default:
			out = append(out, fmt.Sprintf("r%d", it.id))
		}
	}
	return strings.Join(out, " ")
}

// TestLogBudget: below the cap everything is logged; past it content is dropped, with one note when the
// cap is reached and one summary before the next record kept; turn ends and permission requests are kept
// (shrunk when big); past the hard limit the session fails.
func TestLogBudget(t *testing.T) {
	const limit = 4 << 20
	kib := strings.Repeat("x", 1<<10)
	turnEnd := `{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn"}}`
	bigTurnEnd := `{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn","_meta":{"junk":"` + strings.Repeat("j", 100<<10) + `"}}}`
	bigPerm := `{"jsonrpc":"2.0","id":"perm-1","method":"session/request_permission","params":{"sessionId":"s","toolCall":{"toolCallId":"c1","title":"` +
		strings.Repeat("t", 200<<10) + `","kind":"execute","status":"pending","content":[{"type":"text","text":"` + strings.Repeat("z", 200<<10) + `"}]},` +
		`"options":[{"optionId":"allow","name":"Allow","kind":"allow_once"}]}}`
	exit := `{"jsonrpc":"2.0","method":"_adapter/agent_exited","params":{"success":true,"code":0}}`
	other := `{"jsonrpc":"2.0","method":"some/notification","params":{}}`

	t.Run("under the cap everything is kept", func(t *testing.T) {
		b := logBudget{max: limit}
		keep, fail := b.admit(0, []sseItem{chunkItem(1, kib), rawItem(2, turnEnd)})
		if got := summary(keep); got != "c1 r2" || fail != "" {
			t.Errorf("kept %q, fail %q", got, fail)
		}
	})
	t.Run("past the cap", func(t *testing.T) {
		b := logBudget{max: limit}
		size := int64(limit - 3000) // room for two 1 KiB chunks
		keep, fail := b.admit(size, []sseItem{chunkItem(1, kib), chunkItem(2, kib), chunkItem(3, kib), chunkItem(4, kib),
			rawItem(5, other), rawItem(6, turnEnd), chunkItem(7, kib), rawItem(8, exit)})
		if got, want := summary(keep), "c1 c2 note:the session's event note:3 envelope(s) (2416 r6 note:1 envelope(s) (1179 r8"; got != want || fail != "" {
			t.Errorf("kept %q, fail %q; want %q", got, fail, want)
		}
		if b.lastDropped != 7 {
			t.Errorf("lastDropped = %d, want 7 (the reconnect resumes after it)", b.lastDropped)
		}
		// The next batch: dropped without a second "limit reached" note.
		keep, _ = b.admit(size+20000, []sseItem{chunkItem(9, kib), rawItem(10, turnEnd)})
		if got := summary(keep); got != "note:1 envelope(s) (1179 r10" {
			t.Errorf("next batch kept %q", got)
		}
	})
	t.Run("big records past the cap are shrunk to what the state needs", func(t *testing.T) {
		b := logBudget{max: limit}
		keep, _ := b.admit(limit, []sseItem{rawItem(1, bigTurnEnd), rawItem(2, bigPerm)})
		if len(keep) != 3 {
			t.Fatalf("kept %q", summary(keep))
		}
		if got := string(keep[1].data); got != `{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn"}}` {
			t.Errorf("shrunk turn end = %s", got)
		}
		perm := string(keep[2].data)
		if len(perm) > 4<<10 || !strings.Contains(perm, `"optionId":"allow"`) || !strings.Contains(perm, `"id":"perm-1"`) || !strings.Contains(perm, `"toolCallId":"c1"`) {
			t.Errorf("shrunk permission request (%d bytes) = %.300s", len(perm), perm)
		}
	})
	t.Run("past the hard limit the session fails", func(t *testing.T) {
		b := logBudget{max: limit}
		keep, fail := b.admit(hardLimit(limit)-100, []sseItem{rawItem(1, turnEnd)})
		if !strings.Contains(fail, "hard limit of 5 MiB") {
			t.Errorf("fail = %q, kept %q", fail, summary(keep))
		}
	})
}

// TestIngestQueue: the queue holds at most its limit in bytes (one item of any size when empty); put
// waits while it is full and returns when the context ends; take returns batches bounded in count and
// bytes, and false once closed and drained.
func TestIngestQueue(t *testing.T) {
	q := newIngestQueue(3000)
	item := func(id int64, n int) sseItem { return sseItem{id: id, data: make([]byte, n)} }
	ctx := t.Context()
	for i := range 2 {
		if err := q.put(ctx, item(int64(i+1), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// Full: 2 × (1000 + overhead) + 1000 is over 3000.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := q.put(short, item(3, 1000)); err == nil {
		t.Fatalf("put into a full queue returned nil; it must wait (and give up with its context)")
	}
	put := make(chan error, 1)
	go func() { put <- q.put(ctx, item(3, 1000)) }()
	batch, ok := q.take(10, 1500) // one item fits the batch budget
	if !ok || len(batch) != 1 || batch[0].id != 1 {
		t.Fatalf("take = %d items, %v", len(batch), ok)
	}
	if err := <-put; err != nil { // room again
		t.Fatal(err)
	}
	batch, _ = q.take(10, 1<<20)
	if len(batch) != 2 || batch[0].id != 2 || batch[1].id != 3 {
		t.Fatalf("second take = %+v", batch)
	}
	// An item bigger than the limit still goes into an empty queue.
	if err := q.put(ctx, item(4, 10_000)); err != nil {
		t.Fatal(err)
	}
	q.close()
	if batch, ok = q.take(10, 100); !ok || len(batch) != 1 || batch[0].id != 4 {
		t.Fatalf("take after close = %+v, %v; want the queued item", batch, ok)
	}
	if _, ok = q.take(10, 100); ok {
		t.Fatal("take on a closed, empty queue returned true")
	}
}

// TestIngestPastTheCap: the stream's writer applies the cap to what it logs. Past the cap a content
// batch changes nothing (no record, no wake-up) but moves the resume point past it; a turn end is still
// logged and ends the turn; an agent that keeps sending must-keep records past the hard limit fails its
// session with a reason that says so.
func TestIngestPastTheCap(t *testing.T) {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20
	// A log just over the cap: 17 chunks of 64 KiB, then a running turn.
	var envs [][]byte
	for i := range 17 {
		envs = append(envs, chunkItem(int64(i+1), strings.Repeat("x", 64<<10)).data)
	}
	l := liveWithLog(t, envs)
	l.cfg = testConfig(store)
	l.cfg.MaxLogBytes = limit
	prompt := []byte(`{"jsonrpc":"2.0","id":"turn-1","method":"session/prompt","params":{"sessionId":"s","prompt":[{"type":"text","text":"go"}]}}`)
	if _, err := l.append(eventlog.Record{Dir: eventlog.DirOut, Env: prompt}); err != nil {
		t.Fatal(err)
	}
	last := l.log.LastSeq()
	changed := l.Changed()

	if err := l.ingestBatch(t.Context(), []sseItem{chunkItem(18, "more"), chunkItem(19, "more")}); err != nil {
		t.Fatal(err)
	}
	// The first batch past the cap writes the "limit reached" note, nothing else.
	recs, _ := l.log.Read(last, 10)
	if len(recs) != 1 || !strings.Contains(string(recs[0].Env), "reached its limit of 1 MiB") || l.budget.lastDropped != 19 {
		t.Fatalf("after a content batch past the cap: %d records (%s), lastDropped %d", len(recs), summary(itemsOf(recs)), l.budget.lastDropped)
	}
	select {
	case <-changed:
	default:
		t.Fatal("the note did not wake readers")
	}
	changed = l.Changed()
	if err := l.ingestBatch(t.Context(), []sseItem{chunkItem(20, "more")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("a batch dropped whole woke readers")
	default:
	}
	if err := l.ingestBatch(t.Context(), []sseItem{rawItem(21, `{"jsonrpc":"2.0","id":"turn-1","result":{"stopReason":"end_turn"}}`)}); err != nil {
		t.Fatal(err)
	}
	if st := l.Snapshot().State; st.Status != events.StatusIdle || st.LastStopReason != "end_turn" {
		t.Fatalf("after the turn end past the cap: status %s, stop %q", st.Status, st.LastStopReason)
	}

	// Past the hard limit (the cap plus 1 MiB here), must-keep records fail the session.
	big := `{"jsonrpc":"2.0","id":"x-%d","error":{"code":1,"message":"` + strings.Repeat("e", 60<<10) + `"}}`
	for i := 0; l.Snapshot().State.Status != events.StatusFailed; i++ {
		if i > 40 {
			t.Fatalf("still %s after %d MiB of errors past the cap; log %d bytes", l.Snapshot().State.Status, i*60>>10, l.log.Size())
		}
		if err := l.ingestBatch(t.Context(), []sseItem{rawItem(int64(100+i), fmt.Sprintf(big, i))}); err != nil {
			t.Fatal(err)
		}
	}
	if size := l.log.Size(); size > hardLimit(limit) {
		t.Errorf("log is %d bytes, over the hard limit %d", size, hardLimit(limit))
	}
	if reason := l.Snapshot().State.LastError; !strings.Contains(reason, "hard limit of 2 MiB") {
		t.Errorf("failed with %q", reason)
	}
}

func itemsOf(recs []eventlog.Record) []sseItem {
	out := make([]sseItem, len(recs))
	for i, r := range recs {
		out[i] = sseItem{id: r.SSEID, data: r.Env}
	}
	return out
}
