package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

// groupStore counts multi-stream appends, and fails the first ones it is told to with a
// version conflict (another writer got there first).
type groupStore struct {
	*memory.Store
	mu        sync.Mutex
	multis    int
	conflicts int
}

func (s *groupStore) AppendMulti(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	s.mu.Lock()
	s.multis++
	fail := s.conflicts > 0
	if fail {
		s.conflicts--
	}
	s.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("%w: another writer", eventstore.ErrConcurrency)
	}
	return s.Store.AppendMulti(ctx, parts)
}

func (s *groupStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.multis
}

// proposeAll records actions a1..an.
func proposeAll(t *testing.T, e *engine.Engine, n int) []string {
	t.Helper()
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("a%d", i)
		if err := e.ProposeAction(context.Background(), bus.ProposeAction{Action: rename(id)}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func verifyClean(t *testing.T, store eventstore.Store, e *engine.Engine) engine.AuditReport {
	t.Helper()
	rep, err := engine.Verify(context.Background(), store, e.Loop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 0 {
		m := rep.Mismatches[0]
		t.Fatalf("%d mismatches; first (%s): %s\nwant %v\ngot  %v", len(rep.Mismatches), m.Decision.Kind, m.Reason, m.Want, m.Got)
	}
	return rep
}

// Decisions of one community that wait together are appended in one commit, each under its
// own cause and in a run of its own, so that the audit re-runs each one alone.
func TestWaitingDecisionsShareOneCommit(t *testing.T) {
	ctx := context.Background()
	store := &groupStore{Store: memory.New()}
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED")
	ids := proposeAll(t, e, 20)
	before := store.count()

	outs, errs := engine.DecideTogether(ctx, e, "c1", ids, nil)
	for i := range ids {
		if errs[i] != nil || outs[i].Empty() {
			t.Fatalf("%s: outcome %v, err %v", ids[i], outs[i], errs[i])
		}
	}
	if got := store.count() - before; got != 1 {
		t.Fatalf("20 decisions took %d multi-stream appends, want 1", got)
	}
	for _, id := range ids {
		p, err := engine.LoadProposal(ctx, store, evaluation.DeriveID("proposal", id, "p-vote"))
		if err != nil || !p.Notified {
			t.Fatalf("%s: proposal %+v, %v", id, p, err)
		}
	}
	if rep := verifyClean(t, store, e); rep.Decisions != 20 {
		t.Fatalf("the audit found %d decisions, want 20", rep.Decisions)
	}
}

// A group that loses a version race is decided again one decision at a time: each comes out
// as it would have alone.
func TestAGroupThatLosesARaceIsDecidedOneByOne(t *testing.T) {
	ctx := context.Background()
	store := &groupStore{Store: memory.New()}
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED")
	ids := proposeAll(t, e, 5)
	before := store.count()
	store.conflicts = 1

	_, errs := engine.DecideTogether(ctx, e, "c1", ids, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", ids[i], err)
		}
	}
	if got := store.count() - before; got != 1+5 {
		t.Fatalf("%d multi-stream appends, want the failed group and one for each decision (6)", got)
	}
	verifyClean(t, store, e)
}

// A decision on a stream that an earlier decision of the group changed is made after the
// group's commit, from the log: the same action twice is decided once, and an effect's
// result recorded after the decision that requested it sees that decision.
func TestAGroupEndsBeforeADecisionOnAStreamItChanged(t *testing.T) {
	ctx := context.Background()
	store := &groupStore{Store: memory.New()}
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "return PASSED")
	ids := proposeAll(t, e, 3)

	outs, errs := engine.DecideTogether(ctx, e, "c1", []string{"a1", "a2", "a1", "a3"}, nil)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("decision %d: %v", i, err)
		}
	}
	if outs[0].Empty() || !outs[2].Empty() {
		t.Fatalf("a1 decided twice or not at all: first %v, second %v", outs[0], outs[2])
	}
	for _, id := range ids {
		pid := evaluation.DeriveID("proposal", id, "p-vote")
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil || p.Status != domain.StatusPassed {
			t.Fatalf("%s: %+v, %v", id, p, err)
		}
		evs, _ := engine.ReadStream(ctx, store, domain.ProposalStream(pid))
		if evs[0].Type != domain.EventProposalOpened || countType(evs, domain.EventProposalOpened) != 1 {
			t.Fatalf("%s: proposal stream %v", id, evs)
		}
	}
	verifyClean(t, store, e)
}

func countType(evs []eventstore.RecordedEvent, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
