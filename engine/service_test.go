package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/logplatform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

type memCheckpoints struct {
	mu  sync.Mutex
	pos map[string]eventstore.Position
}

func (m *memCheckpoints) Load(_ context.Context, name string) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos[name], nil
}

func (m *memCheckpoints) Save(_ context.Context, name string, p eventstore.Position) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pos == nil {
		m.pos = map[string]eventstore.Position{}
	}
	m.pos[name] = p
	return nil
}

func publish(t *testing.T, b *bus.Bus, topic, typ string, v any) {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publisher().Publish(topic, bus.NewMessage(uuid.NewString(), typ, payload)); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The seed's "Vote on renaming Slack channels" through the bus, with the log platform
// standing in for Slack: rename -> revert and vote post -> a yes vote -> rename executed
// and the result posted in the vote's thread.
func TestServiceRunsTheRenameVoteOverTheBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 2, "yes_votes = proposal.get_yes_votes().count()\nif yes_votes >= 1:\n  return PASSED\nreturn PROPOSED")
	// Replace the notify with the seed's: initiate_vote, answered by the platform.
	if _, err := engine.UpdateCommunity(ctx, store, "c1", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		p := c.Policies["p-vote"]
		spec := p.PolicySpec
		spec.Code.Notify = "message = f\"Should this channel be renamed to #{action.name}?\"\nslack.initiate_vote(text=message)"
		spec.Code.Success = "slack.post_message(text='passed', channel=action.channel, thread_ts=proposal.vote_post_id)"
		return c.DecideChangePolicy(domain.ChangePolicy{PolicyID: "p-vote", Name: spec.Name, ActionTypes: spec.ActionTypes, PolicyCode: spec.Code}, t0)
	}); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	svc := &engine.Service{Engine: mustEngine(t, store), Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: 50 * time.Millisecond}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	logp := logplatform.New(nil, nil)
	ready := make(chan struct{})
	go func() { _ = effects.Run(ctx, b, "log", []string{domain.PlatformSlack}, logp, nil, ready) }()
	<-ready

	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	eventually(t, "the vote post recorded", func() bool {
		p, err := engine.LoadProposal(ctx, store, pid)
		return err == nil && p.Notified && p.VotePostID != ""
	})
	publish(t, b, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "c1", ProposalID: pid, Vote: domain.Vote{UserID: "u2", Kind: domain.VoteBoolean, Boolean: true}})
	eventually(t, "the rename executed and the result posted", func() bool {
		var executed, posted bool
		for _, e := range mustEffects(t, logp) {
			executed = executed || e.Method == "execute"
			posted = posted || (e.Method == "post_message" && e.Args["thread_ts"] != nil && e.Args["thread_ts"] != "")
		}
		return executed && posted
	})
	rec, _ := engine.LoadAction(ctx, store, "a1")
	if rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("action %s", rec.Status)
	}
	// Every effect was performed exactly once, and every result recorded.
	eventually(t, "every effect's result recorded", func() bool {
		p, _ := engine.LoadProposal(ctx, store, pid)
		for _, f := range p.Effects {
			if !f.Done() {
				return false
			}
		}
		return len(p.Effects) == 4 // revert, initiate_vote, post_message, execute
	})
	seen := map[string]int{}
	for _, e := range mustEffects(t, logp) {
		seen[e.EffectID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("effect %s performed %d times", id, n)
		}
	}
}

// A proposal whose deadline passes decides without any message: the schedule re-checks it.
func TestServiceRechecksWhenDue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 2, "if proposal.get_time_elapsed() > datetime.timedelta(seconds=1):\n  return FAILED\nreturn PROPOSED")
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := engine.New(store, mustEngine(t, store).Loop(), nil, clock)
	svc := &engine.Service{Engine: e, Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: 20 * time.Millisecond}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	eventually(t, "the proposal opened", func() bool { _, err := engine.LoadProposal(ctx, store, pid); return err == nil })
	mu.Lock()
	now = t0.Add(2 * time.Minute) // past the deadline and past the 30 s re-check interval
	mu.Unlock()
	eventually(t, "the due re-check failing the proposal", func() bool {
		p, _ := engine.LoadProposal(ctx, store, pid)
		return p.Status == domain.StatusFailed
	})
}

func mustEffects(t *testing.T, p *logplatform.Platform) []bus.EffectRequest {
	t.Helper()
	effs, err := p.Effects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return effs
}

// An event too large for the bus (here 100 KB of proposal data on a bus that carries 64 KB)
// is parked: logged, noticed on the poison topic, kept in the log; the events after it are
// forwarded and their effects performed.
func TestForwarderParksAnEventTooLargeForTheBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 2, "proposal.data.set('blob', 'x' * 100000)\nslack.post_message(text='hello', channel='C1')\nreturn PASSED")
	b, err := bus.Open(ctx, bus.Config{MaxMessageBytes: 64 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	poisoned, err := b.Subscriber().Subscribe(ctx, bus.TopicPoison)
	if err != nil {
		t.Fatal(err)
	}
	svc := &engine.Service{Engine: mustEngine(t, store), Store: store, Bus: b, Checkpoints: &memCheckpoints{}, Tick: 50 * time.Millisecond}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	logp := logplatform.New(nil, nil)
	ready := make(chan struct{})
	go func() { _ = effects.Run(ctx, b, "log", []string{domain.PlatformSlack}, logp, nil, ready) }()
	<-ready

	publish(t, b, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: rename("a1")})
	select {
	case m := <-poisoned:
		m.Ack()
		if m.Metadata.Get("message_type") != domain.EventProposalDataChanged ||
			!strings.Contains(m.Metadata.Get("reason_poisoned"), "too large for the bus") || len(m.Payload) > 1024 {
			t.Fatalf("parked %q (%s), %d bytes", m.Metadata.Get("message_type"), m.Metadata.Get("reason_poisoned"), len(m.Payload))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing parked")
	}
	eventually(t, "the post after the large event performed", func() bool {
		for _, e := range mustEffects(t, logp) {
			if e.Method == "post_message" && e.Args["text"] == "hello" {
				return true
			}
		}
		return false
	})
	p, err := engine.LoadProposal(ctx, store, evaluation.DeriveID("proposal", "a1", "p-vote"))
	if err != nil || len(fmt.Sprint(p.Data["blob"])) != 100000 {
		t.Fatalf("the data is not in the log: %v", err)
	}
}

// An action recorded but never decided (the engine that took it from the bus died before
// deciding it, so it is not on the bus any more) is decided by the leader's next sweeps.
func TestLeaderDecidesActionsLeftUndecided(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	mustSlackCommunity(t, store, 2, "return PASSED")
	e := mustEngine(t, store)
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a-lost")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	head, err := store.ReadAll(ctx, eventstore.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The forwarder starts past the action: its ActionProposed was taken from the bus already.
	cps := &memCheckpoints{}
	if err := cps.Save(ctx, "forwarder", head[len(head)-1].Position); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var sweeps sync.Map
	pending := func(ctx context.Context) ([]engine.ActionRef, error) {
		n, _ := sweeps.LoadOrStore("n", new(int))
		*n.(*int)++
		if *n.(*int) == 1 {
			return nil, nil // the start-up sweep ran before the action was lost
		}
		rec, err := engine.LoadAction(ctx, store, "a-lost")
		if err != nil || rec.Status != domain.ActionStatusProposed {
			return nil, err
		}
		return []engine.ActionRef{{CommunityID: "c1", ActionID: "a-lost"}}, nil
	}
	svc := &engine.Service{Engine: e, Store: store, Bus: b, Checkpoints: cps, Tick: 50 * time.Millisecond,
		PendingActions: pending, PendingSweep: 50 * time.Millisecond}
	go func() { _ = svc.Run(ctx) }()
	<-svc.Ready()
	eventually(t, "the lost action decided", func() bool {
		rec, err := engine.LoadAction(ctx, store, "a-lost")
		return err == nil && rec.Status != domain.ActionStatusProposed
	})
}
