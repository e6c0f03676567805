package engine

import (
	"context"
	"sync"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// communities keeps the folded state of each community the engine has loaded, so that a
// load reads only the events appended to the community stream since (usually none) instead
// of reading and decoding the whole stream for every command. The log stays the truth: every
// load asks the store for newer events, and an append made on stale state loses its version
// race and is decided again from a fresh load.
type communities struct {
	mu sync.Mutex
	// state holds one community each, never changed once stored: loads hand out copies.
	state map[string]*domain.Community
}

// load returns the community's current state, which the caller owns and may change.
func (cs *communities) load(ctx context.Context, store eventstore.Store, id string) (*domain.Community, error) {
	c, err := cs.current(ctx, store, id)
	if err != nil {
		return nil, err
	}
	return c.Clone(), nil
}

// current returns the community's current state, shared: the caller must not change it.
// Copying a community costs as much as its members; recording a vote only reads it.
func (cs *communities) current(ctx context.Context, store eventstore.Store, id string) (*domain.Community, error) {
	cs.mu.Lock()
	cached := cs.state[id]
	cs.mu.Unlock()
	c := cached
	if c == nil {
		c = &domain.Community{}
	}
	if err := foldAfter(ctx, store, domain.CommunityStream(id), c.Version, func(e domain.Event) {
		if c == cached {
			c = cached.Clone() // the cached state is shared, never changed
		}
		c.Apply(e)
	}); err != nil {
		return nil, err
	}
	if !c.Created() {
		return nil, domain.NotFound("community %q", id)
	}
	if c != cached {
		cs.mu.Lock()
		if cur := cs.state[id]; cur == nil || cur.Version < c.Version {
			if cs.state == nil {
				cs.state = map[string]*domain.Community{}
			}
			cs.state[id] = c
		}
		cs.mu.Unlock()
	}
	return c, nil
}
