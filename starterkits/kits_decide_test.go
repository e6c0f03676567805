package starterkits_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/starterkits"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// kitCommunity creates a Slack community with four members (the first two admins) and the
// named kit applied, created by the first member.
func kitCommunity(t *testing.T, kitName string) *domain.Community {
	t.Helper()
	c := &domain.Community{}
	apply := func(evs []domain.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			c.Apply(e)
		}
	}
	apply(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Kit", Platform: domain.PlatformSlack}, t0))
	for i := 1; i <= 4; i++ {
		apply(c.DecideRegisterUser(domain.RegisterUser{UserID: fmt.Sprintf("u%d", i), Platform: domain.PlatformSlack,
			Username: fmt.Sprintf("U%d", i), ReadableName: fmt.Sprintf("User %d", i), IsAdmin: i <= 2}, t0))
	}
	kit, err := starterkits.Load(kitName)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, kit.PolicyCount())
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", kitName, i)
	}
	apply(c.DecideApplyStarterKit(domain.ApplyStarterKit{Kit: kit, Platform: domain.PlatformSlack, CreatorID: "u1", PolicyIDs: ids}, t0))
	return c
}

func proposeRole(t *testing.T, loop *evaluation.Loop, c *domain.Community, initiator string) (*domain.ActionRecord, *domain.Proposal) {
	t.Helper()
	a, err := domain.NewConstitutionAction("a1", "c1", initiator, domain.AddRole{Name: "Gardener"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &domain.ActionRecord{}
	evs, err := rec.DecideProposeAction(domain.ProposeAction{Action: a}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		rec.Apply(e)
	}
	out, err := loop.ActionProposed(context.Background(), c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GoverningProposalID == "" {
		t.Fatalf("no policy governs the action; events %v", out.Events())
	}
	p := &domain.Proposal{}
	for _, ch := range out.Changes {
		if ch.Stream == domain.ProposalStream(rec.GoverningProposalID) {
			for _, e := range ch.Events {
				p.Apply(e)
			}
		}
	}
	return rec, p
}

// answerVote answers the proposal's initiate_vote question as a platform adapter would.
func answerVote(t *testing.T, loop *evaluation.Loop, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal) domain.Effect {
	t.Helper()
	for _, e := range p.Effects {
		if e.Purpose == domain.PurposeQuery && e.Method == "initiate_vote" {
			if _, err := loop.EffectResult(context.Background(), c, rec, p, e.ID, map[string]any{"post_id": "P1", "url": "https://example/P1"}, "", t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	t.Fatalf("no initiate_vote question; effects %+v", p.Effects)
	return domain.Effect{}
}

func vote(t *testing.T, loop *evaluation.Loop, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, user string, yes bool, at time.Duration) {
	t.Helper()
	if _, err := loop.CastVote(context.Background(), c, rec, p, domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: yes}, t0.Add(at)); err != nil {
		t.Fatalf("vote by %s: %v", user, err)
	}
}

func newLoop(t *testing.T) *evaluation.Loop {
	t.Helper()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return evaluation.New(rt, 0)
}

func TestDemocracyKitDecidesByVoters(t *testing.T) {
	loop := newLoop(t)
	t.Run("half of the voters approve", func(t *testing.T) {
		c := kitCommunity(t, "democracy")
		rec, p := proposeRole(t, loop, c, "u3")
		vote := answerVote(t, loop, c, rec, p)
		users, _ := vote.Args["users"].([]any)
		if len(users) != 2 {
			t.Fatalf("vote offered to %v, want the two voters", vote.Args["users"])
		}
		voteAs := func(u string, yes bool) {
			if _, err := loop.CastVote(context.Background(), c, rec, p, domain.Vote{UserID: u, Kind: domain.VoteBoolean, Boolean: yes}, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		voteAs("u1", true) // a voter: 1 of ceil(2/2) = 1 needed
		if p.Status != domain.StatusPassed {
			t.Fatalf("status %s after a voter's approval", p.Status)
		}
		if _, ok := c.Roles["Gardener"]; !ok {
			t.Fatal("the passed constitution action was not applied")
		}
	})
	t.Run("non-voters do not count and a day without approval fails", func(t *testing.T) {
		c := kitCommunity(t, "democracy")
		rec, p := proposeRole(t, loop, c, "u3")
		answerVote(t, loop, c, rec, p)
		if _, err := loop.CastVote(context.Background(), c, rec, p, domain.Vote{UserID: "u4", Kind: domain.VoteBoolean, Boolean: true}, t0.Add(time.Minute)); domain.ErrorCode(err) != domain.CodeForbidden {
			t.Fatalf("a base user voted: %v", err)
		}
		if _, err := loop.Recheck(context.Background(), c, rec, p, t0.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if p.Status != domain.StatusFailed {
			t.Fatalf("status %s after a day", p.Status)
		}
		if _, ok := c.Roles["Gardener"]; ok {
			t.Fatal("a failed action was applied")
		}
	})
}

func TestJuryKitDrawsAJuryAndCountsOnlyJurors(t *testing.T) {
	loop := newLoop(t)
	c := kitCommunity(t, "jury")
	rec, p := proposeRole(t, loop, c, "u3")
	jury, _ := p.Data["jury"].([]any)
	if len(jury) != 3 {
		t.Fatalf("jury = %v, want three members drawn", p.Data["jury"])
	}
	q := answerVote(t, loop, c, rec, p)
	if users, _ := q.Args["users"].([]any); len(users) != 3 {
		t.Fatalf("vote offered to %v, want the jury", q.Args["users"])
	}
	inJury := map[string]bool{}
	for _, j := range jury {
		inJury[j.(string)] = true
	}
	var jurors, outsiders []string
	for i := 1; i <= 4; i++ {
		if inJury[fmt.Sprintf("U%d", i)] {
			jurors = append(jurors, fmt.Sprintf("u%d", i))
		} else {
			outsiders = append(outsiders, fmt.Sprintf("u%d", i))
		}
	}
	vote(t, loop, c, rec, p, outsiders[0], true, time.Minute)
	vote(t, loop, c, rec, p, jurors[0], true, 2*time.Minute)
	if p.Status != domain.StatusProposed {
		t.Fatalf("status %s with one juror and one outsider approving", p.Status)
	}
	vote(t, loop, c, rec, p, jurors[1], true, 3*time.Minute)
	if p.Status != domain.StatusPassed {
		t.Fatalf("status %s with two jurors approving", p.Status)
	}
	// The draw is deterministic for the proposal, so an audit replay draws the same jury.
	c2 := kitCommunity(t, "jury")
	_, p2 := proposeRole(t, loop, c2, "u3")
	if fmt.Sprint(p2.Data["jury"]) != fmt.Sprint(p.Data["jury"]) {
		t.Fatalf("jury drawn again = %v, first %v", p2.Data["jury"], p.Data["jury"])
	}
}
