package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dispatcher runs decisions in the background, one at a time per community and several
// communities at once, so that a community whose policy is slow (or hostile, until the
// sandbox stops it) holds up only itself. Jobs are retried with backoff a few times; what
// still fails is picked up again by the re-check schedule and the start-up sweep.
type dispatcher struct {
	ctx   context.Context
	log   *slog.Logger
	slots chan struct{} // bounds the communities deciding at once

	mu     sync.Mutex
	queues map[string][]job
	wg     sync.WaitGroup
}

type job struct {
	what string
	run  func(ctx context.Context) error
}

func newDispatcher(ctx context.Context, parallel int, logger *slog.Logger) *dispatcher {
	if parallel < 1 {
		parallel = 1
	}
	return &dispatcher{ctx: ctx, log: logger, slots: make(chan struct{}, parallel), queues: map[string][]job{}}
}

// submit queues a job for a community; jobs of one community run in submission order.
func (d *dispatcher) submit(community, what string, run func(ctx context.Context) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, busy := d.queues[community]
	d.queues[community] = append(q, job{what: what, run: run})
	if busy {
		return // the community's runner will get to it
	}
	d.wg.Add(1)
	go d.drain(community)
}

func (d *dispatcher) drain(community string) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.queues[community]
		if len(q) == 0 {
			delete(d.queues, community)
			d.mu.Unlock()
			return
		}
		j := q[0]
		d.mu.Unlock()

		select {
		case d.slots <- struct{}{}:
		case <-d.ctx.Done():
			return
		}
		d.runWithRetry(j)
		<-d.slots

		d.mu.Lock()
		d.queues[community] = d.queues[community][1:]
		d.mu.Unlock()
	}
}

func (d *dispatcher) runWithRetry(j job) {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := j.run(d.ctx)
		if err == nil || d.ctx.Err() != nil {
			return
		}
		if attempt == 5 || isFinal(err) {
			d.log.Warn("decision failed; the re-check schedule will try again", "what", j.what, "err", err)
			return
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// wait blocks until every started runner has stopped (after the context ends).
func (d *dispatcher) wait() { d.wg.Wait() }
