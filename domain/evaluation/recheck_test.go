package evaluation_test

import (
	"context"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

// lastCheck is what the outcome's last recorded check says brings the next one ("" when the
// outcome recorded no check).
func lastCheck(o evaluation.Outcome) string {
	got := ""
	for _, e := range o.Events() {
		if pe, ok := e.(domain.ProposalEvaluated); ok && pe.Block == domain.BlockCheck {
			got = pe.Recheck
		}
	}
	return got
}

// A check that reads only votes needs no timed re-check; once a vote makes it read the
// clock it does, and that change is recorded although the check changed nothing else.
func TestACheckRecordsWhatBringsItsNextCheck(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{Check: "if proposal.get_yes_votes().count() >= 1:\n" +
		"  if proposal.get_time_elapsed() > datetime.timedelta(hours=3):\n    return PASSED\n" +
		"return PROPOSED"}
	mustPolicy(t, c, "p-cooling", domain.KindPlatform, nil, code, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastCheck(out); got != domain.RecheckOnEvent {
		t.Fatalf("first check: recheck %q, want %q", got, domain.RecheckOnEvent)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-cooling"))
	if !p.CheckOnEvent {
		t.Fatal("the proposal does not know its check needs no timed re-check")
	}

	// A due re-check of it changes nothing and appends nothing, and says so to the schedule;
	// a probe without the action (nil) comes out the same.
	if out, err := loop.Recheck(ctx, c, nil, p, t0.Add(time.Hour)); err != nil || !out.Empty() {
		t.Fatalf("probe: %v %v", eventTypes(out), err)
	}
	out, err = loop.Recheck(ctx, c, rec, p, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Empty() || out.OnEvent[p.ID] != p.Version {
		t.Fatalf("quiet re-check: %v, on event %v (version %d)", eventTypes(out), out.OnEvent, p.Version)
	}

	// A vote: the check now reads the clock. It still returns PROPOSED, and records that.
	if _, err := loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p.CheckOnEvent || p.Status != domain.StatusProposed {
		t.Fatalf("after the vote: on event %v, status %s", p.CheckOnEvent, p.Status)
	}
	out, err = loop.Recheck(ctx, c, rec, p, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Empty() || len(out.OnEvent) != 0 {
		t.Fatalf("timed re-check before the deadline: %v, on event %v", eventTypes(out), out.OnEvent)
	}
	if _, err := loop.Recheck(ctx, c, rec, p, t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusPassed {
		t.Fatalf("after the cooling-off period: %s", p.Status)
	}
}

// A check that reads the community (a voter's roles) may change without an event on the
// proposal: it is re-checked on time.
func TestACheckThatReadsTheCommunityIsTimed(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{Check: "mods = [v for v in proposal.get_yes_votes() if v.user.has_role('Moderator')]\n" +
		"if len(mods) >= 1:\n  return PASSED\nreturn PROPOSED"}
	mustPolicy(t, c, "p-mods", domain.KindPlatform, nil, code, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-mods"))
	if _, err := loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0); err != nil {
		t.Fatal(err)
	}
	if p.CheckOnEvent {
		t.Fatal("a check reading a voter's roles needs no timed re-check")
	}
}
