package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// dispatcher runs decisions in the background, one community's at a time and several
// communities at once, so that a community whose policy is slow (or hostile, until the
// sandbox stops it) holds up only itself. The jobs of a community that queued up while it
// was deciding are decided together next, in submission order, and appended in one commit
// (see decideUnits). A job that fails is retried on its own with backoff a few times; what
// still fails is picked up again by the re-check schedule and the start-up sweep.
type dispatcher struct {
	ctx   context.Context
	log   *slog.Logger
	slots chan struct{} // bounds the communities deciding at once
	// urgent are slots only for work a member waits on (a vote's check): beside a load of
	// other communities' groups, it does not queue behind all of them for a slot.
	urgent chan struct{}
	decide func(ctx context.Context, community string, units []*unit)

	mu     sync.Mutex
	queues map[string][]job
	wg     sync.WaitGroup
}

// job is a decision to make. start begins it: it returns the unit to decide, or nil when
// there is nothing left to decide, and finish, which is told how deciding went (nil when
// nothing was decided) and returns the job's error: an error other than a final one has
// the job tried again.
type job struct {
	what  string
	start func(ctx context.Context) (u *unit, finish func(ctx context.Context, err error) error)
	// urgent: someone waits on it (a member who voted), so it may take an urgent slot.
	urgent bool
}

func newDispatcher(ctx context.Context, parallel int, logger *slog.Logger, decide func(context.Context, string, []*unit)) *dispatcher {
	if parallel < 1 {
		parallel = 1
	}
	return &dispatcher{ctx: ctx, log: logger, slots: make(chan struct{}, parallel), urgent: make(chan struct{}, max(1, parallel/4)),
		decide: decide, queues: map[string][]job{}}
}

// submit queues a job for a community.
func (d *dispatcher) submit(community string, j job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, busy := d.queues[community]
	d.queues[community] = append(q, j)
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
		n := min(len(q), maxGroup)
		batch := q[:n:n]
		d.queues[community] = q[n:] // the key stays: the community is busy
		d.mu.Unlock()

		var urgent chan struct{} // nil, which never takes a slot, unless the batch is urgent
		for _, j := range batch {
			if j.urgent {
				urgent = d.urgent
			}
		}
		slots := d.slots
		select {
		case d.slots <- struct{}{}:
		case urgent <- struct{}{}:
			slots = urgent
		case <-d.ctx.Done():
			return
		}
		d.run(community, batch)
		<-slots
	}
}

// run decides a batch of jobs together, and retries those that failed, each on its own.
func (d *dispatcher) run(community string, jobs []job) {
	type started struct {
		j      job
		u      *unit
		finish func(context.Context, error) error
	}
	var all []started
	var units []*unit
	for _, j := range jobs {
		u, finish := j.start(d.ctx)
		all = append(all, started{j, u, finish})
		if u != nil {
			units = append(units, u)
		}
	}
	if len(units) > 0 {
		d.decide(d.ctx, community, units)
	}
	for _, s := range all {
		if err := finishJob(d.ctx, s.u, s.finish); err != nil && d.ctx.Err() == nil {
			d.retry(community, s.j, err)
		}
	}
}

func finishJob(ctx context.Context, u *unit, finish func(context.Context, error) error) error {
	if finish == nil {
		return nil
	}
	var err error
	if u != nil {
		err = u.err
	}
	return finish(ctx, err)
}

// retry runs a job that failed again, alone, with backoff, a few times.
func (d *dispatcher) retry(community string, j job, err error) {
	if isFinal(err) {
		d.log.Warn("decision failed; the re-check schedule will try again", "what", j.what, "err", err)
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		delay := 50 * time.Millisecond
		for attempt := 2; ; attempt++ {
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(delay):
			}
			delay *= 2
			u, finish := j.start(d.ctx)
			if u != nil {
				d.decide(d.ctx, community, []*unit{u})
			}
			err := finishJob(d.ctx, u, finish)
			if err == nil || d.ctx.Err() != nil {
				return
			}
			if attempt == 5 || isFinal(err) {
				d.log.Warn("decision failed; the re-check schedule will try again", "what", j.what, "err", err)
				return
			}
		}
	}()
}

// wait blocks until every started runner has stopped (after the context ends).
func (d *dispatcher) wait() { d.wg.Wait() }
