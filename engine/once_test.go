package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
)

// countingEvaluator counts the policy blocks it runs, by block.
type countingEvaluator struct {
	ev evaluation.Evaluator
	mu sync.Mutex
	n  map[policy.Block]int
}

func (c *countingEvaluator) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	c.mu.Lock()
	c.n[in.Block]++
	c.mu.Unlock()
	return c.ev.Evaluate(ctx, in)
}

func (c *countingEvaluator) count(b policy.Block) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[b]
}

// An action proposed on the bus is evaluated once: by its command, and not again when the
// forwarder brings its ActionProposed back from the log. A vote wakes one check, not a
// second one when its VoteCast comes back.
func TestServiceEvaluatesEachCauseOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED\nreturn PROPOSED")
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &countingEvaluator{ev: rt, n: map[policy.Block]int{}}
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	decided := &engine.MemoryDecided{}
	cps := &memCheckpoints{}
	svc := &engine.Service{Engine: engine.New(store, evaluation.New(ev, time.Hour), nil, func() time.Time { return t0 }),
		Store: store, Bus: b, Checkpoints: cps, Decided: decided, Tick: time.Hour}
	// forwarded: the forwarder has published the whole log to the bus.
	forwarded := func() bool {
		pos, _ := cps.Load(ctx, "forwarder")
		evs, err := store.ReadAll(ctx, pos, 1)
		return err == nil && len(evs) == 0
	}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()

	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	// The forwarded ActionProposed waits in the community's queue of decisions, before the
	// vote's check: by the time the proposal passes it has been passed over (or, were it
	// decided again, run its filter a second time).
	eventually(t, "the action decided and its event forwarded", func() bool {
		v, _ := decided.DecidedThrough(ctx, domain.ActionStream("a1"))
		p, err := engine.LoadProposal(ctx, store, pid)
		return v >= 1 && err == nil && p.Status == domain.StatusProposed && forwarded()
	})
	publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid,
		Vote: domain.Vote{UserID: "u2", Kind: domain.VoteBoolean, Boolean: true}})
	eventually(t, "the vote recorded and forwarded", func() bool {
		p, err := engine.LoadProposal(ctx, store, pid)
		return err == nil && len(p.YesVotes()) == 1 && forwarded()
	})
	// Another action's decision comes after the forwarded vote's in the community's queue.
	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a2")})
	eventually(t, "the second action decided", func() bool {
		_, err := engine.LoadProposal(ctx, store, evaluation.DeriveID("proposal", "a2", "p-vote"))
		return err == nil
	})
	cancel()
	if n := ev.count(policy.BlockInitialize); n != 2 {
		t.Errorf("initialize ran %d times, want once for each action", n)
	}
	if n := ev.count(policy.BlockCheck); n != 3 {
		t.Errorf("the check ran %d times, want three: when each action was proposed, and after the vote", n)
	}
}
