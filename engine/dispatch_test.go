package engine

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// A community whose decision hangs holds up only itself: other communities' decisions run,
// and its own queue runs in order once it is free.
func TestDispatcherIsolatesCommunities(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDispatcher(ctx, 2, slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	d.submit("slow", "hang", func(context.Context) error { <-release; record("slow-1"); return nil })
	slowDone := make(chan struct{})
	d.submit("slow", "after", func(context.Context) error { record("slow-2"); close(slowDone); return nil })
	done := make(chan struct{})
	for i := range 20 {
		d.submit("calm", "calm", func(context.Context) error {
			record("calm")
			if i == 19 {
				close(done)
			}
			return nil
		})
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the calm community's decisions waited for the hung one")
	}
	mu.Lock()
	for _, s := range order {
		if s != "calm" {
			t.Fatalf("the hung community ran before it was released: %v", order)
		}
	}
	mu.Unlock()
	close(release)
	<-slowDone
	cancel()
	d.wait()
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 22 || order[20] != "slow-1" || order[21] != "slow-2" {
		t.Fatalf("order after release: %v", order[20:])
	}
}

// A failing decision is retried, and a final (domain) error is not.
func TestDispatcherRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDispatcher(ctx, 1, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	attempts := 0
	done := make(chan struct{})
	d.submit("c", "flaky", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return context.DeadlineExceeded
		}
		close(done)
		return nil
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a flaky decision was not retried")
	}
	cancel()
	d.wait()
}
