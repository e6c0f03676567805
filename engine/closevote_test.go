package engine_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/logplatform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/memory"
)

// A platform closing a proposal's vote (a Loomio poll closed) records the final votes it
// carries, closes the vote with the platform's outcome and decides the proposal; a vote the
// ballot does not offer, or naming a user the community does not have, is passed over, and
// the same close again changes nothing and poisons nothing.
func TestCloseVoteRecordsTheFinalVotesThenDecides(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 1, "if not proposal.is_vote_closed:\n  return PROPOSED\n"+
		"if proposal.get_choice_votes(value='consent').count() >= 2:\n  return PASSED\nreturn FAILED")
	if _, err := engine.UpdateCommunity(ctx, store, "c1", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		spec := c.Policies["p-vote"].PolicySpec
		spec.Code.Notify = "slack.initiate_vote(text='Rename?', options=['consent', 'objection'])"
		return c.DecideChangePolicy(domain.ChangePolicy{PolicyID: "p-vote", Name: spec.Name, ActionTypes: spec.ActionTypes, PolicyCode: spec.Code}, t0)
	}); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	poisoned, err := b.Subscriber().Subscribe(ctx, bus.TopicPoison)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	svc := &engine.Service{Engine: mustEngine(t, store), Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: time.Hour,
		Log: slog.New(slog.NewJSONHandler(logs, nil))}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	ready := make(chan struct{})
	go func() {
		_ = effects.Run(ctx, b, "log", []string{domain.PlatformSlack}, logplatform.New(nil, nil), nil, ready)
	}()
	<-ready

	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	proposal := func() *domain.Proposal {
		p, err := engine.LoadProposal(ctx, store, pid)
		if err != nil {
			return &domain.Proposal{}
		}
		return p
	}
	eventually(t, "the vote started", func() bool { return proposal().VotePostID != "" })

	at := t0.Add(time.Minute)
	closeVote := bus.CloseVote{CommunityID: "c1", ProposalID: pid, Platform: domain.PlatformSlack, Votes: []domain.Vote{
		{Username: "U1", Kind: domain.VoteChoice, Choice: "consent", At: at},
		{Username: "U-new", Kind: domain.VoteChoice, Choice: "consent", At: at},
		{Username: "U-odd", Kind: domain.VoteChoice, Choice: "maybe", At: at},
		{UserID: "ghost", Kind: domain.VoteChoice, Choice: "objection", At: at},
	}, Outcome: map[string]any{"statement": "Two consents", "statement_format": "md"}}
	publish(t, b, bus.CommandTopic(bus.CommandCloseVote), bus.CommandCloseVote, closeVote)
	eventually(t, "the proposal passed", func() bool { return proposal().Status == domain.StatusPassed })
	p := proposal()
	if !p.VoteClosed {
		t.Error("the vote is not closed")
	}
	if p.VoteOutcome["statement"] != "Two consents" {
		t.Errorf("the vote's outcome %v", p.VoteOutcome)
	}
	if n := len(p.Votes); n != 2 {
		t.Errorf("%d votes recorded (%+v), want the two consents", n, p.Votes)
	}

	// Delivered again, after the decision: refused as such, never poisoned.
	publish(t, b, bus.CommandTopic(bus.CommandCloseVote), bus.CommandCloseVote, closeVote)
	eventually(t, "the repeated close handled", func() bool { return logs.count("close vote refused") == 1 })
	select {
	case m := <-poisoned:
		t.Fatalf("poisoned: %s (%s)", m.Payload, m.Metadata.Get("reason_poisoned"))
	case <-time.After(200 * time.Millisecond):
	}
}
