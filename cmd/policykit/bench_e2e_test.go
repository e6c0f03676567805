package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// BenchmarkDecisionsEndToEnd: ProposeAction commands in on the bus, each decided by the
// engine under an instant-pass policy, the outcome durable in the log and the read models
// caught up; the actions of one community, and spread over a hundred.
func BenchmarkDecisionsEndToEnd(b *testing.B) {
	for _, communities := range []int{1, 100} {
		b.Run(fmt.Sprintf("communities=%d", communities), func(b *testing.B) {
			benchmarkDecisions(b, communities)
		})
	}
}

func benchmarkDecisions(b *testing.B, communities int) {
	ctx := context.Background()
	cfg := testConfig(b)
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	app, stop := startApp(b, cfg)
	defer stop()
	ids := make([]string, communities)
	for i := range ids {
		ids[i] = "garden"
		if communities > 1 {
			ids[i] = fmt.Sprintf("garden-%d", i)
		}
		seedCommunityNamed(b, app, ids[i])
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		publishCommand(b, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: fmt.Sprintf("post-%d", i), CommunityID: ids[i%communities], Kind: domain.KindPlatform, Type: "slackpostmessage", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "text": "hello"},
		}})
	}
	for deadline := time.Now().Add(time.Minute + time.Duration(b.N)*10*time.Millisecond); ; time.Sleep(20 * time.Millisecond) {
		var n int
		err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE status = 'executed' AND id LIKE 'post-%'`).Scan(&n)
		if err == nil && n == b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d actions executed in the read model (%v)", n, b.N, err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
}

// BenchmarkVoteToDecision: the time from a CastVote command on the bus to the proposal's
// ProposalPassed in the log, on a quiet engine and while a steady stream of actions in a
// hundred other communities is decided beside it.
func BenchmarkVoteToDecision(b *testing.B) {
	b.Run("quiet", func(b *testing.B) { benchmarkVoteToDecision(b, 0) })
	b.Run("beside=500/s", func(b *testing.B) { benchmarkVoteToDecision(b, 500) })
}

func benchmarkVoteToDecision(b *testing.B, load int) {
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
	if load > 0 {
		others := make([]string, 100)
		for i := range others {
			others[i] = fmt.Sprintf("busy-%d", i)
			seedCommunityNamed(b, app, others[i])
		}
		loadCtx, stopLoad := context.WithCancel(ctx)
		defer stopLoad()
		go func() {
			tick := time.NewTicker(time.Second / time.Duration(load))
			defer tick.Stop()
			for i := 0; loadCtx.Err() == nil; i++ {
				select {
				case <-loadCtx.Done():
					return
				case <-tick.C:
				}
				payload, _ := json.Marshal(bus.ProposeAction{Action: domain.Action{
					ID: fmt.Sprintf("load-%d", i), CommunityID: others[i%len(others)], Kind: domain.KindPlatform, Type: "slackpostmessage", Platform: domain.PlatformSlack,
					InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "text": "hello"},
				}})
				_ = app.Bus().Publisher().Publish(bus.TopicProposeAction, bus.NewMessage(uuid.NewString(), bus.CommandProposeAction, payload))
			}
		}()
		time.Sleep(time.Second) // the load under way
	}
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
