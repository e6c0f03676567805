package engine

import (
	"context"
	"sync"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// states keeps the folded state of the streams the engine recorded or decided on last (an
// action's, a proposal's), so that the next step on one reads only the events appended to
// its stream since (usually none), instead of reading and decoding it whole: the votes of a
// proposal, the fields of an action. The log stays the truth: an append made on stale
// state loses its version race and is decided again from a fresh read.
//
// A state is lent out whole (take removes it) and given back with keep once what the caller
// decided with it is in the log, so that no copy of a proposal with thousands of votes is
// made per vote, and no two callers ever share one. A caller that fails just does not give
// it back: the next take reads the stream again.
type states[S folded] struct {
	mu    sync.Mutex
	state map[string]S
	max   int                    // when full, it forgets a quarter of what it keeps, at random
	kind  func(id string) string // the stream of id
	blank func() S
}

// folded is a stream's state as the engine folds it.
type folded interface {
	Apply(domain.Event)
	StreamVersion() int64
}

// pop removes and returns the kept state of id.
func (ss *states[S]) pop(id string) (S, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.state[id]
	delete(ss.state, id)
	return s, ok
}

// take returns id's current state (a blank one when its stream is empty), which the caller
// owns and may change.
func (ss *states[S]) take(ctx context.Context, store eventstore.Store, id string) (S, error) {
	s, ok := ss.pop(id)
	if !ok {
		s = ss.blank()
	}
	if err := foldAfter(ctx, store, ss.kind(id), s.StreamVersion(), s.Apply); err != nil {
		var none S
		return none, err
	}
	return s, nil
}

// takeIn is take for a step. A step that trusts kept states (see stepEnv.trust) gets the
// kept one as it is, without asking the log for newer events. That is noted as a guess,
// which the step's outcome must confirm by appending to the stream at that version (see
// stepEnv.confirmed).
func (ss *states[S]) takeIn(ctx context.Context, env *stepEnv, id string) (S, error) {
	if !env.trust {
		return ss.take(ctx, env.store, id)
	}
	s, ok := ss.pop(id)
	if !ok {
		return ss.take(ctx, env.store, id)
	}
	env.guess(ss.kind(id), s.StreamVersion())
	return s, nil
}

// keep gives back a state from take whose every applied event is in the log. A newer state
// kept meanwhile wins; a blank one is not kept.
func (ss *states[S]) keep(id string, s S) {
	if s.StreamVersion() == 0 {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.state == nil {
		ss.state = map[string]S{}
	}
	if len(ss.state) >= ss.max {
		// Map order is random: the states of a burst in flight mostly stay.
		drop := max(1, ss.max/4)
		for k := range ss.state {
			if drop--; drop < 0 {
				break
			}
			delete(ss.state, k)
		}
	}
	if cur, ok := ss.state[id]; !ok || cur.StreamVersion() < s.StreamVersion() {
		ss.state[id] = s
	}
}

// proposals keeps proposals' states between their votes and checks.
type proposals struct{ states[*domain.Proposal] }

// actions keeps actions' states from their recording to their decision and effects.
type actions struct{ states[*domain.ActionRecord] }

func newProposals() *proposals {
	return &proposals{states[*domain.Proposal]{max: 1000, kind: domain.ProposalStream, blank: func() *domain.Proposal { return &domain.Proposal{} }}}
}

func newActions() *actions {
	return &actions{states[*domain.ActionRecord]{max: 4096, kind: domain.ActionStream, blank: func() *domain.ActionRecord { return &domain.ActionRecord{} }}}
}

// open is take for a proposal: one that was never opened is NotFound.
func (ps *proposals) open(ctx context.Context, store eventstore.Store, id string) (*domain.Proposal, error) {
	p, err := ps.take(ctx, store, id)
	if err == nil && !p.Opened() {
		return nil, domain.NotFound("proposal %q", id)
	}
	return p, err
}
