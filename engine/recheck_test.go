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
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
)

// recheckLog counts the RecheckProposal commands on the bus, and the check evaluations, by
// proposal.
type recheckLog struct {
	ev     evaluation.Evaluator
	mu     sync.Mutex
	sent   map[string]int
	checks map[string]int
}

func (l *recheckLog) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	out := l.ev.Evaluate(ctx, in)
	if in.Block == policy.BlockCheck {
		l.mu.Lock()
		l.checks[in.Proposal.ID]++
		l.mu.Unlock()
	}
	return out
}

func (l *recheckLog) count(m map[string]int, id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return m[id]
}

func (l *recheckLog) follow(t *testing.T, ctx context.Context, b *bus.Bus) {
	msgs, err := b.Subscriber().Subscribe(ctx, bus.CommandTopic(bus.CommandRecheckProposal))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range msgs {
			var cmd bus.RecheckProposal
			if err := domain.DecodeJSON(m.Payload, &cmd); err == nil {
				l.mu.Lock()
				l.sent[cmd.ProposalID]++
				l.mu.Unlock()
			}
			m.Ack()
		}
	}()
}

// A proposal whose check reads only its votes leaves the re-check schedule, and its votes
// still decide it; one whose check reads the clock is re-checked every interval. After a
// restart every open proposal is scheduled again: the one that needs no timed re-check is
// checked once, and then left alone again.
func TestOnlyChecksThatReadTheClockAreRecheckedOnTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED\n"+
		"if action.name == 'timed' and proposal.get_time_elapsed() > datetime.timedelta(days=365):\n  return FAILED\n"+
		"return PROPOSED")
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := &recheckLog{ev: rt, sent: map[string]int{}, checks: map[string]int{}}
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	later := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() } // past the 30 s interval
	e := engine.New(store, evaluation.New(log, 0), nil, clock)
	cps := &memCheckpoints{}
	var svc *engine.Service
	start := func(open engine.OpenProposals) (*bus.Bus, func()) {
		ctx, cancel := context.WithCancel(ctx)
		b, err := bus.Open(ctx, bus.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		log.follow(t, ctx, b)
		svc = &engine.Service{Engine: e, Store: store, Bus: b, Checkpoints: cps, OpenProposals: open, Tick: 20 * time.Millisecond}
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		<-svc.Ready()
		return b, func() { cancel(); <-done; b.Close() }
	}
	forwarded := func() bool { // the forwarder (and so the schedule) has seen the whole log
		var last eventstore.Position
		for ev, err := range eventstore.All(ctx, store, eventstore.Start) {
			if err != nil {
				return false
			}
			last = ev.Position
		}
		at, _ := cps.Load(ctx, engine.ForwarderCheckpoint)
		return !at.Less(last)
	}

	b, stop := start(nil)
	timed, still := rename("a-timed"), rename("a-still")
	timed.Fields = map[string]any{"name": "timed", "channel": "C1"}
	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: timed})
	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: still})
	pTimed, pStill := evaluation.DeriveID("proposal", "a-timed", "p-vote"), evaluation.DeriveID("proposal", "a-still", "p-vote")
	eventually(t, "both proposals opened and forwarded", func() bool {
		_, err1 := engine.LoadProposal(ctx, store, pTimed)
		_, err2 := engine.LoadProposal(ctx, store, pStill)
		return err1 == nil && err2 == nil && forwarded()
	})
	if p, _ := engine.LoadProposal(ctx, store, pStill); !p.CheckOnEvent {
		t.Fatal("a check reading only votes was recorded as needing timed re-checks")
	}
	for round := 1; round <= 2; round++ {
		later()
		eventually(t, "the timed proposal re-checked", func() bool { return log.count(log.sent, pTimed) >= round })
	}
	if n := log.count(log.sent, pStill); n != 0 {
		t.Fatalf("a proposal that needs no timed re-check was re-checked %d times", n)
	}
	stop()

	// A restart: the leader schedules every open proposal again.
	b, stop = start(func(context.Context) ([]engine.ProposalRef, error) {
		return []engine.ProposalRef{{CommunityID: "c1", ProposalID: pTimed}, {CommunityID: "c1", ProposalID: pStill}}, nil
	})
	defer stop()
	before := log.count(log.checks, pStill)
	// The new leader holds every open proposal, due an interval from its start; the clock
	// moves on by one interval, once, so that the schedule learns from the first re-check's
	// outcome before the next interval.
	eventually(t, "the new leader scheduling the open proposals", func() bool { return engine.Scheduled(svc, pStill) })
	later()
	eventually(t, "both proposals re-checked after the restart", func() bool {
		return log.count(log.sent, pTimed) >= 3 && log.count(log.checks, pStill) > before
	})
	eventually(t, "the proposal that needs no timed re-check let go again", func() bool { return !engine.Scheduled(svc, pStill) })
	for round := 4; round <= 5; round++ {
		later()
		eventually(t, "the timed proposal re-checked", func() bool { return log.count(log.sent, pTimed) >= round })
	}
	if n := log.count(log.sent, pStill); n != 1 {
		t.Fatalf("after a restart, a proposal that needs no timed re-check was re-checked %d times, want once", n)
	}

	// Votes still wake it.
	for _, u := range []string{"u2", "u3"} {
		publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pStill,
			Vote: domain.Vote{UserID: u, Kind: domain.VoteBoolean, Boolean: true}})
	}
	eventually(t, "the votes passing the proposal", func() bool {
		p, _ := engine.LoadProposal(ctx, store, pStill)
		return p.Status == domain.StatusPassed
	})
	if p, _ := engine.LoadProposal(ctx, store, pTimed); p.Status != domain.StatusProposed {
		t.Fatalf("the timed proposal is %s", p.Status)
	}
	rep, err := engine.Verify(ctx, store, e.Loop(), nil)
	if err != nil || len(rep.Mismatches) != 0 {
		t.Fatalf("audit: %v, %+v", err, rep.Mismatches)
	}
}
