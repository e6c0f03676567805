package graph

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/policykit-go/policykit/graph/model"
)

// The N+1 problem: a page of proposals, each with its votes, would read the votes once per
// proposal. Instead, whoever lists proposals (the connection resolver, the single proposal
// queries) primes the request's loaders with their ids, and the first field resolver that
// needs votes loads them for every primed proposal in one statement; the other resolvers
// of the page find theirs loaded. No timing window is involved, so the number of
// statements is the same on every run.

// batch loads values by key for one request, in one fetch for every key primed so far.
// It is safe for the concurrent field resolvers of one request.
type batch[T any] struct {
	mu      sync.Mutex
	pending []string
	loaded  map[string][]T
	fetch   func(ctx context.Context, keys []string) (map[string][]T, error)
}

func newBatch[T any](fetch func(ctx context.Context, keys []string) (map[string][]T, error)) *batch[T] {
	return &batch[T]{loaded: map[string][]T{}, fetch: fetch}
}

// prime announces keys that will be asked for, so that the next load fetches them too.
func (b *batch[T]) prime(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		if _, ok := b.loaded[k]; !ok {
			b.pending = append(b.pending, k)
		}
	}
}

// load returns the values of key, fetching them with every pending key when not loaded
// yet. A failed fetch is not remembered: the next load tries again.
func (b *batch[T]) load(ctx context.Context, key string) ([]T, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.loaded[key]; ok {
		return v, nil
	}
	keys := []string{key}
	for _, k := range b.pending {
		if _, ok := b.loaded[k]; !ok && k != key {
			keys = append(keys, k)
		}
	}
	got, err := b.fetch(ctx, keys)
	if err != nil {
		return nil, err
	}
	b.pending = nil
	for _, k := range keys {
		b.loaded[k] = got[k]
	}
	return b.loaded[key], nil
}

// loaders are one request's batches: a proposal's votes and action, and a page of its
// effects and evaluation logs, and of a policy's versions.
type loaders struct {
	votes    *batch[model.Vote]
	actions  *batch[model.Action]
	effects  *pages[model.Effect, timeKey]
	logs     *pages[model.EvaluationLog, seqKey]
	versions *pages[model.PolicyVersion, seqKey]
	// folds are the request's folds of the log (communities and votes as of then).
	folds *memo
	// verifications counts the request's Proposal.verification (MaxVerifications).
	verifications atomic.Int32
}

func newLoaders(r reader) *loaders {
	return &loaders{
		votes:    newBatch(r.votes),
		actions:  newBatch(r.actions),
		effects:  newPages(r.effects),
		logs:     newPages(r.evaluationLogs),
		versions: newPages(r.policyVersions),
		folds:    &memo{done: map[string]any{}},
	}
}

// memo keeps what one request computed by key. A failed computation is not remembered.
type memo struct {
	mu   sync.Mutex
	done map[string]any
}

// memoize returns the value of key, computing it with compute the first time. Concurrent
// field resolvers asking for the same key wait for one computation.
func memoize[T any](m *memo, key string, compute func() (T, error)) (T, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.done[key]; ok {
		return v.(T), nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	m.done[key] = v
	return v, nil
}

// primeProposals announces the proposals whose relations the request may ask for.
func (l *loaders) primeProposals(ps ...model.Proposal) {
	ids := make([]string, len(ps))
	actionIDs := make([]string, len(ps))
	for i, p := range ps {
		ids[i], actionIDs[i] = p.ID, p.ActionID
	}
	l.votes.prime(ids...)
	l.effects.prime(ids...)
	l.logs.prime(ids...)
	l.actions.prime(actionIDs...)
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// loadersOf returns the request's loaders; a context without them (a resolver called
// outside the handler) gets fresh ones that batch nothing across calls.
func (r *Resolver) loadersOf(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r.read)
}
