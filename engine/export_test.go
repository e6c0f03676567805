package engine

import (
	"context"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// DecideTogether evaluates recorded actions and records effect results of one community as
// the dispatcher does with the jobs that queued up: in order, in groups.
func DecideTogether(ctx context.Context, e *Engine, communityID string, actionIDs []string, effects []bus.RecordEffectResult) ([]evaluation.Outcome, []error) {
	var units []*unit
	for _, id := range actionIDs {
		units = append(units, e.actionUnit(ctx, communityID, id, NewMeta()))
	}
	for _, cmd := range effects {
		units = append(units, e.effectUnit(ctx, cmd, NewMeta()))
	}
	e.decideUnits(ctx, communityID, units)
	outs, errs := make([]evaluation.Outcome, len(units)), make([]error, len(units))
	for i, u := range units {
		outs[i], errs[i] = u.out, u.err
	}
	return outs, errs
}

// VerifyKeeping is Verify keeping at most streams streams' events at once.
func VerifyKeeping(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, streams int) (AuditReport, error) {
	a := &auditor{loop: loop, states: newStreamCache(store, streams)}
	return a.run(ctx, eventstore.All(ctx, store, eventstore.Start))
}

// Scheduled tells whether the leader's re-check schedule holds the proposal.
func Scheduled(s *Service, proposalID string) bool {
	sched := s.sched.Load()
	if sched == nil {
		return false
	}
	sched.mu.Lock()
	defer sched.mu.Unlock()
	_, ok := sched.entries[proposalID]
	return ok
}
