package engine

import (
	"context"
	"sync"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// The steps of a group are made one after the other, each on the state the ones before it
// left; but most of a step's time is spent waiting, on the sandbox's workers and on reads of
// the log, and most steps of a group (different actions, different proposals) have nothing
// to do with one another. So the steps of a group are first all made at once, each on the
// state the group starts from, noting every stream it reads (optimistic concurrency). Then,
// one after the other as before, a step whose guess read no stream that a step before it in
// the group changed, while the community itself is unchanged, has its guess taken as it is:
// it is what the step would have decided in its turn. Any other step is made again in its
// turn. Waiting steps share the sandbox's round trips this way, and a community's steps
// wait side by side instead of in a row.

// guess is a step made ahead of its turn.
type guess struct {
	env   *stepEnv
	out   evaluation.Outcome
	err   error
	reads *readSet
}

// guessAll makes every unit's step at once on c and the log as they stand.
func (e *Engine) guessAll(units []*unit, c *domain.Community) []guess {
	gs := make([]guess, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		if u.ctx.Err() != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reads := &readSet{Store: e.store, streams: map[string]bool{}}
			env, out, err := e.runStep(u, reads, c)
			gs[i] = guess{env: env, out: out, err: err, reads: reads}
		}()
	}
	wg.Wait()
	return gs
}

// holds tells whether the guess is what the step decides in its turn: nothing it read,
// took on trust or changes is among what the group changed before it.
func (g *guess) holds(pending *overlay) bool {
	if g.env == nil { // not made: its caller had left
		return false
	}
	if len(pending.pending) == 0 {
		return true
	}
	if g.reads.all() {
		return false
	}
	for stream := range g.reads.streams {
		if len(pending.pending[stream]) > 0 {
			return false
		}
	}
	for stream := range g.env.guessed {
		if len(pending.pending[stream]) > 0 {
			return false
		}
	}
	return !pending.touches(g.out)
}

// changesCommunity tells whether out changes the community's own stream, on which every
// step of the community decides.
func changesCommunity(out evaluation.Outcome, communityID string) bool {
	stream := domain.CommunityStream(communityID)
	for _, ch := range out.Changes {
		if ch.Stream == stream && len(ch.Events) > 0 {
			return true
		}
	}
	return false
}

// readSet is a store that notes the streams read through it.
type readSet struct {
	eventstore.Store
	mu      sync.Mutex
	streams map[string]bool
	global  bool // the global log was read
}

func (r *readSet) note(stream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stream == "" {
		r.global = true
		return
	}
	r.streams[stream] = true
}

func (r *readSet) all() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.global
}

func (r *readSet) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	r.note(stream)
	return r.Store.ReadStream(ctx, stream, dir, from, limit)
}

func (r *readSet) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	r.note("")
	return r.Store.ReadAll(ctx, after, limit)
}

func (r *readSet) Subscribe(ctx context.Context, after eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	r.note("")
	return r.Store.Subscribe(ctx, after, handle)
}
