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

// An adapter names initiators and voters by their platform ids; the engine registers each
// new member once, with one id however often (or concurrently) they are named.
func TestMembersNamedByPlatformAreRegisteredOnce(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := mustEngine(t, store)
	before := mustSlackCommunity(t, store, 2, "if proposal.get_yes_votes().count() >= 1:\n  return PASSED")

	newcomer := &bus.PlatformUser{Platform: domain.PlatformSlack, Username: "UNEW"}
	a := rename("a1")
	a.InitiatorID = ""
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a, Initiator: newcomer}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	rec, err := engine.LoadAction(ctx, store, "a1")
	if err != nil {
		t.Fatal(err)
	}
	want := engine.PlatformUserID("c1", domain.PlatformSlack, "UNEW")
	if rec.Action.InitiatorID != want {
		t.Fatalf("initiator = %q, want the registered member %q", rec.Action.InitiatorID, want)
	}
	// A known member keeps the id the community gave them.
	b := rename("a2")
	b.InitiatorID = ""
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: b, Initiator: &bus.PlatformUser{Platform: domain.PlatformSlack, Username: "U1"}}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if rec, _ := engine.LoadAction(ctx, store, "a2"); rec.Action.InitiatorID != "u1" {
		t.Fatalf("known member's initiator = %q, want u1", rec.Action.InitiatorID)
	}

	// The newcomer votes by username, and another new member's first act is a vote.
	if _, err := e.HandleActionProposed(ctx, "c1", "a1", engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a1", "p-vote")
	for _, name := range []string{"UNEW", "UVOTER"} {
		v := bus.CastVote{CommunityID: "c1", ProposalID: pid, Platform: domain.PlatformSlack,
			Vote: domain.Vote{Username: name, Kind: domain.VoteBoolean, Boolean: name == "UVOTER"}}
		if _, err := e.RecordVote(ctx, v, engine.NewMeta()); err != nil {
			t.Fatalf("vote by %s: %v", name, err)
		}
	}
	p, err := engine.LoadProposal(ctx, store, pid)
	if err != nil {
		t.Fatal(err)
	}
	voter := engine.PlatformUserID("c1", domain.PlatformSlack, "UVOTER")
	if v, ok := p.Votes[voter]; !ok || !v.Boolean {
		t.Fatalf("votes %v: want a yes by the new member %s", p.Votes, voter)
	}

	c, err := engine.UpdateCommunity(ctx, store, "c1", engine.NewMeta(), func(*domain.Community) ([]domain.Event, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, wantN := len(c.Users), len(before.Users)+2; got != wantN {
		t.Fatalf("%d users, want %d: each new member registered once", got, wantN)
	}

	// A member of a platform the community has not connected is refused and not registered.
	d := rename("a3")
	d.InitiatorID = ""
	err = e.ProposeAction(ctx, bus.ProposeAction{Action: d, Initiator: &bus.PlatformUser{Platform: domain.PlatformDiscord, Username: "D1"}}, engine.NewMeta())
	if domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("initiator on an unconnected platform: %v, want INVALID", err)
	}
	if rec, _ := engine.LoadAction(ctx, store, "a3"); rec.Proposed() {
		t.Fatal("the action was recorded although its initiator was refused")
	}
}
