package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// BenchmarkDecisionsEndToEnd: ProposeAction commands in on the bus, each decided by the
// engine under an instant-pass policy, the outcome durable in the log and the read models
// caught up.
func BenchmarkDecisionsEndToEnd(b *testing.B) {
	ctx := context.Background()
	cfg := testConfig(b)
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	app, stop := startApp(b, cfg)
	defer stop()
	seedCommunity(b, app)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		publishCommand(b, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: fmt.Sprintf("post-%d", i), CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackpostmessage", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "text": "hello"},
		}})
	}
	waitFor(b, "every action executed in the read model", func() bool {
		var n int
		err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE status = 'executed' AND id LIKE 'post-%'`).Scan(&n)
		return err == nil && n == b.N
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
}

// BenchmarkVoteToDecision: the time from a CastVote command on the bus to the proposal's
// ProposalPassed in the log.
func BenchmarkVoteToDecision(b *testing.B) {
	ctx := context.Background()
	cfg := testConfig(b)
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	app, stop := startApp(b, cfg)
	defer stop()
	seedCommunity(b, app)
	passed := make(chan string, 1024)
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go app.Store().Subscribe(subCtx, eventstore.Start, func(_ context.Context, evs []eventstore.RecordedEvent) error {
		for _, ev := range evs {
			if ev.Type == domain.EventProposalPassed {
				passed <- domain.StreamID(ev.Stream)
			}
		}
		return nil
	})
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("rename-%d", i)
		publishCommand(b, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": id},
		}})
		pid := evaluation.DeriveID("proposal", id, "rename-vote")
		waitFor(b, "the vote posted", func() bool {
			p, err := engine.LoadProposal(ctx, app.Store(), pid)
			return err == nil && p.Notified
		})
		b.StartTimer()
		start := time.Now()
		publishCommand(b, app, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pid,
			Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
		for got := range passed {
			if got == pid {
				break
			}
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(durations[(len(durations)-1)*99/100].Microseconds())/1e3, "p99-ms")
}
