package sandbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// stubBackend is a Backend whose Check answers from a script and which counts every call.
type stubBackend struct {
	name   string
	mu     sync.Mutex
	checks []error // successive Check results; the last one repeats
	calls  atomic.Int32
	lists  atomic.Int32
}

func (s *stubBackend) Name() string { return s.name }

func (s *stubBackend) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.Add(1)
	err := s.checks[0]
	if len(s.checks) > 1 {
		s.checks = s.checks[1:]
	}
	return err
}

func (s *stubBackend) Create(context.Context, Spec) (Info, error)             { return Info{}, nil }
func (s *stubBackend) Get(context.Context, string) (Info, error)              { return Info{}, nil }
func (s *stubBackend) Exec(context.Context, string, ExecSpec) (Result, error) { return Result{}, nil }
func (s *stubBackend) Remove(context.Context, string) error                   { return nil }
func (s *stubBackend) Stop(context.Context, string) error                     { return nil }
func (s *stubBackend) List(context.Context) ([]Info, error) {
	s.lists.Add(1)
	return []Info{{Name: "x", Backend: s.name}}, nil
}

func unavailable(op, why string) error {
	return Errorf(Unavailable, "%s check: %s", op, why)
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		backends []*stubBackend
		want     string // chosen backend name; "" means none
		wantErr  string
		calls    []int32 // Check calls per backend
	}{
		{"first available wins and later ones are not asked",
			[]*stubBackend{{name: "sbx", checks: []error{nil}}, {name: "docker-sandbox", checks: []error{nil}}},
			"sbx", "", []int32{1, 0}},
		{"falls through to the first that answers",
			[]*stubBackend{{name: "sbx", checks: []error{unavailable("sbx", "not installed")}}, {name: "docker", checks: []error{nil}}},
			"docker", "", []int32{1, 1}},
		{"none available lists every reason on one line",
			[]*stubBackend{
				{name: "sbx", checks: []error{unavailable("sbx", "sbx is not installed")}},
				{name: "docker-sandbox", checks: []error{unavailable("docker-sandbox", "docker sandbox was\nremoved")}},
				{name: "docker", checks: []error{errors.New("docker: engine not running")}},
			},
			"", "no sandbox backend is available: sbx: sbx is not installed; " +
				"docker-sandbox: docker sandbox was removed; docker: docker: engine not running",
			[]int32{1, 1, 1}},
		{"no candidates", nil, "", "no sandbox backend is configured", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cands []Backend
			for _, b := range tt.backends {
				cands = append(cands, b)
			}
			got, err := Detect(t.Context(), cands...)
			if tt.want != "" {
				if err != nil || got.Name() != tt.want {
					t.Fatalf("got %v, %v; want %s", got, err, tt.want)
				}
			} else {
				if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want ErrUnavailable with %q", err, tt.wantErr)
				}
			}
			for i, b := range tt.backends {
				if got, want := b.calls.Load(), tt.calls[i]; got != want {
					t.Errorf("%s: got %d checks, want %d", b.name, got, want)
				}
			}
		})
	}
}

func TestDetectStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	first := &stubBackend{name: "sbx", checks: []error{unavailable("sbx", "x")}}
	second := &stubBackend{name: "docker", checks: []error{nil}}
	cancel()
	_, err := Detect(ctx, first, second)
	if !errors.Is(err, context.Canceled) || second.calls.Load() != 0 {
		t.Errorf("got %v and %d checks of the second, want context.Canceled and 0", err, second.calls.Load())
	}
}

func TestLazy(t *testing.T) {
	t.Run("nothing runs at construction and Name is auto", func(t *testing.T) {
		b := &stubBackend{name: "sbx", checks: []error{nil}}
		l := NewLazy(b)
		if got, want := l.Name(), "auto"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got := b.calls.Load(); got != 0 {
			t.Errorf("got %d checks at construction, want 0", got)
		}
	})
	t.Run("a failure is not cached", func(t *testing.T) {
		b := &stubBackend{name: "docker-sandbox", checks: []error{unavailable("docker-sandbox", "Docker Desktop is not running"), nil}}
		l := NewLazy(b)
		if _, err := l.List(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("first call: got %v, want ErrUnavailable", err)
		}
		if got, want := l.Name(), "auto"; got != want {
			t.Errorf("after a failure got name %q, want %q", got, want)
		}
		if _, err := l.List(t.Context()); err != nil {
			t.Fatalf("second call: got %v, want success once Docker Desktop runs", err)
		}
		if got, want := l.Name(), "docker-sandbox"; got != want {
			t.Errorf("got name %q, want %q", got, want)
		}
		if got, want := b.lists.Load(), int32(1); got != want {
			t.Errorf("got %d delegated lists, want %d", got, want)
		}
	})
	t.Run("a success is cached", func(t *testing.T) {
		first := &stubBackend{name: "sbx", checks: []error{unavailable("sbx", "x")}}
		second := &stubBackend{name: "docker", checks: []error{nil}}
		l := NewLazy(first, second)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := l.List(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, want := [2]int32{first.calls.Load(), second.calls.Load()}, [2]int32{1, 1}; got != want {
			t.Errorf("got checks %v, want %v (one detection for concurrent first calls)", got, want)
		}
		if got, want := second.lists.Load(), int32(8); got != want {
			t.Errorf("got %d delegated lists, want %d", got, want)
		}
	})
	t.Run("Check after detection asks the chosen backend again", func(t *testing.T) {
		b := &stubBackend{name: "sbx", checks: []error{nil, unavailable("sbx", "daemon stopped")}}
		l := NewLazy(b)
		if err := l.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := l.Check(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Errorf("got %v, want the chosen backend's ErrUnavailable", err)
		}
		if got, want := l.Name(), "sbx"; got != want {
			t.Errorf("got %q, want %q (the choice stays)", got, want)
		}
	})
}
