package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/policy"
)

// BenchmarkVotesOnOneProposal publishes one yes vote per member of a community on one
// proposal (CastVote on the in-process bus, as an adapter does; the log in memory or in
// Postgres) and measures how fast the
// engine records them, until all are recorded and the proposal has passed, as its check
// (every member voted yes) says. It reports votes recorded per second, and how many checks
// the proposal took.
func BenchmarkVotesOnOneProposal(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		for _, backend := range []string{"memory", "postgres"} {
			b.Run(fmt.Sprintf("members=%d/store=%s", members, backend), func(b *testing.B) {
				for range b.N {
					benchVotes(b, members, backend)
				}
			})
		}
	}
}

func benchVotes(b *testing.B, members int, backend string) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var store eventstore.Store = memory.New()
	if backend == "postgres" {
		pool, _ := pgtest.NewPool(b)
		if err := postgres.Migrate(ctx, pool); err != nil {
			b.Fatal(err)
		}
		store = postgres.New(pool)
	}
	check := fmt.Sprintf("if proposal.get_yes_votes().count() >= %d:\n  return PASSED\nreturn PROPOSED", members)
	mustSlackCommunity(b, store, members, check)
	bs, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	checks := &countingEvaluator{ev: rt, n: map[policy.Block]int{}}
	eng := engine.New(store, evaluation.New(checks, 0), nil, func() time.Time { return t0 })
	svc := &engine.Service{Engine: eng, Store: store, Bus: bs, Checkpoints: &memCheckpoints{}, Tick: time.Hour}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Ready()
	send := func(topic, typ string, v any) {
		payload, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		if err := bs.Publisher().Publish(topic, bus.NewMessage(uuid.NewString(), typ, payload)); err != nil {
			b.Fatal(err)
		}
	}
	send(bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	load := func() *domain.Proposal {
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil {
			return &domain.Proposal{}
		}
		return p
	}
	for !load().Opened() {
		time.Sleep(5 * time.Millisecond)
	}

	b.StartTimer()
	start := time.Now()
	for i := 1; i <= members; i++ {
		send(bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i), Kind: domain.VoteBoolean, Boolean: true}})
	}
	// A proposal far from done after this long is reported as measured, not waited for.
	const patience = 3 * time.Minute
	var p *domain.Proposal
	for {
		p = load()
		if p.Status == domain.StatusPassed || time.Since(start) > patience {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if p.Status != domain.StatusPassed {
		b.Logf("gave up after %s: %d of %d votes recorded, proposal %s", elapsed.Round(time.Second), len(p.Votes), members, p.Status)
	}
	b.ReportMetric(float64(len(p.Votes))/elapsed.Seconds(), "votes/s")
	b.ReportMetric(float64(checks.count(policy.BlockCheck)), "checks")
	cancel()
	<-done
}
