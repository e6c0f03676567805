package engine

import (
	"context"
	"sync"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// actions keeps the folded state of the actions the engine recorded or decided on last, so
// that deciding an action it has just recorded, and recording the results of its effects,
// read only the events appended to its stream since (usually none) instead of reading and
// decoding the action again, its fields and all. It lends states out whole as proposals does.
type actions struct {
	mu    sync.Mutex
	state map[string]*domain.ActionRecord
}

// maxActions bounds what actions keeps: it forgets everything when full.
const maxActions = 4096

// take returns the action's current state (an empty record when it was never recorded),
// which the caller owns and may change.
func (as *actions) take(ctx context.Context, store eventstore.Store, id string) (*domain.ActionRecord, error) {
	as.mu.Lock()
	r := as.state[id]
	delete(as.state, id)
	as.mu.Unlock()
	if r == nil {
		r = &domain.ActionRecord{}
	}
	if err := foldAfter(ctx, store, domain.ActionStream(id), r.Version, r.Apply); err != nil {
		return nil, err
	}
	return r, nil
}

// keep gives back a state from take whose every applied event is in the log. A newer state
// kept meanwhile wins.
func (as *actions) keep(id string, r *domain.ActionRecord) {
	if r == nil || r.Version == 0 {
		return
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.state == nil || len(as.state) >= maxActions {
		as.state = map[string]*domain.ActionRecord{}
	}
	if cur := as.state[id]; cur == nil || cur.Version < r.Version {
		as.state[id] = r
	}
}
