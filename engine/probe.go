package engine

import (
	"context"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

// probeRecheck checks an open proposal as Recheck does, at the current time, but decides
// nothing and takes no lock. quiet is true when the check would append nothing: the proposal
// stays as it is, and out.OnEvent is what Recheck would report. Otherwise the caller decides
// with Recheck, which checks again from a fresh load under the community's lock. Most timed
// re-checks change nothing, so a community's re-checks are probed in parallel and only the
// few that decide something wait for one another.
func (e *Engine) probeRecheck(ctx context.Context, cmd bus.RecheckProposal) (out evaluation.Outcome, quiet bool, err error) {
	c, err := e.communities.load(ctx, e.store, cmd.CommunityID)
	if err != nil {
		return out, false, err
	}
	// Read, not taken from the proposal cache: a sweep reads each proposal once an
	// interval, and keeping them would only push out the proposals being voted on.
	p, err := LoadProposal(ctx, e.store, cmd.ProposalID)
	if err != nil {
		return out, false, err
	}
	if p.CommunityID != c.ID {
		return out, false, domain.NotFound("proposal %q in community %s", cmd.ProposalID, c.ID)
	}
	var rec *domain.ActionRecord // not read: see evaluation.Loop.Recheck
	if p.BlockRuns[domain.BlockCheck] == 0 {
		if rec, err = LoadAction(ctx, e.store, p.ActionID); err != nil {
			return out, false, err
		}
	}
	out, err = e.loop.Recheck(ctx, c, rec, p, e.now())
	if err != nil {
		return out, false, err
	}
	return out, out.Empty(), nil
}

// probeWorkers is how many timed re-checks one process probes at once.
const probeWorkers = 8

type probe struct {
	cmd     bus.RecheckProposal
	cause   Meta // of the RecheckProposal message
	release func()
}

// runProbes probes the timed re-checks taken from the bus (see probeRecheck) until ctx
// ends. A quiet one is done; one that would decide something, or could not be probed, is
// queued as any re-check is.
func (s *Service) runProbes(ctx context.Context, probes <-chan probe) {
	for range probeWorkers {
		go func() {
			for {
				var pr probe
				select {
				case <-ctx.Done():
					return
				case pr = <-probes:
				}
				out, quiet, err := s.probe(ctx, pr)
				if err == nil && quiet {
					if sched := s.sched.Load(); sched != nil {
						for id, version := range out.OnEvent {
							sched.settled(id, version)
						}
					}
					pr.release()
					continue
				}
				if isFinal(err) {
					s.Log.Info("re-check refused", "community", pr.cmd.CommunityID, "proposal", pr.cmd.ProposalID, "err", err)
					pr.release()
					continue
				}
				s.queueRecheck(pr.cmd.CommunityID, pr.cmd.ProposalID, pr.cause, nil, pr.release)
			}
		}()
	}
}

func (s *Service) probe(ctx context.Context, pr probe) (evaluation.Outcome, bool, error) {
	ctx, span := s.Bus.StartSpan(ctx, "engine recheck proposal", pr.cause.CorrelationID.String())
	defer span.End()
	return s.Engine.probeRecheck(ctx, pr.cmd)
}
