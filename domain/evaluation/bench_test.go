package evaluation_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

// BenchmarkDecide measures the decision loop for one action under an instant-pass platform
// policy (the Testing kit's): permission gate, filter, initialize, check, pass, execute.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(b), 0)
	c := mustCommunity(b, "propose:*", "view:*", "vote:*")
	mustPolicy(b, c, "p-pass", domain.KindPlatform, nil, domain.PolicyCode{
		Filter: "return True", Initialize: "pass", Check: "return PASSED", Notify: "pass", Success: "pass", Fail: "pass",
	}, 0)
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := domain.Action{
			ID: fmt.Sprintf("a-%d", i), CommunityID: "c1", Kind: domain.KindPlatform, Type: "slackpostmessage",
			Platform: domain.PlatformSlack, InitiatorID: "u-alice", Reversible: true,
			Fields: map[string]any{"text": "hello", "channel": "C1"}, ProposedAt: t0,
		}
		rec := mustAction(b, a)
		start := time.Now()
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		durations = append(durations, time.Since(start))
		if err != nil || rec.Status != domain.ActionStatusExecuted {
			b.Fatalf("status %s err %v events %v", rec.Status, err, eventTypes(out))
		}
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
