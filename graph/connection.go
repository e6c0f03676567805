package graph

import (
	"context"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
)

// proposalConnection reads one page of a community's proposals as a Relay connection and
// primes the request's loaders with them; it lists only what the caller may view. first
// defaults to 20 and must be 1..MaxPageSize. asOf, when set, makes each proposal's status,
// decision and votes those it had then (filter.status included).
func (r *Resolver) proposalConnection(ctx context.Context, communityID string, filter *model.ProposalFilter, first *int, after *string, asOf *time.Time) (*model.ProposalConnection, error) {
	m, err := viewer(ctx, communityID)
	if err != nil {
		return nil, err
	}
	n := 20
	if first != nil {
		n = *first
	}
	if n < 1 || n > MaxPageSize {
		return nil, domain.Invalid("first must be between 1 and %d, not %d", MaxPageSize, n)
	}
	var f model.ProposalFilter
	if filter != nil {
		f = *filter
	}
	var cursor string
	if after != nil {
		cursor = *after
	}
	page, more, err := r.read.proposalPage(ctx, communityID, viewFilterOf(m), f, n, cursor, asOf)
	if err != nil {
		return nil, err
	}
	if asOf != nil {
		for i := range page {
			page[i] = proposalAsOf(page[i], *asOf)
		}
	}
	r.loadersOf(ctx).primeProposals(page...)
	conn := &model.ProposalConnection{Edges: make([]model.ProposalEdge, len(page)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for i := range page {
		conn.Edges[i] = model.ProposalEdge{Cursor: encodeCursor(page[i]), Node: &page[i]}
	}
	if len(page) > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[len(page)-1].Cursor
	}
	return conn, nil
}

// proposalAsOf is p as it stood at asOf: undecided if it was decided later.
func proposalAsOf(p model.Proposal, asOf time.Time) model.Proposal {
	at := asOf
	p.AsOf = &at
	if p.DecidedAt != nil && p.DecidedAt.After(asOf) {
		p.Status, p.DecidedAt, p.Reason = model.ProposalStatusProposed, nil, ""
	}
	return p
}

// until keeps the items whose time (at) is not after asOf; all of them when asOf is nil.
func until[T any](asOf *time.Time, items []T, at func(T) time.Time) []T {
	if asOf == nil {
		return items
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if !at(it).After(*asOf) {
			out = append(out, it)
		}
	}
	return out
}
