package engine

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// CloseVote records a platform's close of a proposal's vote (see bus.CloseVote): first its
// final votes, each as CastVote records it (a vote the proposal's vote does not offer, or by
// a member who may not vote, or naming a user the community does not have, is passed over),
// then proposal.vote_closed with the platform's outcome, if any. It never checks the
// proposal; the engine checks it next, as after a vote. Closing a closed vote records
// nothing. A decided proposal refuses it (Conflict), as it refuses a vote.
func (r *Recorder) CloseVote(ctx context.Context, cmd bus.CloseVote, meta Meta) (Recorded, error) {
	if cmd.CommunityID == "" || cmd.ProposalID == "" {
		return Recorded{}, domain.Invalid("close vote: community and proposal are required")
	}
	for _, v := range cmd.Votes {
		_, err := r.CastVote(ctx, bus.CastVote{CommunityID: cmd.CommunityID, ProposalID: cmd.ProposalID, Platform: cmd.Platform, Vote: v}, meta)
		if refusedVote(err) || (v.UserID != "" && domain.ErrorCode(err) == domain.CodeNotFound) {
			// This voter's answer, not the close's (a choice not offered, a member who may
			// not vote), or a close delivered again (the vote is closed already): the
			// others still count, and the close itself says what it finds. A vote naming a
			// community user the community does not have (a connection's member map gone
			// stale) is passed over too, so that one voter cannot hold the close up; an
			// unknown proposal is found below.
			continue
		}
		if err != nil {
			return Recorded{}, fmt.Errorf("close vote on %s: the vote of %s: %w", cmd.ProposalID, voterName(v), err)
		}
	}
	if r.lock != nil {
		defer r.lock(cmd.CommunityID)()
	}
	stream := domain.ProposalStream(cmd.ProposalID)
	var rec Recorded
	err := retry(ctx, nil, "close the vote of "+cmd.ProposalID, func() error {
		p, err := r.takeProposal(ctx, cmd.ProposalID)
		if err != nil {
			return err
		}
		if p.CommunityID != cmd.CommunityID {
			r.keepProposal(p)
			return domain.NotFound("proposal %q in community %s", cmd.ProposalID, cmd.CommunityID)
		}
		if p.Status != domain.StatusProposed {
			r.keepProposal(p)
			return domain.Conflict("proposal %s is decided (%s): its vote closes with it", p.ID, p.Status)
		}
		evs, err := p.DecideCloseVote(domain.CloseVote{Outcome: cmd.Outcome}, r.now())
		if err != nil {
			r.keepProposal(p)
			return err
		}
		if err := Append(ctx, r.Store, stream, p.Version, evs, meta); err != nil {
			return err // p is dropped: the next take reads the stream again
		}
		for _, e := range evs {
			p.Apply(e)
		}
		rec = Recorded{Stream: stream, Version: p.Version, Changed: len(evs) > 0}
		r.keepProposal(p)
		return nil
	})
	return rec, err
}

func voterName(v domain.Vote) string {
	if v.UserID != "" {
		return v.UserID
	}
	return v.Username
}

func (s *Service) onCloseVote(msg *message.Message) error {
	cmd, err := decode[bus.CloseVote](msg)
	if err != nil {
		return err
	}
	meta := metaOf(msg)
	rec, err := s.Engine.Recorder().CloseVote(msg.Context(), cmd, meta)
	if domain.ErrorCode(err) == domain.CodeConflict || domain.ErrorCode(err) == domain.CodeInvalid {
		// The proposal was decided before its poll closed, or the command is malformed:
		// retrying changes nothing.
		s.Log.Info("close vote refused", "message", msg.UUID, "community", cmd.CommunityID,
			"proposal", cmd.ProposalID, "code", domain.ErrorCode(err), "err", err)
		return nil
	}
	if err != nil {
		return s.handled(msg, err)
	}
	if rec.Changed { // the close wakes its proposal, as a vote does
		s.recheck(cmd.CommunityID, cmd.ProposalID, meta, &rec)
	}
	return nil
}
