package engine_test

import (
	"context"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/memory"
)

func TestAuditVerifiesEveryRecordedDecision(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED\nif proposal.get_no_votes().count() >= 2:\n  return FAILED")
	for _, id := range []string{"a1", "a2"} {
		if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename(id)}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.HandleActionProposed(ctx, "c1", id, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	p1, p2 := evaluation.DeriveID("proposal", "a1", "p-vote"), evaluation.DeriveID("proposal", "a2", "p-vote")
	for _, v := range []struct {
		pid, user string
		yes       bool
	}{{p1, "u2", true}, {p2, "u2", false}, {p1, "u3", true}, {p2, "u3", false}} {
		if _, err := e.CastVote(ctx, bus.CastVote{CommunityID: "c1", ProposalID: v.pid, Vote: domain.Vote{UserID: v.user, Kind: domain.VoteBoolean, Boolean: v.yes}}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := engine.LoadProposal(ctx, store, p1)
	for _, f := range p.Effects {
		if _, err := e.RecordEffectResult(ctx, bus.RecordEffectResult{CommunityID: "c1", ProposalID: p1, EffectID: f.ID, Result: map[string]any{"ok": true}}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Recheck(ctx, bus.RecheckProposal{CommunityID: "c1", ProposalID: p2}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}

	var calls int
	rep, err := engine.Verify(ctx, store, e.Loop(), func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 0 {
		m := rep.Mismatches[0]
		t.Fatalf("%d mismatches; first (%s, %s): %s\nwant %v\ngot  %v", len(rep.Mismatches), m.Decision.Kind, m.Decision.Cause, m.Reason, m.Want, m.Got)
	}
	// 2 evaluations, 4 votes, the effect results of p1 (revert, post, execute).
	if rep.Decisions < 2+4+3 || calls != rep.Decisions {
		t.Fatalf("%d decisions verified (%d progress calls)", rep.Decisions, calls)
	}

	// A forged decision: a proposal "passed" that its policy never passed.
	a3 := rename("a3")
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a3}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleActionProposed(ctx, "c1", "a3", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	p3, _ := engine.LoadProposal(ctx, store, evaluation.DeriveID("proposal", "a3", "p-vote"))
	forged, _ := p3.DecidePassProposal(domain.PassProposal{Reason: "trust me"}, t0)
	if err := engine.Append(ctx, store, domain.ProposalStream(p3.ID), p3.Version, forged, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	rep, err = engine.Verify(ctx, store, e.Loop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 {
		t.Fatalf("%d mismatches after a forged decision, want 1", len(rep.Mismatches))
	}
}

// A log written before checks recorded what brings their next one (ProposalEvaluated
// without recheck) verifies as it did.
func TestAuditVerifiesChecksRecordedBeforeTheyNamedTheirNextCheck(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 3, "if proposal.get_yes_votes().count() >= 2:\n  return PASSED")
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	c, err := engine.LoadCommunity(ctx, store, "c1")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := engine.LoadAction(ctx, store, "a1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Loop().ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	stripped := 0
	for _, ch := range out.Changes {
		for i, ev := range ch.Events {
			if pe, ok := ev.(domain.ProposalEvaluated); ok && pe.Recheck != "" {
				pe.Recheck = ""
				ch.Events[i] = pe
				stripped++
			}
		}
	}
	if stripped == 0 {
		t.Fatal("the check recorded nothing about its next check")
	}
	if err := engine.AppendOutcome(ctx, store, out, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	rep, err := engine.Verify(ctx, store, e.Loop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions == 0 || len(rep.Mismatches) != 0 {
		t.Fatalf("%d decisions, mismatches %+v", rep.Decisions, rep.Mismatches)
	}
}
