package scenarios

import (
	"context"
	"errors"
	"testing"
)

func TestGate(t *testing.T) {
	var open *Gate
	if err := open.Enter(context.Background()); err != nil {
		t.Fatalf("nil gate: %v", err)
	}
	open.Leave()

	g := NewGate(2)
	for range 2 {
		if err := g.Enter(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Full: a third cell waits until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Enter(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("full gate: Enter = %v, want context.Canceled", err)
	}
	entered := make(chan struct{})
	go func() {
		g.Enter(context.Background())
		close(entered)
	}()
	select {
	case <-entered:
		t.Fatal("a third cell entered a gate for two")
	default:
	}
	g.Leave()
	<-entered // the place given back lets it in

	if got := cap(NewGate(0).slots); got != 1 {
		t.Errorf("NewGate(0) has %d places, want 1", got)
	}
}
