package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
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

// logLines is an slog destination whose messages a test can count.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many records have the message msg.
func (l *logLines) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), `"msg":"`+msg+`"`)
}

// Votes the engine refuses on the bus (a value the vote does not offer, a vote on a decided
// proposal) are final answers: acknowledged, recorded nowhere, and never poisoned.
func TestRefusedVotesOnTheBusAreNotPoisoned(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED\nreturn PROPOSED")
	if _, err := engine.UpdateCommunity(ctx, store, "c1", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		spec := c.Policies["p-vote"].PolicySpec
		spec.Code.Notify = "slack.initiate_vote(text='Rename?')"
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
	svc := &engine.Service{Engine: mustEngine(t, store), Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: 50 * time.Millisecond,
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
	eventually(t, "the yes/no vote started", func() bool { return proposal().VotePostID != "" })
	vote := func(user string, v domain.Vote) {
		v.UserID = user
		publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid, Vote: v})
	}
	yes := domain.Vote{Kind: domain.VoteBoolean, Boolean: true}
	vote("u1", yes)
	eventually(t, "u1's yes recorded", func() bool { return len(proposal().YesVotes()) == 1 })

	// Values a yes/no vote does not offer, as a bus message may carry them.
	refused := 0
	for _, v := range []domain.Vote{
		{Kind: domain.VoteChoice, Choice: "yse"},
		{Kind: domain.VoteChoice, Choice: "99999999999999999999"},
		{Kind: domain.VoteNumber, Number: 3},
		{Kind: domain.VoteChoice, Choice: strings.Repeat("x", domain.MaxChoiceLen+1)},
	} {
		vote("u1", v)
		refused++
	}
	eventually(t, "the bad votes handled", func() bool { return logs.count("vote refused")+logs.count("command refused") == refused })

	// A second yes passes it; a vote after the decision (a late click, a redelivery) is
	// refused as well.
	vote("u2", yes)
	eventually(t, "the proposal passed", func() bool { return proposal().Status == domain.StatusPassed })
	vote("u3", domain.Vote{Kind: domain.VoteBoolean})
	refused++
	eventually(t, "the late vote handled", func() bool { return logs.count("vote refused")+logs.count("command refused") == refused })

	if n := logs.count("vote refused"); n != refused {
		t.Errorf("%d votes refused as such, want %d (the others went to the poison queue)", n, refused)
	}
	p := proposal()
	if len(p.VoteHistory) != 2 || len(p.YesVotes()) != 2 || p.Votes["u3"].UserID != "" {
		t.Errorf("votes recorded %+v, want only the two yes votes", p.VoteHistory)
	}
	select {
	case m := <-poisoned:
		t.Fatalf("poisoned: %s (%s)", m.Payload, m.Metadata.Get("reason_poisoned"))
	case <-time.After(200 * time.Millisecond):
	}
}
