package engine

import (
	"context"
	"sync"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// proposals keeps the folded state of the proposals the engine recorded or decided on last,
// so that recording a vote or checking a proposal reads only the events appended to its
// stream since (usually none), instead of reading and decoding every vote cast so far. The
// log stays the truth: take always asks the store for newer events, and an append made on
// stale state loses its version race and is decided again from a fresh read.
//
// A state is lent out whole (take removes it) and given back with keep once what the caller
// decided with it is in the log, so that no copy of a proposal with thousands of votes is
// made per vote, and no two callers ever share one. A caller that fails just does not give
// it back: the next take reads the stream again.
type proposals struct {
	mu    sync.Mutex
	state map[string]*domain.Proposal
}

// maxProposals bounds what proposals keeps: it forgets everything when full.
const maxProposals = 1000

// take returns the proposal's current state, which the caller owns and may change. A
// proposal that was never opened is NotFound.
func (ps *proposals) take(ctx context.Context, store eventstore.Store, id string) (*domain.Proposal, error) {
	ps.mu.Lock()
	p := ps.state[id]
	delete(ps.state, id)
	ps.mu.Unlock()
	if p == nil {
		p = &domain.Proposal{}
	}
	if err := foldAfter(ctx, store, domain.ProposalStream(id), p.Version, p.Apply); err != nil {
		return nil, err
	}
	if !p.Opened() {
		return nil, domain.NotFound("proposal %q", id)
	}
	return p, nil
}

// keep gives back a state from take whose every applied event is in the log. A newer
// state kept meanwhile wins.
func (ps *proposals) keep(p *domain.Proposal) {
	if p == nil || !p.Opened() {
		return
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.state == nil || len(ps.state) >= maxProposals {
		ps.state = map[string]*domain.Proposal{}
	}
	if cur := ps.state[p.ID]; cur == nil || cur.Version < p.Version {
		ps.state[p.ID] = p
	}
}
