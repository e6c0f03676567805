package graph

import (
	"context"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
)

// proposalConnection reads one page of a community's proposals as a Relay connection and
// primes the request's loaders with them; it lists only what the caller may view. first
// defaults to 20 and must be 1..MaxPageSize.
func (r *Resolver) proposalConnection(ctx context.Context, communityID string, filter *model.ProposalFilter, first *int, after *string) (*model.ProposalConnection, error) {
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
	page, more, err := r.read.proposalPage(ctx, communityID, viewFilterOf(m), f, n, cursor)
	if err != nil {
		return nil, err
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
