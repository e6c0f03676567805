package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/graph/model"
)

// ballots are what the votes a proposal started offer, folded from its stream (the read
// models do not keep them). Under community(asOf:) they are those started by then.
func (r *Resolver) ballots(ctx context.Context, obj *model.Proposal) ([]model.Ballot, error) {
	p, err := r.domainProposal(ctx, obj)
	if err != nil {
		return nil, err
	}
	out := make([]model.Ballot, 0, len(p.Ballots))
	for _, b := range p.Ballots {
		opts := b.Options
		if opts == nil {
			opts = []string{}
		}
		out = append(out, model.Ballot{Kind: b.Kind, Options: opts})
	}
	return out, nil
}

// canVote says whether the caller's user may vote on the proposal now: what the engine
// checks when the vote is cast (the vote permission, a pending proposal, an open vote), so
// a page offers no vote the engine would refuse. Under community(asOf:) nothing is votable.
func (r *Resolver) canVote(ctx context.Context, obj *model.Proposal) (bool, error) {
	if obj.AsOf != nil || obj.Status != model.ProposalStatusProposed {
		return false, nil
	}
	m, err := member(ctx, obj.CommunityID)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			return false, err
		}
		return false, nil
	}
	if !m.Can(domain.VerbVote, obj.ActionType, domain.Kind(obj.ActionKind)) {
		return false, nil
	}
	p, err := r.domainProposal(ctx, obj)
	if err != nil {
		return false, err
	}
	return !p.Decided() && !p.VoteClosed, nil
}

// domainProposal folds the proposal's stream (up to obj.AsOf when set), once per request
// for both fields.
func (r *Resolver) domainProposal(ctx context.Context, obj *model.Proposal) (*domain.Proposal, error) {
	key := "proposal " + obj.ID
	if obj.AsOf != nil {
		key += " " + obj.AsOf.Format(time.RFC3339Nano)
	}
	return memoize(r.loadersOf(ctx).folds, key, func() (*domain.Proposal, error) {
		if obj.AsOf == nil {
			return engine.LoadProposal(ctx, r.deps.Store, obj.ID)
		}
		evs, err := engine.ReadStream(ctx, r.deps.Store, domain.ProposalStream(obj.ID))
		if err != nil {
			return nil, err
		}
		p := &domain.Proposal{}
		for _, ev := range evs {
			e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil {
				return nil, fmt.Errorf("read %s@%d: %w", ev.Stream, ev.Version, err)
			}
			if eventTime(ev, e).After(*obj.AsOf) {
				break
			}
			p.Apply(e)
		}
		return p, nil
	})
}
