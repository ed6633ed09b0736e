package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestExclusive: a second Acquire waits while the first holds the lock
// (flock locks are per open file, so this holds within one process too),
// gives up with the context, and gets it once released.
func TestExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire while held: %v, want deadline exceeded", err)
	}
	got := make(chan error, 1)
	go func() {
		l2, err := Acquire(context.Background(), p)
		l2.Unlock()
		got <- err
	}()
	l.Unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
