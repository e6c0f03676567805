package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

// BenchmarkVerifyMemory runs audit verify (engine.Verify) over logs of two sizes, held in
// the memory store, and reports the most heap it keeps alive while it runs, above what was
// alive before (the log itself): live-heap-MB, sampled after a collection every 500
// decisions. Garbage is left out on purpose: how much of it the collector lets pile up
// depends on the live heap, which here holds the whole log. alloc-B/event is the bytes it
// allocates per event of the log. Each proposal of the log is put to a vote: opened, three
// votes, each checked, then passed or failed; the votes of 100 proposals interleave.
func BenchmarkVerifyMemory(b *testing.B) {
	for _, proposals := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("proposals=%d", proposals), func(b *testing.B) {
			ctx := context.Background()
			store := memory.New()
			e := mustBenchVotingLog(b, store, proposals)
			b.ResetTimer()
			for range b.N {
				if _, err := engine.Verify(ctx, store, e.Loop(), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.GC()
			var before, m runtime.MemStats
			runtime.ReadMemStats(&before)
			var peak uint64
			rep, err := engine.Verify(ctx, store, e.Loop(), func(done, _ int) {
				if done%500 == 0 {
					runtime.GC()
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapAlloc)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(rep.Mismatches) != 0 {
				b.Fatalf("%d mismatches", len(rep.Mismatches))
			}
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(rep.Events), "events")
			b.ReportMetric((float64(peak)-float64(before.HeapAlloc))/(1<<20), "live-heap-MB")
			b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "log-heap-MB")
			b.ReportMetric(float64(m.TotalAlloc-before.TotalAlloc)/float64(rep.Events), "alloc-B/event")
		})
	}
}

// mustBenchVotingLog records n renames in c1, each put to a vote that three members answer,
// the votes of many proposals interleaved.
func mustBenchVotingLog(tb testing.TB, store eventstore.Store, n int) *engine.Engine {
	tb.Helper()
	ctx := context.Background()
	e := mustEngine(tb, store)
	mustSlackCommunity(tb, store, 4, "if proposal.get_yes_votes().count() >= 3:\n  return PASSED\nif proposal.get_no_votes().count() >= 3:\n  return FAILED")
	const wave = 100 // proposals open at once
	for start := 0; start < n; start += wave {
		var ps []string
		for i := start; i < min(start+wave, n); i++ {
			id := fmt.Sprintf("a%d", i)
			if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename(id)}, engine.NewMeta()); err != nil {
				tb.Fatal(err)
			}
			if _, err := e.HandleActionProposed(ctx, "c1", id, engine.NewMeta()); err != nil {
				tb.Fatal(err)
			}
			ps = append(ps, evaluation.DeriveID("proposal", id, "p-vote"))
		}
		for _, user := range []string{"u2", "u3", "u4"} {
			for i, p := range ps {
				v := domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: i%2 == 0}
				if _, err := e.CastVote(ctx, bus.CastVote{CommunityID: "c1", ProposalID: p, Vote: v}, engine.NewMeta()); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	return e
}
