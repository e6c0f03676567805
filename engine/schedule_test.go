package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

var wheelStart = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustSchedule(tb testing.TB, n int) *schedule {
	tb.Helper()
	s := newSchedule(30*time.Second, time.Second, wheelStart)
	for i := range n {
		s.add(ProposalRef{CommunityID: fmt.Sprintf("c%d", i%100), ProposalID: fmt.Sprintf("p%d", i)}, 0)
	}
	return s
}

// Proposals listed at once (a leader starting) come due spread over the interval, each once
// per interval, and never more than the bound in one tick.
func TestScheduleSpreadsReChecksOverTheInterval(t *testing.T) {
	const n = 30_000
	s := mustSchedule(t, n)
	limit := s.limitLocked()
	if limit >= n/10 {
		t.Fatalf("limit %d: a tick may hand out a tenth of the proposals", limit)
	}
	seen := map[string]int{}
	for tick := 1; tick <= 30; tick++ {
		due := s.due(wheelStart.Add(time.Duration(tick)*time.Second), -1)
		if len(due) > limit {
			t.Fatalf("tick %d handed out %d, over the bound %d", tick, len(due), limit)
		}
		if len(due) == 0 {
			t.Fatalf("tick %d handed out nothing: re-checks are not spread", tick)
		}
		for _, p := range due {
			seen[p.ProposalID]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d proposals came due within one interval", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("%s came due %d times in one interval", id, k)
		}
	}
	// The next interval: each once again.
	again := 0
	for tick := 31; tick <= 60; tick++ {
		again += len(s.due(wheelStart.Add(time.Duration(tick)*time.Second), -1))
	}
	if again != n {
		t.Fatalf("%d re-checks in the second interval, want %d", again, n)
	}
}

// After a stall (the clock jumps, the engine was away) everything is due, and it is handed
// out at most the bound a tick, each proposal once, and no more than the room given.
func TestScheduleCatchesUpAtABoundedPace(t *testing.T) {
	const n = 3000
	s := mustSchedule(t, n)
	limit := s.limitLocked()
	now := wheelStart.Add(5 * time.Minute)
	got := s.due(now, 7)
	if len(got) != 7 {
		t.Fatalf("with room for 7: %d", len(got))
	}
	seen := map[string]bool{}
	take := func(due []ProposalRef) {
		for _, p := range due {
			if seen[p.ProposalID] && len(seen) < n {
				t.Fatalf("%s handed out again before every proposal had its turn (%d of %d)", p.ProposalID, len(seen), n)
			}
			seen[p.ProposalID] = true
		}
	}
	take(got)
	for ticks := 1; len(seen) < n; ticks++ {
		if ticks > 2*30 {
			t.Fatalf("%d of %d handed out after %d ticks", len(seen), n, ticks)
		}
		now = now.Add(time.Second)
		due := s.due(now, -1)
		if len(due) > limit {
			t.Fatalf("%d handed out in one tick, over the bound %d", len(due), limit)
		}
		take(due)
	}
}

func recorded(id string, version int64) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{Stream: domain.ProposalStream(id), Version: version}
}

// The schedule follows the log: a check that needs no timed re-check lets its proposal go,
// a later one that does takes it back, a decision lets it go; an old check (recorded before
// checks said) keeps it. A settled report older than what the log showed is passed over.
func TestScheduleFollowsWhatChecksRecord(t *testing.T) {
	s := newSchedule(30*time.Second, time.Second, wheelStart)
	h := domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1"}
	check := func(recheck string) domain.ProposalEvaluated {
		return domain.ProposalEvaluated{ProposalHeader: h, Block: domain.BlockCheck, Result: domain.StatusProposed, Recheck: recheck}
	}
	s.observe(recorded("p1", 1), domain.ProposalOpened{ProposalHeader: h})
	s.observe(recorded("p1", 2), check(domain.RecheckOnEvent))
	if s.len() != 0 {
		t.Fatal("a check that needs no timed re-check kept its proposal")
	}
	s.observe(recorded("p1", 3), domain.VoteCast{ProposalHeader: h})
	s.observe(recorded("p1", 4), check(domain.RecheckTimed))
	if s.len() != 1 {
		t.Fatal("a check that reads the clock did not take its proposal back")
	}
	s.settled("p1", 3) // a check decided before the timed one
	if s.len() != 1 {
		t.Fatal("a stale settled report let the proposal go")
	}
	s.observe(recorded("p1", 5), check(""))
	s.settled("p1", 5)
	if s.len() != 0 {
		t.Fatal("a settled report on the current state kept the proposal")
	}
	s.observe(recorded("p1", 6), check(""))
	if s.len() != 1 {
		t.Fatal("a check recorded before checks said what brings the next one did not keep its proposal")
	}
	s.observe(recorded("p1", 7), domain.ProposalFailed{ProposalHeader: h})
	if s.len() != 0 {
		t.Fatal("a decided proposal stayed")
	}
	if due := s.due(wheelStart.Add(time.Hour), -1); len(due) != 0 {
		t.Fatalf("a decided proposal came due: %v", due)
	}
}
