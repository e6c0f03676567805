package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A community whose decision hangs holds up only itself: other communities' decisions run,
// and its own queue runs in order once it is free.
func TestDispatcherIsolatesCommunities(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDispatcher(ctx, 2, slog.New(slog.DiscardHandler), noDecide)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	d.submit("slow", plain("hang", func(context.Context) error { <-release; record("slow-1"); return nil }))
	slowDone := make(chan struct{})
	d.submit("slow", plain("after", func(context.Context) error { record("slow-2"); close(slowDone); return nil }))
	done := make(chan struct{})
	for i := range 20 {
		d.submit("calm", plain("calm", func(context.Context) error {
			record("calm")
			if i == 19 {
				close(done)
			}
			return nil
		}))
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
	d := newDispatcher(ctx, 1, slog.New(slog.DiscardHandler), noDecide)
	var mu sync.Mutex
	attempts := 0
	done := make(chan struct{})
	d.submit("c", plain("flaky", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			return context.DeadlineExceeded
		}
		close(done)
		return nil
	}))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a flaky decision was not retried")
	}
	cancel()
	d.wait()
}

// plain is a job that does its work when it starts and decides no unit.
func plain(what string, run func(context.Context) error) job {
	return job{what: what, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		err := run(ctx)
		return nil, func(context.Context, error) error { return err }
	}}
}

func noDecide(context.Context, string, []*unit) {}

// The jobs a community queues while it decides are decided next together, in the order
// they came, and each learns its own unit's answer.
func TestDispatcherGroupsQueuedJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var groups [][]string
	decide := func(_ context.Context, _ string, units []*unit) {
		mu.Lock()
		defer mu.Unlock()
		var names []string
		for _, u := range units {
			names = append(names, u.what)
			if u.what == "u3" {
				u.err = errors.New("no")
			}
		}
		groups = append(groups, names)
	}
	d := newDispatcher(ctx, 1, slog.New(slog.DiscardHandler), decide)
	release := make(chan struct{})
	d.submit("c", plain("hang", func(context.Context) error { <-release; return nil }))
	answers := make(chan string, 5)
	for i := range 5 {
		name := fmt.Sprintf("u%d", i)
		d.submit("c", job{what: name, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
			return &unit{ctx: ctx, what: name}, func(_ context.Context, err error) error {
				answers <- fmt.Sprintf("%s:%v", name, err)
				return nil
			}
		}})
	}
	close(release)
	var got []string
	for range 5 {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-time.After(10 * time.Second):
			t.Fatalf("answers so far: %v", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(groups) != 1 || strings.Join(groups[0], ",") != "u0,u1,u2,u3,u4" {
		t.Fatalf("decided in groups %v, want one group u0..u4 in order", groups)
	}
	if strings.Join(got, " ") != "u0:<nil> u1:<nil> u2:<nil> u3:no u4:<nil>" {
		t.Fatalf("answers %v", got)
	}
}

// Work a member waits on (a vote's check) is not held up when every slot is taken by other
// communities' work: it takes an urgent slot.
func TestDispatcherLetsUrgentWorkPast(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDispatcher(ctx, 2, slog.New(slog.DiscardHandler), noDecide)
	release := make(chan struct{})
	for _, c := range []string{"busy-1", "busy-2", "busy-3"} {
		d.submit(c, plain("hang", func(context.Context) error { <-release; return nil }))
	}
	done := make(chan struct{})
	vote := plain("a vote's check", func(context.Context) error { close(done); return nil })
	vote.urgent = true
	d.submit("voters", vote)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a vote's check waited for every other community's work")
	}
	close(release)
	cancel()
	d.wait()
}
