package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
)

// readCounting is a store that counts the events read from proposal streams.
type readCounting struct {
	*memory.Store
	read atomic.Int64
}

func (s *readCounting) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.Store.ReadStream(ctx, stream, dir, from, limit)
	if domain.StreamCategory(stream) == domain.CategoryProposal {
		s.read.Add(int64(len(evs)))
	}
	return evs, err
}

// Recording a vote reads only what is new on the proposal's stream, not every vote cast
// before it: the last of many votes, and its check, read as little as the first.
func TestAVoteReadsOnlyWhatIsNewOnItsProposal(t *testing.T) {
	ctx := context.Background()
	store := &readCounting{Store: memory.New()}
	const members = 60
	mustSlackCommunity(t, store, members, "return PROPOSED")
	e := mustEngine(t, store)
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	vote := func(i int) int64 {
		before := store.read.Load()
		cmd := bus.CastVote{CommunityID: "c1", ProposalID: pid, Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i), Kind: domain.VoteBoolean, Boolean: true}}
		if _, err := e.RecordVote(ctx, cmd, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recheck(ctx, bus.RecheckProposal{CommunityID: "c1", ProposalID: pid}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		return store.read.Load() - before
	}
	for i := 1; i < members; i++ {
		vote(i)
	}
	if n := vote(members); n > 2 {
		t.Errorf("the %dth vote and its check read %d events of the proposal's stream, want at most 2 (its own, and nothing more)", members, n)
	}
	p, err := engine.LoadProposal(ctx, store, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.YesVotes()) != members {
		t.Errorf("%d yes votes recorded, want %d", len(p.YesVotes()), members)
	}
}

// A vote another engine recorded on the same log is seen by this one's next vote and check.
func TestTwoEnginesVotingOnOneProposalSeeEachOthersVotes(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	mustSlackCommunity(t, store, 4, "if proposal.get_yes_votes().count() >= 4:\n  return PASSED\nreturn PROPOSED")
	a, b := mustEngine(t, store), mustEngine(t, store)
	if err := a.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	for i, e := range []*engine.Engine{a, b, a, b} {
		cmd := bus.CastVote{CommunityID: "c1", ProposalID: pid, Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i+1), Kind: domain.VoteBoolean, Boolean: true}}
		if _, err := e.RecordVote(ctx, cmd, engine.NewMeta()); err != nil {
			t.Fatalf("vote %d: %v", i+1, err)
		}
		if _, err := e.Recheck(ctx, bus.RecheckProposal{CommunityID: "c1", ProposalID: pid}, engine.NewMeta()); err != nil {
			t.Fatalf("check after vote %d: %v", i+1, err)
		}
	}
	p, err := engine.LoadProposal(ctx, store, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusPassed || len(p.YesVotes()) != 4 {
		t.Errorf("proposal %s with %d yes votes, want PASSED with 4", p.Status, len(p.YesVotes()))
	}
}

// gatedDecided holds the first question about a proposal stream until release is closed,
// and with it the check that asked (before it loads the proposal).
type gatedDecided struct {
	engine.MemoryDecided
	release chan struct{}
	held    chan struct{}
	once    sync.Once
}

func (g *gatedDecided) DecidedThrough(ctx context.Context, stream string) (int64, error) {
	if domain.StreamCategory(stream) == domain.CategoryProposal {
		g.once.Do(func() { close(g.held); <-g.release })
	}
	return g.MemoryDecided.DecidedThrough(ctx, stream)
}

// Votes that arrive while their proposal's check waits its turn are checked together, once:
// the check does not run once per vote.
func TestVotesWaitingForOneProposalShareOneCheck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	const votes = 20
	// Never passes: a decided proposal is not checked again, whatever wakes it.
	mustSlackCommunity(t, store, votes, fmt.Sprintf("if proposal.get_yes_votes().count() > %d:\n  return PASSED\nreturn PROPOSED", votes))
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &countingEvaluator{ev: rt, n: map[policy.Block]int{}}
	gate := &gatedDecided{release: make(chan struct{}), held: make(chan struct{})}
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	svc := &engine.Service{Engine: engine.New(store, evaluation.New(ev, time.Hour), nil, func() time.Time { return t0 }),
		Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: time.Hour, Decided: gate,
		// Each vote recorded on its own and its check queued, as on a durable bus: a lone
		// vote on the in-process bus is otherwise checked in its own step.
		SerialVotes: true}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()

	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	load := func() *domain.Proposal {
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil {
			return &domain.Proposal{}
		}
		return p
	}
	eventually(t, "the proposal opened", func() bool { return load().Opened() })
	vote := func(i int) {
		publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i), Kind: domain.VoteBoolean, Boolean: true}})
	}
	vote(1)
	<-gate.held // the first vote's check is about to start, and holds
	for i := 2; i <= votes; i++ {
		vote(i)
	}
	eventually(t, "every vote recorded", func() bool { return len(load().Votes) == votes })
	close(gate.release)
	eventually(t, "every vote checked", func() bool {
		v, _ := gate.MemoryDecided.DecidedThrough(ctx, domain.ProposalStream(pid))
		return v >= load().Version
	})
	cancel()
	// One check when the action was proposed, the held one, one for the votes that waited
	// behind it, and at most a couple more for votes whose wake-up came after that started.
	if n := ev.count(policy.BlockCheck); n > 5 {
		t.Errorf("the check ran %d times for %d votes, want the votes that waited to share one", n, votes)
	}
}

// The audit re-runs a check that several votes woke on the proposal as it stood with all of
// them, and comes out the same.
func TestAuditRederivesChecksSharedByManyVotes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	const votes = 30
	mustSlackCommunity(t, store, votes, fmt.Sprintf("if proposal.get_yes_votes().count() >= %d:\n  return PASSED\nreturn PROPOSED", votes))
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := mustEngine(t, store)
	svc := &engine.Service{Engine: e, Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: time.Hour}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	load := func() *domain.Proposal {
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil {
			return &domain.Proposal{}
		}
		return p
	}
	eventually(t, "the proposal opened", func() bool { return load().Opened() })
	for i := 1; i <= votes; i++ {
		publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i), Kind: domain.VoteBoolean, Boolean: true}})
	}
	eventually(t, "the proposal passed", func() bool { return load().Status == domain.StatusPassed })
	cancel()
	rep, err := engine.Verify(context.Background(), store, e.Loop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) > 0 {
		m := rep.Mismatches[0]
		t.Fatalf("%d of %d decisions come out differently; first (%s): %s\nwant %v\ngot  %v", len(rep.Mismatches), rep.Decisions, m.Decision.Kind, m.Reason, m.Want, m.Got)
	}
	// The passing check is a decision of its own, or, when the last vote came alone, part of
	// that vote's step.
	if rep.Decisions < votes {
		t.Errorf("%d decisions audited, want at least one per vote", rep.Decisions)
	}
}
