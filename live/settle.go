package live

import (
	"context"
	"errors"
	"time"

	"github.com/sandbox-mcp/sandbox-mcp/acp"
	"github.com/sandbox-mcp/sandbox-mcp/events"
)

// settleWait bounds how long Settle waits for a dropped event stream to either reconnect or find
// sandbox-agent down (faults.go: a refusal, then DownChecks health checks downCheckGap apart).
const settleWait = streamWait

// Settle gives a session whose event stream is not connected the time to reconnect or to find its
// sandbox-agent down, so a message is never sent into a server that is gone (it would be logged and
// then lost).
//
// A stream can still count as connected for a moment after its server went away (a stopped sandbox's
// published port), so over HTTP sandbox-agent's health is asked first: one loopback round trip. If
// nothing listens, the stream's own checks (faults.go) decide, and we wait for them.
func (l *Session) Settle(ctx context.Context) {
	if st := l.Snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
		return
	}
	down := false
	if _, direct := l.client.T.(*acp.HTTP); direct {
		down = errors.Is(acp.Health(ctx, l.client.T, 5*time.Second), acp.ErrUnreachable)
	}
	deadline := time.Now().Add(settleWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st := l.Snapshot().State.Status; st == events.StatusEnded || st == events.StatusFailed {
			return
		}
		if !down && l.awaitStream(ctx, 100*time.Millisecond) {
			return
		}
		if down {
			select {
			case <-ctx.Done():
			case <-l.Changed():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
