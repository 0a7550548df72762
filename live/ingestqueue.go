package live

import (
	"context"
	"sync"
)

// Byte budgets of the ingest path, between the SSE reader and the event log. The reader never holds
// more than one envelope (acp.ReadSSELimit), the queue at most ingestQueueBytes plus one envelope, and
// the writer one batch (at most ingestBatchBytes plus one envelope) while it encodes and appends it.
const (
	ingestQueueBytes = 8 << 20
	ingestBatchBytes = 4 << 20
	ingestBatchItems = 1024
	// itemOverhead is what an item costs besides its data, so a flood of tiny envelopes is bounded too.
	itemOverhead = 64
)

// ingestQueue carries envelopes from the stream reader to the log writer, bounded in bytes: when the
// writer falls behind, put waits (back-pressure) instead of the queue growing. sandbox-agent then skips
// envelopes for this slow client, which the reader sees as a gap in the ids and fills by reconnecting
// from the last stored id (live.go): a full queue costs time, never events. One producer, one consumer.
type ingestQueue struct {
	limit int

	mu       sync.Mutex
	items    []sseItem
	bytes    int
	closed   bool
	notEmpty chan struct{} // a token when items were added or the queue closed
	notFull  chan struct{} // a token when items were taken
}

func newIngestQueue(limit int) *ingestQueue {
	return &ingestQueue{limit: limit, notEmpty: make(chan struct{}, 1), notFull: make(chan struct{}, 1)}
}

func itemSize(it sseItem) int { return len(it.data) + itemOverhead }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// put adds it, waiting while the queue is full. An empty queue takes any one item, whatever its size
// (each is bounded by the envelope cap). It returns ctx's error if ctx ends first.
func (q *ingestQueue) put(ctx context.Context, it sseItem) error {
	n := itemSize(it)
	for {
		q.mu.Lock()
		if q.bytes == 0 || q.bytes+n <= q.limit {
			q.items = append(q.items, it)
			q.bytes += n
			q.mu.Unlock()
			signal(q.notEmpty)
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.notFull:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take waits for items and returns the oldest ones, at most maxItems totalling at most maxBytes (always
// at least one). It returns false once the queue is closed and empty.
func (q *ingestQueue) take(maxItems, maxBytes int) ([]sseItem, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			k, size := 0, 0
			for k < len(q.items) && k < maxItems && (k == 0 || size+itemSize(q.items[k]) <= maxBytes) {
				size += itemSize(q.items[k])
				k++
			}
			batch := make([]sseItem, k)
			copy(batch, q.items)
			clear(q.items[:k]) // drop the references, so taken data can be collected
			q.items = q.items[k:]
			if len(q.items) == 0 {
				q.items = nil // let the backing array go
			}
			q.bytes -= size
			q.mu.Unlock()
			signal(q.notFull)
			return batch, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.notEmpty
	}
}

// close tells the consumer that nothing more comes; what is queued is still taken.
func (q *ingestQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.notEmpty)
}
