package manager

import (
	"context"
	"testing"
	"time"
)

// TestTTLOff: a zero TTL returns at once and stops nothing.
func TestTTLOff(t *testing.T) {
	m := New(Config{})
	done := make(chan struct{})
	go func() { m.RunJanitor(context.Background(), 0, time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("RunJanitor with ttl 0 did not return")
	}
}

func TestJanitorInterval(t *testing.T) {
	tests := []struct{ ttl, want time.Duration }{
		{2 * time.Second, time.Second},
		{5 * time.Minute, 30 * time.Second},
		{2 * time.Hour, time.Minute},
	}
	for _, tt := range tests {
		if got := JanitorInterval(tt.ttl); got != tt.want {
			t.Errorf("JanitorInterval(%v) = %v, want %v", tt.ttl, got, tt.want)
		}
	}
}
