package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/starterkits"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustEngine(tb testing.TB, store eventstore.Store) *engine.Engine {
	tb.Helper()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return engine.New(store, evaluation.New(rt, 0), nil, func() time.Time { return t0 })
}

// mustSlackCommunity creates a Slack community (Testing kit) with n members and a quorum
// vote policy for channel renames.
func mustSlackCommunity(tb testing.TB, store eventstore.Store, n int, check string) *domain.Community {
	tb.Helper()
	kit, err := starterkits.Load("testing")
	if err != nil {
		tb.Fatal(err)
	}
	_, err = engine.NewCommunity(context.Background(), store, domain.CreateCommunity{CommunityID: "c1", Name: "Garden", Platform: domain.PlatformSlack}, kit, domain.RegisterUser{}, t0)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := engine.UpdateCommunity(context.Background(), store, "c1", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		var all []domain.Event
		for i := 1; i <= n; i++ {
			evs, err := c.DecideRegisterUser(domain.RegisterUser{UserID: fmt.Sprintf("u%d", i), Platform: domain.PlatformSlack, Username: fmt.Sprintf("U%d", i)}, t0)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				c.Apply(e)
			}
			all = append(all, evs...)
		}
		evs, err := c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p-vote", Kind: domain.KindPlatform, Name: "vote", ActionTypes: []string{"slackrenameconversation"},
			PolicyCode: domain.PolicyCode{Check: check, Notify: "slack.post_message(text='vote please', channel=action.channel)"}}, t0)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			c.Apply(e)
		}
		return append(all, evs...), nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func rename(id string) domain.Action {
	return domain.Action{ID: id, CommunityID: "c1", Kind: domain.KindPlatform, Type: "slackrenameconversation",
		Platform: domain.PlatformSlack, InitiatorID: "u1", Reversible: true,
		Fields: map[string]any{"name": "new", "channel": "C1"}, ProposedAt: t0}
}

func TestEngineDecidesFromProposalToExecution(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED")

	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	// Proposing again (a redelivered platform event) records nothing.
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	meta := engine.NewMeta()
	out, err := e.HandleActionProposed(ctx, "c1", "a1", meta)
	if err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	if len(out.Changes) == 0 {
		t.Fatal("evaluation decided nothing")
	}
	// The same event redelivered decides nothing more.
	if again, err := e.HandleActionProposed(ctx, "c1", "a1", meta); err != nil || !again.Empty() {
		t.Fatalf("redelivery: %v %v", again.Events(), err)
	}
	for _, u := range []string{"u2", "u3"} {
		if _, err := e.CastVote(ctx, bus.CastVote{CommunityID: "c1", ProposalID: pid, Vote: domain.Vote{UserID: u, Kind: domain.VoteBoolean, Boolean: true}}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	p, err := engine.LoadProposal(ctx, store, pid)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := engine.LoadAction(ctx, store, "a1")
	if p.Status != domain.StatusPassed || rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("proposal %s, action %s", p.Status, rec.Status)
	}
	var exec string
	for _, f := range p.Effects {
		if f.Purpose == domain.PurposeExecute {
			exec = f.ID
		}
	}
	if _, err := e.RecordEffectResult(ctx, bus.RecordEffectResult{CommunityID: "c1", ProposalID: pid, EffectID: exec, Result: map[string]any{"ok": true}}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	p, _ = engine.LoadProposal(ctx, store, pid)
	if p.Effects[exec].Status != domain.EffectStatusCompleted {
		t.Fatalf("execute effect %s", p.Effects[exec].Status)
	}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: domain.Action{ID: "a2", CommunityID: "c1", Kind: domain.KindPlatform, Type: "nosuchaction", Platform: domain.PlatformSlack}}, engine.NewMeta()); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("unknown action type: %v", err)
	}
}

// Two engines on one store take votes for the same proposal at the same time: every vote is
// recorded and the proposal is decided exactly once.
func TestTwoEnginesDecideEachProposalOnce(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	engines := []*engine.Engine{mustEngine(t, store), mustEngine(t, store)}
	const voters = 12
	mustSlackCommunity(t, store, voters, "if proposal.get_yes_votes().count() >= 12:\n  return PASSED")
	if err := engines[0].ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := engines[1].HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	var wg sync.WaitGroup
	errs := make(chan error, voters)
	for i := 1; i <= voters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := engines[i%2].CastVote(ctx, bus.CastVote{CommunityID: "c1", ProposalID: pid,
				Vote: domain.Vote{UserID: fmt.Sprintf("u%d", i), Kind: domain.VoteBoolean, Boolean: true}}, engine.NewMeta())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	evs, err := store.ReadStream(ctx, domain.ProposalStream(pid), eventstore.Forward, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	votes, passed, executes := 0, 0, 0
	for _, ev := range evs {
		switch ev.Type {
		case domain.EventVoteCast:
			votes++
		case domain.EventProposalPassed:
			passed++
		case domain.EventEffectRequested:
			e, _ := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
			if e.(domain.EffectRequested).Purpose == domain.PurposeExecute {
				executes++
			}
		}
	}
	if votes != voters || passed != 1 || executes != 1 {
		t.Fatalf("%d votes, %d ProposalPassed, %d execute effects; want %d, 1, 1", votes, passed, executes, voters)
	}
}

// A proposal to add a policy whose code does not compile is refused before anyone votes,
// with the block and the position of the mistake.
func TestProposingABrokenPolicyIsRefused(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e, _ := mustSandboxEngine(t, store, 1)
	mustSlackCommunity(t, store, 2, "return PASSED")
	for name, code := range map[string]domain.PolicyCode{
		"starlark": {Check: "if True\n  return PASSED"},
		"expr":     {Check: "yes >= ", CheckLang: domain.LangExpr},
	} {
		a, err := domain.NewConstitutionAction("add-"+name, "c1", "u1", domain.AddPolicy{Kind: domain.KindPlatform, Name: "broken " + name, PolicyCode: code}, t0)
		if err != nil {
			t.Fatal(err)
		}
		err = e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta())
		if domain.ErrorCode(err) != domain.CodeInvalid || !strings.Contains(err.Error(), "check") {
			t.Fatalf("%s: err = %v, want an invalid-code error naming the check block", name, err)
		}
		if rec, _ := engine.LoadAction(ctx, store, a.ID); rec.Proposed() {
			t.Fatalf("%s: the broken proposal was recorded", name)
		}
	}
}

// An action is evaluated only in its own community: naming another community (whose
// policies would decide it) finds no such action there and records nothing.
func TestAnotherCommunitysActionIsNotFound(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED")
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "c2", Name: "Other", Platform: domain.PlatformSlack}, kit, domain.RegisterUser{}, t0); err != nil {
		t.Fatal(err)
	}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	before, err := engine.LoadAction(ctx, store, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleActionProposed(ctx, "c2", "a1", engine.NewMeta()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("evaluating c1's action in c2: %v, want NOT_FOUND", err)
	}
	if _, err := e.RecordEffectResult(ctx, bus.RecordEffectResult{CommunityID: "c2", ActionID: "a1", EffectID: "x"}, engine.NewMeta()); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("an effect result for c1's action in c2: %v, want NOT_FOUND", err)
	}
	after, err := engine.LoadAction(ctx, store, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version {
		t.Fatalf("c1's action went from version %d to %d", before.Version, after.Version)
	}
}
