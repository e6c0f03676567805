package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// Group commit. A decision's outcome waits for the disk when it is appended; on Postgres that
// is a millisecond or more, and one community's decisions are made one after the other. So
// the decisions of one community that are waiting together are made one after the other in
// memory, each against the state the ones before it left, and appended together in one
// AppendMulti: one commit for the group. Each keeps its own events, its own cause and its own
// expected versions, so the log reads as if they had been appended one by one (the audit
// re-runs each on its own, reading a decision as the run of events of its cause, which is why
// a store must keep the order of an append's parts for this: see
// eventstore.OrderedAppender). A lost version race sends each decision of the group back to be
// decided alone, as it would have been without the group.

// unit is one step of the evaluation loop to decide for a community: an action to evaluate,
// a proposal to check, an effect's result to record.
type unit struct {
	ctx  context.Context // the caller's, for what the step itself does (traces)
	what string
	meta Meta
	step stepFunc

	out evaluation.Outcome
	err error
}

// stepFunc decides one unit against env.
type stepFunc func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error)

// stepEnv is what a step decides with: the community (the step's own copy, which the loop
// changes as it decides), a store whose reads include what the group decided before the step
// and has not appended yet, and the clock.
type stepEnv struct {
	store eventstore.Store
	c     *domain.Community
	now   time.Time
	// committed runs once the step's outcome is in the log (it keeps caches up to date:
	// a cache must never hold state the log might not get).
	committed []func()
	// trust lets the step decide on the states the engine keeps of streams it wrote last
	// without a round trip to the log to ask for newer events (see states.takeIn); guessed
	// holds the versions it so took of each stream.
	trust   bool
	guessed map[string]int64
}

func (env *stepEnv) onCommit(f func()) { env.committed = append(env.committed, f) }

func (env *stepEnv) guess(stream string, version int64) {
	if env.guessed == nil {
		env.guessed = map[string]int64{}
	}
	env.guessed[stream] = version
}

// confirmed tells whether the step's answer stands on what the log holds. A state taken
// on trust may be stale (another engine appended since): an outcome that appends to each
// such stream at the version taken says so itself, since its append would lose the version
// race. A refusal, or an outcome that leaves such a stream alone, would not: the step is
// then made again from a read of the log.
func (env *stepEnv) confirmed(out evaluation.Outcome, err error) bool {
	if len(env.guessed) == 0 {
		return true
	}
	if err != nil {
		return false
	}
	for stream, version := range env.guessed {
		if !slices.ContainsFunc(out.Changes, func(ch evaluation.Change) bool {
			return ch.Stream == stream && ch.Expected == version && len(ch.Events) > 0
		}) {
			return false
		}
	}
	return true
}

// runStep runs a unit's step on a copy of c, with trust on the states kept, and again from
// the log when its answer is not confirmed (see stepEnv.confirmed).
func (e *Engine) runStep(u *unit, store eventstore.Store, c *domain.Community) (*stepEnv, evaluation.Outcome, error) {
	env := &stepEnv{store: store, c: c.Clone(), now: e.now(), trust: true}
	out, err := u.step(u.ctx, env)
	if env.confirmed(out, err) {
		return env, out, err
	}
	env = &stepEnv{store: store, c: c.Clone(), now: e.now()}
	out, err = u.step(u.ctx, env)
	return env, out, err
}

// errUnconfirmed: a step's answer rests on a state taken on trust that its outcome does not
// confirm. The state may be stale, as after a lost version race, and the step is made again
// from the log the same way.
var errUnconfirmed = fmt.Errorf("%w: a state taken on trust is not confirmed by the outcome", eventstore.ErrConcurrency)

// maxGroup bounds the decisions appended in one commit.
const maxGroup = 128

// decideUnits decides units of one community in order, in groups of at most maxGroup, and
// sets each unit's outcome or error.
func (e *Engine) decideUnits(ctx context.Context, communityID string, units []*unit) {
	unlock := e.locks.lock(communityID)
	defer unlock()
	size := 1 // a store that may reorder the parts of an append gets one decision at a time
	if o, ok := e.store.(eventstore.OrderedAppender); ok && o.KeepsPartOrder() {
		size = maxGroup
	}
	for len(units) > 0 {
		n := e.decideGroup(ctx, communityID, units[:min(len(units), size)])
		units = units[n:]
	}
}

// decide runs one step for a community and appends its outcome, again from a fresh load
// after a lost version race.
func (e *Engine) decide(ctx context.Context, communityID, what string, meta Meta, step stepFunc) (evaluation.Outcome, error) {
	u := &unit{ctx: ctx, what: what, meta: meta, step: step}
	e.decideUnits(ctx, communityID, []*unit{u})
	return u.out, u.err
}

// decideGroup decides a prefix of units in one commit and returns its length. The prefix
// ends before the first unit whose outcome touches a stream that a unit before it in the
// group changes: that one is decided again after the commit, from the log.
func (e *Engine) decideGroup(ctx context.Context, communityID string, units []*unit) int {
	if len(units) == 1 {
		e.decideAlone(ctx, communityID, units[0], true)
		return 1
	}
	c, err := e.communities.load(ctx, e.store, communityID)
	if err != nil {
		for _, u := range units {
			u.err = err
		}
		return len(units)
	}
	type accepted struct {
		u   *unit
		env *stepEnv
		out evaluation.Outcome
	}
	var (
		group   []accepted
		parts   []eventstore.StreamAppend
		pending = newOverlay(e.store)
		n       int
		guesses = e.guessAll(units, c) // see speculate.go
		changed bool                   // the community: every guess after it is void
	)
	for n = 0; n < len(units); n++ {
		u := units[n]
		if err := u.ctx.Err(); err != nil { // its caller left
			u.err = err
			continue
		}
		var (
			env *stepEnv
			out evaluation.Outcome
		)
		if g := guesses[n]; !changed && g.holds(pending) {
			env, out, err = g.env, g.out, g.err
		} else {
			env, out, err = e.runStep(u, pending, c)
		}
		if err != nil {
			u.err = err // the step's copy of the community may be half changed: dropped
			continue
		}
		if pending.touches(out) {
			break
		}
		own, err := outcomeParts(out, u.meta)
		if err != nil {
			u.err = err
			continue
		}
		pending.add(own, env.now)
		parts = append(parts, own...)
		group = append(group, accepted{u: u, env: env, out: out})
		c = env.c // the next step sees the community as this one left it
		changed = changed || changesCommunity(out, communityID)
	}
	if len(parts) > 0 {
		_, err = e.store.AppendMulti(ctx, parts)
	}
	switch {
	case err == nil:
		for _, a := range group {
			a.u.out = a.out
			for _, f := range a.env.committed {
				f()
			}
		}
	case errors.Is(err, eventstore.ErrConcurrency) || errors.Is(err, eventstore.ErrIdempotency):
		// Another writer changed a stream the group decided on: each decision is made
		// again alone, so that only the ones on that stream decide anew.
		e.log.Debug("group commit lost a version race; deciding its steps one by one", "community", communityID, "steps", len(group))
		for _, a := range group {
			e.decideAlone(ctx, communityID, a.u, false)
		}
	default:
		for _, a := range group {
			a.u.err = fmt.Errorf("append outcome: %w", err)
		}
	}
	return n
}

// decideAlone decides one unit in a commit of its own, again from a fresh load after a lost
// version race. With trust, its first try may decide on kept states (see stepEnv.trust).
func (e *Engine) decideAlone(ctx context.Context, communityID string, u *unit, trust bool) {
	u.out, u.err = evaluation.Outcome{}, nil
	u.err = retry(ctx, e.log, u.what, func() error {
		c, err := e.communities.load(ctx, e.store, communityID)
		if err != nil {
			return err
		}
		env := &stepEnv{store: e.store, c: c, now: e.now(), trust: trust}
		out, err := u.step(u.ctx, env)
		trust = false // a lost race is decided again from the log
		if !env.confirmed(out, err) {
			return errUnconfirmed
		}
		if err != nil {
			return err
		}
		if err := AppendOutcome(ctx, e.store, out, u.meta); err != nil {
			return err
		}
		u.out = out
		for _, f := range env.committed {
			f()
		}
		return nil
	})
}

// outcomeParts encodes an outcome's changes for AppendMulti.
func outcomeParts(out evaluation.Outcome, meta Meta) ([]eventstore.StreamAppend, error) {
	var parts []eventstore.StreamAppend
	for _, ch := range out.Changes {
		if len(ch.Events) == 0 {
			continue
		}
		data, err := encode(ch.Stream, ch.Expected, ch.Events, meta)
		if err != nil {
			return nil, err
		}
		parts = append(parts, eventstore.StreamAppend{Stream: ch.Stream, Expected: eventstore.Exact(ch.Expected), Events: data})
	}
	return parts, nil
}

// overlay is a store whose stream reads include the events a group decided and has not
// appended yet, so that each step of the group sees the ones before it.
type overlay struct {
	eventstore.Store
	pending map[string][]eventstore.RecordedEvent // by stream, in version order
}

func newOverlay(store eventstore.Store) *overlay {
	return &overlay{Store: store, pending: map[string][]eventstore.RecordedEvent{}}
}

// touches reports whether out changes a stream the group has changed already.
func (o *overlay) touches(out evaluation.Outcome) bool {
	for _, ch := range out.Changes {
		if len(ch.Events) > 0 && len(o.pending[ch.Stream]) > 0 {
			return true
		}
	}
	return false
}

func (o *overlay) add(parts []eventstore.StreamAppend, at time.Time) {
	for _, p := range parts {
		base := p.Expected.Code()
		for i, d := range p.Events {
			o.pending[p.Stream] = append(o.pending[p.Stream], eventstore.RecordedEvent{
				ID: d.ID, Stream: p.Stream, Version: base + int64(i) + 1, Type: d.Type, SchemaVersion: d.SchemaVersion,
				Data: d.Data, RecordedAt: at, CausationID: d.CausationID, CorrelationID: d.CorrelationID,
			})
		}
	}
}

// ReadStream reads forward the stream's stored events up to the group's first pending one,
// then the pending ones.
func (o *overlay) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	pend := o.pending[stream]
	if len(pend) == 0 {
		return o.Store.ReadStream(ctx, stream, dir, from, limit)
	}
	if dir != eventstore.Forward {
		return nil, fmt.Errorf("%w: a group's reads of %s go forward", eventstore.ErrInvalid, stream)
	}
	from = max(from, 1)
	base := pend[0].Version - 1
	var out []eventstore.RecordedEvent
	if from <= base {
		evs, err := o.Store.ReadStream(ctx, stream, dir, from, limit)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Version <= base {
				out = append(out, ev)
			}
		}
		if len(out) == limit {
			return out, nil
		}
	}
	for _, ev := range pend {
		if ev.Version >= from && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}
