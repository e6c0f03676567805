package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// A vote is recorded with one commit, and a commit waits for the disk: on Postgres that
// bounds one proposal to a few hundred votes a second, one after the other. Votes that
// arrive while a commit is under way are recorded together in the next one (group commit),
// each under its own cause, so that the audit still re-runs each vote on its own and a
// redelivered vote finds itself recorded.

// PendingVote is a vote to record in a batch: the command and the metadata of the message
// that brought it.
type PendingVote struct {
	Cmd  bus.CastVote
	Meta Meta
}

// CastVotes records votes on one proposal together, in one append: each vote is checked
// as CastVote checks it, against the proposal as the votes before it in the batch left it,
// and the answer for each is its Recorded or its refusal. A voter the community does not
// know yet is registered and recorded on their own after the others. Votes on other
// proposals than the first one's are refused as Invalid.
func (r *Recorder) CastVotes(ctx context.Context, votes []PendingVote) ([]Recorded, []error) {
	recs, errs := make([]Recorded, len(votes)), make([]error, len(votes))
	if len(votes) == 0 {
		return recs, errs
	}
	communityID, proposalID := votes[0].Cmd.CommunityID, votes[0].Cmd.ProposalID
	var batch []int
	for i, v := range votes {
		if v.Cmd.CommunityID != communityID || v.Cmd.ProposalID != proposalID {
			errs[i] = domain.Invalid("a batch of votes on proposal %s holds a vote on %s", proposalID, v.Cmd.ProposalID)
			continue
		}
		batch = append(batch, i)
	}
	if len(batch) == 1 { // nothing to share a commit with
		i := batch[0]
		recs[i], errs[i] = r.CastVote(ctx, votes[i].Cmd, votes[i].Meta)
		return recs, errs
	}
	newcomers := r.castVoteBatch(ctx, communityID, proposalID, votes, batch, recs, errs)
	for _, i := range newcomers {
		recs[i], errs[i] = r.CastVote(ctx, votes[i].Cmd, votes[i].Meta)
	}
	return recs, errs
}

// castVoteBatch records the votes at indexes batch in one append, filling recs and errs;
// it returns the indexes of votes by members to register first.
func (r *Recorder) castVoteBatch(ctx context.Context, communityID, proposalID string, votes []PendingVote, batch []int, recs []Recorded, errs []error) (newcomers []int) {
	if r.lock != nil {
		defer r.lock(communityID)()
	}
	stream := domain.ProposalStream(proposalID)
	err := retry(ctx, nil, "record votes on "+proposalID, func() error {
		newcomers = newcomers[:0]
		c, err := r.communityView(ctx, communityID)
		if err != nil {
			return err
		}
		p, err := r.takeProposal(ctx, proposalID)
		if err != nil {
			return err
		}
		if p.CommunityID != c.ID {
			r.keepProposal(p)
			return domain.NotFound("proposal %q in community %s", proposalID, c.ID)
		}
		expected := p.Version
		var data []eventstore.EventData
		for _, i := range batch {
			recs[i], errs[i] = Recorded{}, nil
			v, err := voter(c, votes[i].Cmd)
			var nv newVoterError
			if errors.As(err, &nv) {
				newcomers = append(newcomers, i)
				continue
			}
			if err != nil {
				errs[i] = err
				continue
			}
			if u, ok := c.Users[v.UserID]; ok && v.Username == "" {
				v.Username = u.Username
			}
			before := p.Version
			out, err := recordLoop.RecordVote(c, p, v, r.now())
			if err != nil {
				errs[i] = err // a refused vote applies nothing
				continue
			}
			recs[i] = Recorded{Stream: stream, Version: p.Version, Changed: p.Version > before}
			for _, ch := range out.Changes {
				if ch.Stream != stream {
					return fmt.Errorf("record votes on %s: a vote changed %s", proposalID, ch.Stream)
				}
				d, err := encode(stream, ch.Expected, ch.Events, votes[i].Meta)
				if err != nil {
					return err
				}
				data = append(data, d...)
			}
		}
		if len(data) > 0 {
			if _, err := r.Store.Append(ctx, stream, eventstore.Exact(expected), data); err != nil {
				return fmt.Errorf("append votes: %w", err) // p holds them: it is not kept
			}
		}
		r.keepProposal(p)
		return nil
	})
	if err != nil {
		for _, i := range batch {
			recs[i], errs[i] = Recorded{}, err
		}
		return nil
	}
	return newcomers
}

// voteBatches records the votes the engine's handlers take from the bus, those on one
// proposal arriving together in one append: a vote joins its proposal's queue, and whoever
// finds no batch under way records the queue, again and again until it is empty.
type voteBatches struct {
	rec func() *Recorder
	max int

	mu     sync.Mutex
	queues map[string]*voteQueue // by proposal id
}

type voteQueue struct {
	pending []queuedVote
	busy    bool
}

type queuedVote struct {
	PendingVote
	done func(Recorded, error)
}

// add queues v and reports whether the caller is to drain the queue.
func (vb *voteBatches) add(v queuedVote) (*voteQueue, bool) {
	vb.mu.Lock()
	defer vb.mu.Unlock()
	if vb.queues == nil {
		vb.queues = map[string]*voteQueue{}
	}
	vq := vb.queues[v.Cmd.ProposalID]
	if vq == nil {
		vq = &voteQueue{}
		vb.queues[v.Cmd.ProposalID] = vq
	}
	vq.pending = append(vq.pending, v)
	lead := !vq.busy
	vq.busy = true
	return vq, lead
}

// cast records v, in a batch with the votes on its proposal that arrive meanwhile, and
// returns once it is in the log (or refused): a handler of a durable bus acknowledges it then.
func (vb *voteBatches) cast(ctx context.Context, v PendingVote) (Recorded, error) {
	answer := make(chan voteAnswer, 1)
	vq, lead := vb.add(queuedVote{PendingVote: v, done: func(r Recorded, err error) { answer <- voteAnswer{r, err} }})
	if lead {
		vb.drain(ctx, v.Cmd.ProposalID, vq)
	}
	select {
	case a := <-answer:
		return a.rec, a.err
	case <-ctx.Done():
		return Recorded{}, ctx.Err()
	}
}

// post queues v and returns at once; done is called with its answer once it is recorded or
// refused. It is for the in-process bus, which loses what it carries with the process
// anyway: a vote taken from it need not wait for its commit to be acknowledged, so that the
// next votes arrive while it is written and join the next batch.
//
// A vote that finds its proposal's queue idle goes to alone instead, when alone is set, which
// records it and checks the proposal in one step (one commit, where a batch and its check
// take two: a member who votes waits for the decision). The votes that arrive meanwhile
// queue behind it, in order, and are recorded in a batch once alone calls next; next(true)
// puts the vote back at the head of the queue first (alone could not take it).
func (vb *voteBatches) post(ctx context.Context, v PendingVote, done func(Recorded, error), alone func(v PendingVote, next func(requeue bool))) {
	q := queuedVote{PendingVote: v, done: done}
	vq, lead := vb.add(q)
	if !lead {
		return
	}
	if alone == nil {
		go vb.drain(ctx, v.Cmd.ProposalID, vq)
		return
	}
	vb.mu.Lock()
	vq.pending = vq.pending[1:] // v, the only one: the queue was idle
	vb.mu.Unlock()
	alone(v, func(requeue bool) {
		if requeue {
			vb.mu.Lock()
			vq.pending = append([]queuedVote{q}, vq.pending...)
			vb.mu.Unlock()
		}
		go vb.drain(ctx, v.Cmd.ProposalID, vq)
	})
}

type voteAnswer struct {
	rec Recorded
	err error
}

// drain records the queue's votes a batch at a time until it is empty.
func (vb *voteBatches) drain(ctx context.Context, proposalID string, vq *voteQueue) {
	for {
		vb.mu.Lock()
		n := min(len(vq.pending), vb.max)
		if n == 0 {
			vq.busy = false
			delete(vb.queues, proposalID)
			vb.mu.Unlock()
			return
		}
		batch := vq.pending[:n:n]
		vq.pending = vq.pending[n:]
		vb.mu.Unlock()

		votes := make([]PendingVote, len(batch))
		for i, q := range batch {
			votes[i] = q.PendingVote
		}
		recs, errs := vb.rec().CastVotes(ctx, votes)
		for i, q := range batch {
			q.done(recs[i], errs[i])
		}
	}
}
