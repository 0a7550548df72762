package acp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Client speaks ACP to one agent process of a sandbox-agent server: the one behind ServerID.
type Client struct {
	T        Transport
	ServerID string
}

func (c *Client) path() string { return "/v1/acp/" + url.PathEscape(c.ServerID) }

// Health checks GET /v1/health.
func Health(ctx context.Context, t Transport, timeout time.Duration) error {
	status, body, err := t.Do(ctx, http.MethodGet, "/v1/health", nil, timeout)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return parseProblem(status, body)
	}
	return nil
}

// Request sends a JSON-RPC request and waits up to timeout for the agent's reply. agent is set only on the
// first request to a server id: sandbox-agent then installs (if needed) and spawns that agent. A JSON-RPC
// error in the reply comes back as *RPCError, an HTTP error as *ProblemError.
func (c *Client) Request(ctx context.Context, req Request, agent string, timeout time.Duration) (json.RawMessage, error) {
	enc, err := req.Encode()
	if err != nil {
		return nil, err
	}
	return c.send(ctx, enc, agent, timeout)
}

// send posts an encoded request and reads the agent's reply.
func (c *Client) send(ctx context.Context, req EncodedRequest, agent string, timeout time.Duration) (json.RawMessage, error) {
	method := req.Method
	p := c.path()
	if agent != "" {
		p += "?agent=" + url.QueryEscape(agent)
	}
	status, resp, err := c.T.Do(ctx, http.MethodPost, p, req.Body, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", method, parseProblem(status, resp))
	}
	var env Envelope
	if err := json.Unmarshal(resp, &env); err != nil {
		return nil, fmt.Errorf("%s: bad reply: %w", method, err)
	}
	if env.Error != nil {
		return nil, fmt.Errorf("%s: %w", method, env.Error)
	}
	return env.Result, nil
}

// Post sends a message that expects no reply: a Notification (session/cancel), a Response to an agent's
// request (a permission answer), or one already encoded as json.RawMessage, which is posted as it is.
// sandbox-agent answers 202.
func (c *Client) Post(ctx context.Context, msg json.Marshaler, timeout time.Duration) error {
	body, err := msg.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode envelope: %w", err)
	}
	status, resp, err := c.T.Do(ctx, http.MethodPost, c.path(), body, timeout)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return parseProblem(status, resp)
	}
	return nil
}

// Start sends a request whose reply may take minutes (session/prompt) and waits at most wait. It takes the
// request encoded, so the caller can log the very bytes that are posted. The POST blocks upstream until
// the turn ends, and hosts drop tool calls after ~60 s; sandbox-agent keeps the turn going when the client
// stops waiting (measured with 0.4.2), and the reply shows up on SSE. So a timeout here means "started":
// done=false with no error.
func (c *Client) Start(ctx context.Context, req EncodedRequest, wait time.Duration) (result json.RawMessage, done bool, err error) {
	result, err = c.send(ctx, req, "", wait)
	if errors.Is(err, ErrTimeout) {
		return nil, false, nil
	}
	return result, err == nil, err
}

// Close asks sandbox-agent to drop the agent process. In 0.4.2 DELETE never returns (the instance is gone
// at once, the agent exits when we disconnect), so it is bounded to 2 s and its outcome ignored, as the
// upstream TypeScript SDK does. Send session/cancel first.
func (c *Client) Close(ctx context.Context) {
	_, _, _ = c.T.Do(ctx, http.MethodDelete, c.path(), nil, 2*time.Second)
}

// Stream reads the server's SSE for this id from lastID on, for at most maxDur, and calls fn for every
// envelope with its SSE id. beat is called on heartbeats, connected (if set) once the server has answered
// (transports write a ": connected" comment first thing). It returns when the stream ends (nil: reconnect),
// on transport errors, or with fn's error. Envelopes over DefaultMaxEvent are skipped; StreamEvents
// reports them.
func (c *Client) Stream(ctx context.Context, lastID int64, maxDur time.Duration, fn func(id int64, data []byte) error, beat, connected func()) error {
	return c.StreamEvents(ctx, lastID, maxDur, DefaultMaxEvent, func(ev SSEEvent) error {
		if ev.Dropped > 0 {
			return nil
		}
		return fn(ev.ID, ev.Data)
	}, beat, connected)
}

// StreamEvents is Stream with the events themselves: an envelope over maxEvent bytes comes with Dropped
// set instead of its data (it is read past, never held), so the caller can record it and move on.
func (c *Client) StreamEvents(ctx context.Context, lastID int64, maxDur time.Duration, maxEvent int, fn func(SSEEvent) error, beat, connected func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var w io.Writer = pw
		if connected != nil {
			w = &firstWrite{w: pw, fn: connected}
		}
		err := c.T.Stream(ctx, c.path(), lastID, maxDur, w)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	perr := ReadSSELimit(pr, maxEvent, fn, beat)
	cancel()
	pr.Close()
	serr := <-done
	if perr != nil {
		return perr
	}
	return serr
}

// firstWrite calls fn before the first write: the moment the stream is connected.
type firstWrite struct {
	w    io.Writer
	fn   func()
	done bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.done {
		f.done = true
		f.fn()
	}
	return f.w.Write(p)
}

// connectedComment is what transports write as soon as the server answered 200: an SSE comment, which
// parsers skip, whose arrival tells that from now on nothing the agent emits can be missed.
const connectedComment = ": connected\n\n"
