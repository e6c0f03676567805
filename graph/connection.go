package graph

import (
	"context"
	"time"

	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/identity"
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
	n, err := pageSize(first, 20)
	if err != nil {
		return nil, err
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

// memberConnection is Community.members: a page of the members, now or as of then.
func (r *Resolver) memberConnection(ctx context.Context, c *model.Community, first *int, after *string) (*model.MemberConnection, error) {
	p, err := pageOf[memberKey](first, listPage, after)
	if err != nil {
		return nil, err
	}
	var page []model.Member
	var more bool
	if c.AsOf != nil {
		then, err := r.communityAsOf(ctx, c)
		if err != nil {
			return nil, err
		}
		page, more = slice(membersOf(then), p, memberKeyOf)
	} else if page, more, err = r.read.members(ctx, c.ID, p); err != nil {
		return nil, err
	}
	edges, info := connection(page, more, memberKeyOf, func(cursor string, m *model.Member) model.MemberEdge {
		return model.MemberEdge{Cursor: cursor, Node: m}
	})
	return &model.MemberConnection{Edges: edges, PageInfo: info}, nil
}

// roleConnection is Community.roles: a page of the roles, now or as of then.
func (r *Resolver) roleConnection(ctx context.Context, c *model.Community, first *int, after *string) (*model.RoleConnection, error) {
	p, err := pageOf[nameKey](first, listPage, after)
	if err != nil {
		return nil, err
	}
	var page []model.Role
	var more bool
	if c.AsOf != nil {
		then, err := r.communityAsOf(ctx, c)
		if err != nil {
			return nil, err
		}
		page, more = slice(rolesOf(then), p, roleKeyOf)
	} else if page, more, err = r.read.roles(ctx, c.ID, p); err != nil {
		return nil, err
	}
	edges, info := connection(page, more, roleKeyOf, func(cursor string, ro *model.Role) model.RoleEdge {
		return model.RoleEdge{Cursor: cursor, Node: ro}
	})
	return &model.RoleConnection{Edges: edges, PageInfo: info}, nil
}

// documentConnection is Community.documents: a page of the documents, now or as of then.
func (r *Resolver) documentConnection(ctx context.Context, c *model.Community, first *int, after *string) (*model.DocumentConnection, error) {
	p, err := pageOf[timeKey](first, listPage, after)
	if err != nil {
		return nil, err
	}
	var page []model.Document
	var more bool
	if c.AsOf != nil {
		then, err := r.communityAsOf(ctx, c)
		if err != nil {
			return nil, err
		}
		page, more = slice(documentsOf(then), p, documentKeyOf)
	} else if page, more, err = r.read.documents(ctx, c.ID, p); err != nil {
		return nil, err
	}
	edges, info := connection(page, more, documentKeyOf, func(cursor string, d *model.Document) model.DocumentEdge {
		return model.DocumentEdge{Cursor: cursor, Node: d}
	})
	return &model.DocumentConnection{Edges: edges, PageInfo: info}, nil
}

// policyConnection is Community.policies: a page of the policies, now or as of then. It
// primes the request's loaders with the page's policies, whose versions the request may ask
// for.
func (r *Resolver) policyConnection(ctx context.Context, c *model.Community, first *int, after *string) (*model.PolicyConnection, error) {
	p, err := pageOf[policyKey](first, listPage, after)
	if err != nil {
		return nil, err
	}
	var page []model.Policy
	var more bool
	if c.AsOf != nil {
		then, err := r.communityAsOf(ctx, c)
		if err != nil {
			return nil, err
		}
		all, err := policiesOf(then, c.AsOf)
		if err != nil {
			return nil, err
		}
		page, more = slice(all, p, policyKeyOf)
	} else if page, more, err = r.read.policies(ctx, c.ID, p); err != nil {
		return nil, err
	}
	owners := make([]string, len(page))
	for i, pol := range page {
		owners[i] = policyOwner(c.ID, pol.ID)
	}
	r.loadersOf(ctx).versions.prime(owners...)
	edges, info := connection(page, more, policyKeyOf, func(cursor string, pol *model.Policy) model.PolicyEdge {
		return model.PolicyEdge{Cursor: cursor, Node: pol}
	})
	return &model.PolicyConnection{Edges: edges, PageInfo: info}, nil
}

// versionConnection is Policy.versions: a page of the policy's history, up to its AsOf
// when set.
func (r *Resolver) versionConnection(ctx context.Context, p *model.Policy, first *int, after *string) (*model.PolicyVersionConnection, error) {
	args, err := pageArgsOf[seqKey](first, nestedPage, after, p.AsOf)
	if err != nil {
		return nil, err
	}
	items, err := r.loadersOf(ctx).versions.load(ctx, policyOwner(p.CommunityID, p.ID), args)
	if err != nil {
		return nil, err
	}
	edges, info := keyedConnection(items, args.n, func(cursor string, v *model.PolicyVersion) model.PolicyVersionEdge {
		return model.PolicyVersionEdge{Cursor: cursor, Node: v}
	})
	return &model.PolicyVersionConnection{Edges: edges, PageInfo: info}, nil
}

// effectConnection is Proposal.effects: a page of the effects it requested (by its AsOf,
// when set).
func (r *Resolver) effectConnection(ctx context.Context, p *model.Proposal, first *int, after *string) (*model.EffectConnection, error) {
	args, err := pageArgsOf[timeKey](first, nestedPage, after, p.AsOf)
	if err != nil {
		return nil, err
	}
	items, err := r.loadersOf(ctx).effects.load(ctx, p.ID, args)
	if err != nil {
		return nil, err
	}
	edges, info := keyedConnection(items, args.n, func(cursor string, e *model.Effect) model.EffectEdge {
		return model.EffectEdge{Cursor: cursor, Node: e}
	})
	return &model.EffectConnection{Edges: edges, PageInfo: info}, nil
}

// evaluationLogConnection is Proposal.evaluationLogs: a page of its recorded block runs
// (by its AsOf, when set).
func (r *Resolver) evaluationLogConnection(ctx context.Context, p *model.Proposal, first *int, after *string) (*model.EvaluationLogConnection, error) {
	args, err := pageArgsOf[seqKey](first, nestedPage, after, p.AsOf)
	if err != nil {
		return nil, err
	}
	items, err := r.loadersOf(ctx).logs.load(ctx, p.ID, args)
	if err != nil {
		return nil, err
	}
	edges, info := keyedConnection(items, args.n, func(cursor string, l *model.EvaluationLog) model.EvaluationLogEdge {
		return model.EvaluationLogEdge{Cursor: cursor, Node: l}
	})
	return &model.EvaluationLogConnection{Edges: edges, PageInfo: info}, nil
}

// apiTokenConnection is Account.apiTokens: a page of the account's tokens, oldest first.
func (r *Resolver) apiTokenConnection(ctx context.Context, a *model.Account, first *int, after *string) (*model.APITokenConnection, error) {
	p, err := pageOf[timeKey](first, listPage, after)
	if err != nil {
		return nil, err
	}
	var from *identity.APIToken
	if p.after != nil {
		from = &identity.APIToken{ID: p.after.ID, CreatedAt: p.after.At}
	}
	ts, err := r.accounts.APITokens(ctx, a.ID, from, p.n+1)
	if err != nil {
		return nil, err
	}
	ts, more := firstN(ts, p.n)
	page := make([]model.APIToken, len(ts))
	for i, t := range ts {
		page[i] = *apiToken(t)
	}
	edges, info := connection(page, more, func(t model.APIToken) timeKey { return timeKey{t.CreatedAt, t.ID} },
		func(cursor string, t *model.APIToken) model.APITokenEdge {
			return model.APITokenEdge{Cursor: cursor, Node: t}
		})
	return &model.APITokenConnection{Edges: edges, PageInfo: info}, nil
}
