package projections

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// Run with:
//
//	go test -run='^$' -bench=BenchmarkRebuild -benchtime=1x ./projections/
//
// The log (about benchEvents events of 20 communities: platform actions governed by votes,
// with revotes, evaluations, data changes, effects and outcomes) is written once, outside the
// timers; each iteration replays it whole into empty tables, with batches of the given size.
const benchEvents = 100_000

func BenchmarkRebuild(b *testing.B) {
	pool, store := newTestDB(b)
	lb := newLogBuilder(b, store)
	lb.buffered = true
	start := time.Now()
	writeBenchLog(lb, benchEvents)
	waitReadable(b, pool)
	b.Logf("wrote %d events in %v", lb.total, time.Since(start).Round(time.Millisecond))

	for _, batch := range []int{500, 2000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			r := NewRunner(store, pool, batch, nil, All()...)
			for range b.N {
				if n := mustReplay(b, r, pool); n != lb.total {
					b.Fatalf("replayed %d events, want %d", n, lb.total)
				}
			}
			b.ReportMetric(float64(lb.total*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// writeBenchLog writes at least n events: communities with users and a vote policy, then
// governed actions with 3 to 12 votes each (a fifth of them revotes), passing or failing.
func writeBenchLog(lb *logBuilder, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	const communities = 20
	type comm struct {
		id, policy string
		users      []string
	}
	var cs []comm
	for i := range communities {
		id := fmt.Sprintf("bc%d", i)
		users, pol := lb.setupCommunity(id, 30)
		cs = append(cs, comm{id, pol, users})
	}
	lb.flush(8, 50)
	for i := 0; lb.total < n; i++ {
		c := cs[rng.IntN(len(cs))]
		var votes []vote
		nv := 3 + rng.IntN(10)
		for range nv {
			u := c.users[rng.IntN(len(c.users))]
			if len(votes) > 0 && rng.IntN(5) == 0 {
				u = votes[rng.IntN(len(votes))].user // a revote
			}
			votes = append(votes, vote{user: u, yes: rng.IntN(3) > 0})
		}
		votes = dedupeSameValue(votes)
		id := fmt.Sprintf("%d", i)
		lb.governedAction(lifecycle{
			community: c.id, actionID: "a" + id, proposalID: "p" + id, policyID: c.policy, initiator: c.users[0],
			votes: votes, pass: rng.IntN(3) > 0, reversible: rng.IntN(4) == 0, effectFails: rng.IntN(10) == 0,
		})
		if i%200 == 199 {
			lb.flush(8, 4)
		}
	}
	lb.flush(8, 4)
}

// dedupeSameValue drops votes that repeat the user's current vote (the domain refuses them
// as no change).
func dedupeSameValue(votes []vote) []vote {
	cur := map[string]bool{}
	out := votes[:0]
	for _, v := range votes {
		if prev, ok := cur[v.user]; ok && prev == v.yes {
			continue
		}
		cur[v.user] = v.yes
		out = append(out, v)
	}
	return out
}
