package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
)

// appendCounter counts the appends to each stream.
type appendCounter struct {
	eventstore.Store
	mu sync.Mutex
	n  map[string]int
}

func (s *appendCounter) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	s.mu.Lock()
	s.n[stream]++
	s.mu.Unlock()
	return s.Store.Append(ctx, stream, expected, events)
}

func (s *appendCounter) AppendMulti(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	s.mu.Lock()
	for _, p := range parts {
		s.n[p.Stream]++
	}
	s.mu.Unlock()
	return s.Store.AppendMulti(ctx, parts)
}

func (s *appendCounter) appends(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[stream]
}

// Votes on one proposal that arrive together are recorded in fewer commits than votes, each
// vote under the cause of its own message, and a member's change of mind too; and the audit
// re-runs every vote on its own without a mismatch.
func TestVotesInFlightShareACommitAndKeepTheirCauses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const members = 300
	store := &appendCounter{Store: memory.New(), n: map[string]int{}}
	mustSlackCommunity(t, store, members, "return PROPOSED")
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	loop := evaluation.New(rt, 0)
	eng := engine.New(store, loop, nil, func() time.Time { return t0 })
	svc := &engine.Service{Engine: eng, Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: time.Hour}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Ready()
	if err := eng.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	stream := domain.ProposalStream(pid)
	before := store.appends(stream)

	publish := func(id uuid.UUID, user string, yes bool) {
		payload, _ := json.Marshal(bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: yes}})
		if err := b.Publisher().Publish(bus.TopicCastVote, bus.NewMessage(id.String(), bus.CommandCastVote, payload)); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[uuid.UUID]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range 4 { // four adapters publishing at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w + 1; i <= members; i += 4 {
				id := uuid.New()
				mu.Lock()
				ids[id] = fmt.Sprintf("u%d", i)
				mu.Unlock()
				publish(id, fmt.Sprintf("u%d", i), true)
			}
		}()
	}
	wg.Wait()
	var p *domain.Proposal
	casts := func() int {
		t.Helper()
		evs, err := store.ReadStream(ctx, stream, eventstore.Forward, 1, 100000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == domain.EventVoteCast {
				n++
			}
		}
		return n
	}
	awaitCasts := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); casts() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d votes recorded", casts(), n)
			}
		}
	}
	awaitCasts(members)
	// u1 changes their mind, twice, a moment apart as clicks are.
	no, yes := uuid.New(), uuid.New()
	ids[no], ids[yes] = "u1", "u1"
	publish(no, "u1", false)
	awaitCasts(members + 1)
	publish(yes, "u1", true)
	awaitCasts(members + 2)
	if p, err = engine.LoadProposal(ctx, store, pid); err != nil {
		t.Fatal(err)
	}
	if v := p.Votes["u1"]; !v.Boolean {
		t.Fatalf("u1's vote is %+v: their last vote was yes", v)
	}
	if n := store.appends(stream) - before; n >= members {
		t.Errorf("%d votes took %d appends to the proposal's stream: none was shared", members+2, n)
	} else {
		t.Logf("%d votes in %d appends", members+2, n)
	}
	evs, err := store.ReadStream(ctx, stream, eventstore.Forward, 1, 100000)
	if err != nil {
		t.Fatal(err)
	}
	causes := map[uuid.UUID]bool{}
	for _, ev := range evs {
		if ev.Type != domain.EventVoteCast {
			continue
		}
		if _, ok := ids[ev.CausationID]; !ok {
			t.Fatalf("vote event %s has cause %s, which is no vote message", ev.ID, ev.CausationID)
		}
		if causes[ev.CausationID] {
			t.Fatalf("two vote events share the cause %s", ev.CausationID)
		}
		causes[ev.CausationID] = true
	}
	cancel()
	<-done
	rep, err := engine.Verify(context.Background(), store, loop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 0 {
		t.Fatalf("audit: %d mismatches, first %+v", len(rep.Mismatches), rep.Mismatches[0])
	}
}

// A batch records each vote as CastVote would: a refused vote is refused alone, a vote the
// member cast already records nothing, a newcomer is registered, and the others share one
// append.
func TestCastVotesAnswersEachVote(t *testing.T) {
	ctx := context.Background()
	store := &appendCounter{Store: memory.New(), n: map[string]int{}}
	mustSlackCommunity(t, store, 5, "return PROPOSED")
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(store, evaluation.New(rt, 0), nil, func() time.Time { return t0 })
	if err := eng.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	vote := func(user string, yes bool) engine.PendingVote {
		return engine.PendingVote{Cmd: bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: yes}}, Meta: engine.NewMeta()}
	}
	newcomer := engine.PendingVote{Cmd: bus.CastVote{CommunityID: "c1", ProposalID: pid, Platform: domain.PlatformSlack,
		Vote: domain.Vote{Username: "UNEW", Kind: domain.VoteBoolean, Boolean: true}}, Meta: engine.NewMeta()}
	stranger := vote("nobody", true)
	other := vote("u3", true)
	other.Cmd.ProposalID = "another"
	before := store.appends(domain.ProposalStream(pid))
	recs, errs := eng.Recorder().CastVotes(ctx, []engine.PendingVote{vote("u1", true), vote("u2", false), stranger, vote("u1", true), newcomer, other})
	for i, want := range []domain.Code{"", "", domain.CodeNotFound, "", "", domain.CodeInvalid} {
		if got := domain.ErrorCode(errs[i]); (want == "" && errs[i] != nil) || (want != "" && got != want) {
			t.Errorf("vote %d: %v, want code %q", i, errs[i], want)
		}
	}
	if !recs[0].Changed || !recs[1].Changed || recs[3].Changed || !recs[4].Changed {
		t.Errorf("changed: %v %v %v %v; want the first two and the newcomer's, not u1's again", recs[0].Changed, recs[1].Changed, recs[3].Changed, recs[4].Changed)
	}
	if n := store.appends(domain.ProposalStream(pid)) - before; n != 2 {
		t.Errorf("%d appends to the proposal, want 2: the batch's, and the newcomer's after registering them", n)
	}
	p, err := engine.LoadProposal(ctx, store, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Votes) != 3 {
		t.Fatalf("votes %v, want u1, u2 and the newcomer", p.Votes)
	}
}

// A lone vote on the in-process bus is recorded and its proposal checked in one step, one
// commit; votes arriving meanwhile are recorded after it; the audit re-runs each.
func TestALoneVoteIsCheckedInTheCommitThatRecordsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &appendCounter{Store: memory.New(), n: map[string]int{}}
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED\nreturn PROPOSED")
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(store, evaluation.New(rt, 0), nil, func() time.Time { return t0 })
	svc := &engine.Service{Engine: eng, Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: time.Hour}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	for _, id := range []string{"a1", "a2"} {
		if err := eng.ProposeAction(ctx, bus.ProposeAction{Action: rename(id)}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.HandleActionProposed(ctx, "c1", id, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	vote := func(pid, user string, yes bool) {
		publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid,
			Vote: domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: yes}})
	}
	load := func(pid string) *domain.Proposal {
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Two votes, far enough apart to be alone: each is one commit, and the second passes it.
	p1 := evaluation.DeriveID("proposal", "a1", "p-vote")
	before := store.appends(domain.ProposalStream(p1))
	vote(p1, "u1", true)
	eventually(t, "the first vote recorded", func() bool { return len(load(p1).Votes) == 1 })
	vote(p1, "u2", true)
	eventually(t, "the proposal passed", func() bool { return load(p1).Status == domain.StatusPassed })
	if n := store.appends(domain.ProposalStream(p1)) - before; n != 2 {
		t.Fatalf("two lone votes and the check that passed the proposal took %d appends to it, want 2", n)
	}
	evs, err := engine.ReadStream(ctx, store, domain.ProposalStream(p1))
	if err != nil {
		t.Fatal(err)
	}
	var cast, passed eventstore.RecordedEvent
	for _, ev := range evs {
		switch ev.Type {
		case domain.EventVoteCast:
			cast = ev
		case domain.EventProposalPassed:
			passed = ev
		}
	}
	if cast.CausationID == uuid.Nil || passed.CausationID != cast.CausationID {
		t.Fatalf("the second vote (cause %s) and the pass (cause %s) are not one step", cast.CausationID, passed.CausationID)
	}

	// Votes sent together: the first alone, the ones behind it in a batch after it.
	p2 := evaluation.DeriveID("proposal", "a2", "p-vote")
	vote(p2, "u1", true)
	vote(p2, "u2", false)
	vote(p2, "u3", false)
	eventually(t, "the votes recorded", func() bool { return len(load(p2).Votes) == 3 })
	verifyClean(t, store, eng)
}
