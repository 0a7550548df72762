package sandbox

// Backend selection. Which sandbox technology a machine has is only known by asking it (sbx installed and
// logged in? Docker Desktop 4.58-4.79 running? a Docker Engine?), and asking can take seconds, so the
// server never asks at start-up: MCP initialize must not wait on Docker. Lazy asks on first use instead.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Detect returns the first candidate whose Check succeeds, trying them in order. When none does, it returns
// an error wrapping ErrUnavailable that gives every candidate's reason on one line. A cancelled ctx stops
// the search and its error is returned.
func Detect(ctx context.Context, candidates ...Backend) (Backend, error) {
	if len(candidates) == 0 {
		return nil, Errorf(Unavailable, "no sandbox backend is configured")
	}
	reasons := make([]string, 0, len(candidates))
	for _, b := range candidates {
		err := b.Check(ctx)
		if err == nil {
			return b, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("detect sandbox backend: %w", ctxErr)
		}
		// Each backend's error starts with its own name ("sbx check: …"); keep one prefix.
		msg := strings.TrimPrefix(err.Error(), b.Name()+" check: ")
		reasons = append(reasons, b.Name()+": "+strings.Join(strings.Fields(msg), " "))
	}
	return nil, Errorf(Unavailable, "no sandbox backend is available: %s", strings.Join(reasons, "; "))
}

// Lazy is a Backend that picks one of its candidates with Detect on first use. A success is kept for the
// life of the Lazy; a failure is not, so the next call detects again (the user may start Docker Desktop or
// log in to sbx in the meantime). Constructing it runs nothing. It is safe for concurrent use; concurrent
// first calls share one detection.
type Lazy struct {
	candidates []Backend
	mu         sync.Mutex              // serialises detection
	chosen     atomic.Pointer[Backend] // set once, read without the lock so Name never waits on a detection
}

// NewLazy returns a Lazy over candidates, in order of preference. It runs nothing.
func NewLazy(candidates ...Backend) *Lazy {
	return &Lazy{candidates: append([]Backend(nil), candidates...)}
}

// Backend returns the detected backend, detecting it now if no detection has succeeded yet. Its error
// wraps ErrUnavailable when no candidate answers.
func (l *Lazy) Backend(ctx context.Context) (Backend, error) {
	if b := l.chosen.Load(); b != nil {
		return *b, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.chosen.Load(); b != nil {
		return *b, nil // detected by a concurrent caller while we waited
	}
	b, err := Detect(ctx, l.candidates...)
	if err != nil {
		return nil, err
	}
	l.chosen.Store(&b)
	return b, nil
}

// Name returns the detected backend's name, or "auto" while none has been detected. It never detects.
func (l *Lazy) Name() string {
	if b := l.chosen.Load(); b != nil {
		return (*b).Name()
	}
	return "auto"
}

// Check detects a backend if needed; it returns Detect's error (wrapping ErrUnavailable) when none answers.
// Once a backend is chosen it checks that backend again, so a stopped Docker Desktop is reported.
func (l *Lazy) Check(ctx context.Context) error {
	if b := l.chosen.Load(); b != nil {
		return (*b).Check(ctx)
	}
	_, err := l.Backend(ctx)
	return err
}

// Create detects a backend if needed and delegates; see Backend.Create.
func (l *Lazy) Create(ctx context.Context, spec Spec) (Info, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return Info{}, err
	}
	return b.Create(ctx, spec)
}

// Get detects a backend if needed and delegates; see Backend.Get.
func (l *Lazy) Get(ctx context.Context, name string) (Info, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return Info{}, err
	}
	return b.Get(ctx, name)
}

// List detects a backend if needed and delegates; see Backend.List.
func (l *Lazy) List(ctx context.Context) ([]Info, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return nil, err
	}
	return b.List(ctx)
}

// Exec detects a backend if needed and delegates; see Backend.Exec.
func (l *Lazy) Exec(ctx context.Context, name string, spec ExecSpec) (Result, error) {
	b, err := l.Backend(ctx)
	if err != nil {
		return Result{}, err
	}
	return b.Exec(ctx, name, spec)
}

// Remove detects a backend if needed and delegates; see Backend.Remove.
func (l *Lazy) Remove(ctx context.Context, name string) error {
	b, err := l.Backend(ctx)
	if err != nil {
		return err
	}
	return b.Remove(ctx, name)
}

// Stop detects a backend if needed and delegates; see Backend.Stop.
func (l *Lazy) Stop(ctx context.Context, name string) error {
	b, err := l.Backend(ctx)
	if err != nil {
		return err
	}
	return b.Stop(ctx, name)
}

var _ Backend = (*Lazy)(nil)
var _ Backend = (*Sbx)(nil)
var _ Backend = (*DockerSandbox)(nil)
var _ Backend = (*Docker)(nil)
