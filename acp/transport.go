package acp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Transport carries HTTP requests to one sandbox-agent server. Paths start with "/v1/".
type Transport interface {
	// Do performs one request with a JSON body (nil for none) and returns the status and the body.
	// It returns ErrTimeout when timeout passes first and ErrUnreachable when nothing listens.
	Do(ctx context.Context, method, path string, body []byte, timeout time.Duration) (int, []byte, error)
	// Stream GETs path as text/event-stream, sending Last-Event-ID when lastID > 0, and copies the body
	// to w until the server ends it, maxDur passes (then it returns nil: callers reconnect), or ctx ends.
	Stream(ctx context.Context, path string, lastID int64, maxDur time.Duration, w io.Writer) error
}

// HTTP is a Transport over plain HTTP, for a sandbox-agent whose port the server can reach (the Docker
// backend's published-port mode). Token, when set, is sent as a bearer token.
type HTTP struct {
	BaseURL string
	Token   string
	Client  *http.Client
}

func (h *HTTP) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

func (h *HTTP) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	return req, nil
}

// Do implements Transport.
func (h *HTTP) Do(ctx context.Context, method, path string, body []byte, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := h.newRequest(ctx, method, path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.client().Do(req)
	if err != nil {
		return 0, nil, h.classify(ctx, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxEvent))
	if err != nil {
		return resp.StatusCode, data, h.classify(ctx, method, path, err)
	}
	return resp.StatusCode, data, nil
}

// Stream implements Transport.
func (h *HTTP) Stream(ctx context.Context, path string, lastID int64, maxDur time.Duration, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, maxDur)
	defer cancel()
	req, err := h.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return h.classify(ctx, "GET", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return parseProblem(resp.StatusCode, body)
	}
	if _, err := io.WriteString(w, connectedComment); err != nil {
		return err
	}
	_, err = io.Copy(w, resp.Body)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return nil // maxDur reached: the caller reconnects from its last stored id
	}
	if err != nil {
		return h.classify(ctx, "GET", path, err)
	}
	return nil
}

func (h *HTTP) classify(ctx context.Context, method, path string, err error) error {
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s %s: %w", method, path, ErrTimeout)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%s %s: %w: %v", method, path, ErrUnreachable, err)
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}
