package evaluation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/policy"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustRuntime(tb testing.TB) *policy.Runtime {
	tb.Helper()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return rt
}

func mustApply(tb testing.TB, c *domain.Community) func([]domain.Event, error) {
	return func(evs []domain.Event, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range evs {
			c.Apply(e)
		}
	}
}

// community: slack community with alice (base user), bob (no roles beyond base), and a
// "Moderator" role with execute on everything.
func mustCommunity(tb testing.TB, basePerms ...string) *domain.Community {
	tb.Helper()
	c := &domain.Community{}
	mustApply(tb, c)(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Garden", Platform: domain.PlatformSlack}, t0))
	for _, u := range []domain.RegisterUser{
		{UserID: "u-alice", Platform: domain.PlatformSlack, Username: "U1", ReadableName: "Alice"},
		{UserID: "u-bob", Platform: domain.PlatformSlack, Username: "U2", ReadableName: "Bob"},
		{UserID: "u-mod", Platform: domain.PlatformSlack, Username: "U3", ReadableName: "Mo"},
	} {
		mustApply(tb, c)(c.DecideRegisterUser(u, t0))
	}
	var perms []domain.Permission
	for _, p := range basePerms {
		q, err := domain.ParsePermission(p)
		if err != nil {
			tb.Fatal(err)
		}
		perms = append(perms, q)
	}
	mustApply(tb, c)(c.DecideAddRole(domain.AddRole{Name: "Base User", IsBase: true, Permissions: perms}, t0))
	mustApply(tb, c)(c.DecideAddRole(domain.AddRole{Name: "Moderator", Permissions: []domain.Permission{{Verb: domain.VerbExecute, ActionType: "*"}}}, t0))
	mustApply(tb, c)(c.DecideAddUserRole(domain.AddUserRole{Role: "Moderator", UserIDs: []string{"u-mod"}}, t0))
	return c
}

func mustPolicy(tb testing.TB, c *domain.Community, id string, kind domain.Kind, types []string, code domain.PolicyCode, priority int) {
	tb.Helper()
	mustApply(tb, c)(c.DecideAddPolicy(domain.AddPolicy{PolicyID: id, Kind: kind, Name: id, ActionTypes: types, PolicyCode: code, Priority: priority}, t0))
}

func mustAction(tb testing.TB, a domain.Action) *domain.ActionRecord {
	tb.Helper()
	rec := &domain.ActionRecord{}
	evs, err := rec.DecideProposeAction(domain.ProposeAction{Action: a}, a.ProposedAt)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range evs {
		rec.Apply(e)
	}
	return rec
}

func eventTypes(o evaluation.Outcome) []string {
	var out []string
	for _, e := range o.Events() {
		out = append(out, e.EventType())
	}
	return out
}

func hasEvent(o evaluation.Outcome, typ string) bool {
	for _, e := range o.Events() {
		if e.EventType() == typ {
			return true
		}
	}
	return false
}

func effects(o evaluation.Outcome) []domain.EffectRequested {
	var out []domain.EffectRequested
	for _, e := range o.Events() {
		if r, ok := e.(domain.EffectRequested); ok {
			out = append(out, r)
		}
	}
	return out
}

// proposalOf folds the proposal stream of the outcome's first proposal change.
func proposalOf(tb testing.TB, o evaluation.Outcome, id string) *domain.Proposal {
	tb.Helper()
	p := &domain.Proposal{}
	for _, ch := range o.Changes {
		if ch.Stream == domain.ProposalStream(id) {
			for _, e := range ch.Events {
				p.Apply(e)
			}
		}
	}
	if !p.Opened() {
		tb.Fatalf("no proposal %s in outcome %v", id, eventTypes(o))
	}
	return p
}

func renameAction(initiator string) domain.Action {
	return domain.Action{
		ID: "a-rename", CommunityID: "c1", Kind: domain.KindPlatform, Type: "slackrenameconversation",
		Platform: domain.PlatformSlack, InitiatorID: initiator, Reversible: true, ExternalID: "Ev1",
		Fields: map[string]any{"name": "new-name", "previous_name": "old", "channel": "C1"}, ProposedAt: t0,
	}
}

// The seed's "Vote on renaming Slack channels", as authored.
var renameVote = domain.PolicyCode{
	Filter:     "return True\n\n",
	Initialize: "pass\n\n",
	Check:      "yes_votes = proposal.get_yes_votes().count()\nno_votes = proposal.get_no_votes().count()\nlogger.debug(f\"{yes_votes} for, {no_votes} against\")\nif yes_votes >= 1:\n  return PASSED\nelif no_votes >= 1:\n  return FAILED\n\nlogger.debug(\"No votes yet....\")\nreturn PROPOSED\n",
	Notify:     "message = f\"Should this channel be renamed to #{action.name}? Vote with :thumbsup: or :thumbsdown: on this post.\"\nslack.initiate_vote(text=message)",
	Success:    "text = f\"Proposal to rename this channel to #{action.name} passed.\"\nslack.post_message(text=text, channel=action.channel, thread_ts=proposal.vote_post_id)",
	Fail:       "text = f\"Proposal to rename this channel to #{action.name} failed.\"\nslack.post_message(text=text, channel=action.channel, thread_ts=proposal.vote_post_id)",
}

func TestRenameVoteFromRevertToExecution(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "view:*", "vote:*")
	mustPolicy(t, c, "pol-rename", domain.KindPlatform, []string{"slackrenameconversation"}, renameVote, 0)
	rec := mustAction(t, renameAction("u-alice"))

	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	pid := evaluation.DeriveID("proposal", "a-rename", "pol-rename")
	p := proposalOf(t, out, pid)
	if p.Status != domain.StatusProposed {
		t.Fatalf("status = %s, want PROPOSED", p.Status)
	}
	var purposes []string
	for _, e := range effects(out) {
		purposes = append(purposes, e.Purpose+":"+e.Method)
	}
	if strings.Join(purposes, ",") != "revert:revert,query:initiate_vote" {
		t.Fatalf("effects = %v, want the revert then the initiate_vote query", purposes)
	}
	if rec.Status != domain.ActionStatusReverted || rec.GoverningProposalID != pid {
		t.Fatalf("action status %s governed by %q", rec.Status, rec.GoverningProposalID)
	}
	if p.Notified {
		t.Fatal("notified before initiate_vote was answered")
	}

	// The adapter answers initiate_vote with the post it made; notify runs once, for real.
	var query domain.EffectRequested
	for _, e := range effects(out) {
		if e.Purpose == domain.PurposeQuery {
			query = e
		}
	}
	out, err = loop.EffectResult(ctx, c, rec, p, query.EffectID, map[string]any{"post_id": "1700.1", "url": "https://slack/p1"}, "", t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Notified || p.VotePostID != "1700.1" {
		t.Fatalf("after answer: notified=%v vote post=%q (events %v)", p.Notified, p.VotePostID, eventTypes(out))
	}
	// A check with no new votes changes nothing and appends nothing.
	out, err = loop.Recheck(ctx, c, rec, p, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Empty() {
		t.Fatalf("idle re-check appended %v", eventTypes(out))
	}

	// Bob votes yes: the proposal passes at once, posts the result and executes the rename.
	out, err = loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusPassed {
		t.Fatalf("status after yes vote = %s (events %v)", p.Status, eventTypes(out))
	}
	var post, exec *domain.EffectRequested
	for _, e := range effects(out) {
		switch e.Method {
		case "post_message":
			post = &e
		case "execute":
			exec = &e
		}
	}
	if post == nil || post.Args["thread_ts"] != "1700.1" || post.Args["text"] != "Proposal to rename this channel to #new-name passed." {
		t.Fatalf("post_message = %+v", post)
	}
	if exec == nil || exec.Args["action_type"] != "slackrenameconversation" {
		t.Fatalf("execute effect = %+v", exec)
	}
	if rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("action status = %s, want executed", rec.Status)
	}
}

func TestRenameVoteFailsOnNo(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	mustPolicy(t, c, "pol-rename", domain.KindPlatform, []string{"slackrenameconversation"}, renameVote, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "pol-rename"))
	if _, err := loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: false}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusFailed || rec.Status != domain.ActionStatusRejected {
		t.Fatalf("proposal %s, action %s; want FAILED and rejected", p.Status, rec.Status)
	}
	for _, e := range p.Effects {
		if e.Purpose == domain.PurposeExecute {
			t.Fatal("a failed proposal executed the action")
		}
	}
}

func TestPermissionGate(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)

	t.Run("execute permission executes without a proposal", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "pol-rename", domain.KindPlatform, nil, renameVote, 0)
		rec := mustAction(t, renameAction("u-mod"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		if hasEvent(out, domain.EventProposalOpened) {
			t.Fatal("a proposal was opened for an initiator with the execute permission")
		}
		if rec.Status != domain.ActionStatusExecuted {
			t.Fatalf("action status = %s", rec.Status)
		}
	})
	t.Run("without propose permission a reversible action is reverted", func(t *testing.T) {
		c := mustCommunity(t, "view:*")
		mustPolicy(t, c, "pol-rename", domain.KindPlatform, nil, renameVote, 0)
		rec := mustAction(t, renameAction("u-bob"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		if hasEvent(out, domain.EventProposalOpened) {
			t.Fatal("a proposal was opened for an initiator without the propose permission")
		}
		if rec.Status != domain.ActionStatusRejected || !rec.Reverted {
			t.Fatalf("action status = %s reverted=%v", rec.Status, rec.Reverted)
		}
		if len(rec.Effects) != 1 {
			t.Fatalf("want one revert effect on the action, got %v", rec.Effects)
		}
	})
	t.Run("voting needs the vote permission", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "pol-rename", domain.KindPlatform, nil, renameVote, 0)
		rec := mustAction(t, renameAction("u-alice"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "pol-rename"))
		_, err = loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0)
		if domain.ErrorCode(err) != domain.CodeForbidden {
			t.Fatalf("err = %v, want forbidden", err)
		}
	})
}

func TestCandidateSelection(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	pass := domain.PolicyCode{Check: "return PASSED"}
	fail := domain.PolicyCode{Check: "return FAILED"}

	t.Run("filter error counts as false and is recorded", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "p-broken", domain.KindPlatform, []string{"slackrenameconversation"}, domain.PolicyCode{Filter: "return action.nope", Check: "return FAILED"}, 0)
		mustPolicy(t, c, "p-base", domain.KindPlatform, nil, pass, 0)
		rec := mustAction(t, renameAction("u-alice"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.FilterErrors) != 1 || rec.FilterErrors[0].PolicyID != "p-broken" {
			t.Fatalf("filter errors = %+v", rec.FilterErrors)
		}
		if rec.GoverningProposalID != evaluation.DeriveID("proposal", "a-rename", "p-base") || rec.Status != domain.ActionStatusExecuted {
			t.Fatalf("governed by %s, status %s (events %v)", rec.GoverningProposalID, rec.Status, eventTypes(out))
		}
	})
	t.Run("a filter that writes proposal.data does not govern: PolicyKit raises there", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "p-writes", domain.KindPlatform, []string{"slackrenameconversation"},
			domain.PolicyCode{Filter: "proposal.data.set('seen', True)\nreturn True", Check: "return FAILED"}, 0)
		mustPolicy(t, c, "p-base", domain.KindPlatform, nil, pass, 0)
		rec := mustAction(t, renameAction("u-alice"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.FilterErrors) != 1 || rec.FilterErrors[0].PolicyID != "p-writes" || !strings.Contains(rec.FilterErrors[0].Error, "line 1 of filter") {
			t.Fatalf("filter errors = %+v", rec.FilterErrors)
		}
		if rec.GoverningProposalID != evaluation.DeriveID("proposal", "a-rename", "p-base") || rec.Status != domain.ActionStatusExecuted {
			t.Fatalf("governed by %s, status %s (events %v)", rec.GoverningProposalID, rec.Status, eventTypes(out))
		}
	})
	t.Run("error in first evaluation moves on to the next candidate", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "p-crash", domain.KindPlatform, []string{"slackrenameconversation"}, domain.PolicyCode{Check: "return 1 // 0"}, 0)
		mustPolicy(t, c, "p-base", domain.KindPlatform, nil, fail, 0)
		rec := mustAction(t, renameAction("u-alice"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		crashed := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-crash"))
		if crashed.Status != domain.StatusFailed {
			t.Fatalf("crashed proposal status = %s", crashed.Status)
		}
		if rec.GoverningProposalID != evaluation.DeriveID("proposal", "a-rename", "p-base") || rec.Status != domain.ActionStatusRejected {
			t.Fatalf("governed by %s, status %s", rec.GoverningProposalID, rec.Status)
		}
	})
	t.Run("explicit priority wins over specificity", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "p-specific", domain.KindPlatform, []string{"slackrenameconversation"}, fail, 5)
		mustPolicy(t, c, "p-base", domain.KindPlatform, nil, pass, 1)
		rec := mustAction(t, renameAction("u-alice"))
		if _, err := loop.ActionProposed(ctx, c, rec, t0); err != nil {
			t.Fatal(err)
		}
		if rec.GoverningProposalID != evaluation.DeriveID("proposal", "a-rename", "p-base") {
			t.Fatalf("governed by %s, want the priority-1 base policy", rec.GoverningProposalID)
		}
	})
	t.Run("a redelivered action decides nothing", func(t *testing.T) {
		c := mustCommunity(t, "propose:*")
		mustPolicy(t, c, "p-base", domain.KindPlatform, nil, pass, 0)
		rec := mustAction(t, renameAction("u-alice"))
		if _, err := loop.ActionProposed(ctx, c, rec, t0); err != nil {
			t.Fatal(err)
		}
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil || !out.Empty() {
			t.Fatalf("second delivery: %v %v", eventTypes(out), err)
		}
	})
}

func TestConstitutionActionPassesAndTriggers(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*")
	mustPolicy(t, c, "p-const", domain.KindConstitution, nil, domain.PolicyCode{Check: "return PASSED"}, 0)
	mustPolicy(t, c, "p-trigger", domain.KindTrigger, []string{"policykitaddrole"},
		domain.PolicyCode{Filter: "return True", Check: "return PASSED", Success: "slack.post_message(text='role added: ' + action.name, channel='C9')"}, 0)
	a, err := domain.NewConstitutionAction("a-role", "c1", "u-alice", domain.AddRole{Name: "Gardener", Description: "waters plants"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	rec := mustAction(t, a)
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Roles["Gardener"]; !ok {
		t.Fatalf("role not added (events %v)", eventTypes(out))
	}
	if rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("action status %s", rec.Status)
	}
	trig := proposalOf(t, out, evaluation.DeriveID("trigger", "a-role", "p-trigger"))
	if trig.Status != domain.StatusPassed {
		t.Fatalf("trigger proposal %s", trig.Status)
	}
	var posted bool
	for _, e := range effects(out) {
		if e.Method == "post_message" && e.Args["text"] == "role added: Gardener" {
			posted = true
		}
	}
	if !posted {
		t.Fatalf("trigger policy did not post (effects %+v)", effects(out))
	}
	last := out.Changes[len(out.Changes)-1]
	if last.Stream != domain.CommunityStream("c1") || last.Expected == 0 {
		t.Fatalf("community change last with its expected version, got %+v", last.Stream)
	}
}

func TestDueRecheckFailsAfterDeadline(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{Check: "if proposal.get_time_elapsed() > datetime.timedelta(hours=3):\n  return FAILED\nreturn PROPOSED"}
	mustPolicy(t, c, "p-timer", domain.KindPlatform, nil, code, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-timer"))
	if out, _ := loop.Recheck(ctx, c, rec, p, t0.Add(2*time.Hour)); !out.Empty() || p.Status != domain.StatusProposed {
		t.Fatalf("before the deadline: %v status %s", eventTypes(out), p.Status)
	}
	if _, err := loop.Recheck(ctx, c, rec, p, t0.Add(3*time.Hour+time.Second)); err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusFailed || rec.Status != domain.ActionStatusRejected {
		t.Fatalf("after the deadline: proposal %s action %s", p.Status, rec.Status)
	}
}

func TestTriggerActionOpensOneProposalPerMatchingTriggerPolicy(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*")
	mustApply(t, c)(c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformOpenCollective}, t0))
	mustPolicy(t, c, "t-one", domain.KindTrigger, []string{"expensecreated"}, domain.PolicyCode{Check: "return PASSED"}, 0)
	mustPolicy(t, c, "t-two", domain.KindTrigger, nil, domain.PolicyCode{Check: "return None"}, 0)
	mustPolicy(t, c, "t-skip", domain.KindTrigger, []string{"expensecreated"}, domain.PolicyCode{Filter: "return action.amount > 100", Check: "return PASSED"}, 0)
	mustPolicy(t, c, "t-other", domain.KindTrigger, []string{"expensepaid"}, domain.PolicyCode{Check: "return PASSED"}, 0)
	rec := mustAction(t, domain.Action{ID: "a-exp", CommunityID: "c1", Kind: domain.KindTrigger, Type: "expensecreated",
		Platform: domain.PlatformOpenCollective, Fields: map[string]any{"amount": 50, "description": "paint"}, ProposedAt: t0})
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	one := proposalOf(t, out, evaluation.DeriveID("trigger", "a-exp", "t-one"))
	two := proposalOf(t, out, evaluation.DeriveID("trigger", "a-exp", "t-two"))
	if one.Status != domain.StatusPassed || two.Status != domain.StatusProposed {
		t.Fatalf("statuses %s / %s; want PASSED and PROPOSED (None means PROPOSED)", one.Status, two.Status)
	}
	if len(rec.ProposalIDs) != 2 {
		t.Fatalf("proposals = %v, want exactly the two matching trigger policies", rec.ProposalIDs)
	}
	for _, e := range effects(out) {
		if e.Purpose == domain.PurposeRevert || e.Purpose == domain.PurposeExecute {
			t.Fatalf("a trigger action was reverted or executed: %+v", e)
		}
	}
}

func TestInitializeRunsOnceAndNotifyRunsOnce(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{
		Initialize: "logger.info('initialized')\nreturn {'quorum': 2}",
		Check:      "if proposal.get_yes_votes().count() >= variables['quorum']:\n  return PASSED",
		Notify:     "slack.post_message(text='please vote', channel='C1')",
	}
	mustPolicy(t, c, "p-quorum", domain.KindPlatform, nil, code, 0)
	a := renameAction("u-alice")
	a.Reversible = false // proposed from the web: nothing to revert
	rec := mustAction(t, a)
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-quorum"))
	if p.Variables["quorum"] != json.Number("2") {
		t.Fatalf("variables = %v", p.Variables)
	}
	if rec.Reverted || rec.Status != domain.ActionStatusProposed {
		t.Fatalf("a web-proposed action was reverted (status %s)", rec.Status)
	}
	countNotify := func() int {
		n := 0
		for _, e := range p.Effects {
			if e.Method == "post_message" {
				n++
			}
		}
		return n
	}
	for i, user := range []string{"u-bob", "u-mod"} {
		if _, err := loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: true}, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if p.BlockRuns[domain.BlockInitialize] != 1 || countNotify() != 1 || p.BlockRuns[domain.BlockNotify] != 1 {
		t.Fatalf("initialize ran %d times, notify %d times (%d posts)", p.BlockRuns[domain.BlockInitialize], p.BlockRuns[domain.BlockNotify], countNotify())
	}
	if p.Status != domain.StatusPassed {
		t.Fatalf("status %s after two yes votes with quorum 2", p.Status)
	}
	if rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("action %s", rec.Status)
	}
}

func TestFirstEvaluationFailureRevertsAndFails(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*")
	mustPolicy(t, c, "p-no", domain.KindPlatform, nil, domain.PolicyCode{
		Check: "return FAILED",
		Fail:  "slack.post_message(text='not allowed', channel=action.channel, users=[action.initiator], post_type='ephemeral')",
	}, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, e := range effects(out) {
		methods = append(methods, e.Method)
	}
	if strings.Join(methods, ",") != "revert,post_message" {
		t.Fatalf("effects %v, want the revert and then the fail block's post", methods)
	}
	if !rec.Reverted || rec.Status != domain.ActionStatusRejected {
		t.Fatalf("action reverted=%v status=%s", rec.Reverted, rec.Status)
	}
	post := effects(out)[1]
	if users, _ := post.Args["users"].([]any); len(users) != 1 || users[0] != "U1" {
		t.Fatalf("ephemeral post users = %v", post.Args["users"])
	}
}

func TestErrorInALaterCheckFailsTheProposalWithItsReason(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	mustPolicy(t, c, "p-fragile", domain.KindPlatform, nil, domain.PolicyCode{
		Check: "if proposal.get_yes_votes().count() > 0:\n  return {}['missing']\nreturn PROPOSED",
	}, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-fragile"))
	out, err = loop.CastVote(ctx, c, rec, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != domain.StatusFailed || rec.Status != domain.ActionStatusRejected {
		t.Fatalf("proposal %s action %s", p.Status, rec.Status)
	}
	var logged string
	for _, e := range out.Events() {
		if ev, ok := e.(domain.ProposalEvaluated); ok && ev.Error != "" {
			logged = ev.Error
		}
	}
	if !strings.HasPrefix(logged, "KeyError at line 2 of check:") {
		t.Fatalf("logged error %q", logged)
	}
}

func TestFailedExecuteEffectMarksTheActionExecutionFailed(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*")
	mustPolicy(t, c, "p-pass", domain.KindPlatform, nil, domain.PolicyCode{Check: "return PASSED"}, 0)
	a := renameAction("u-alice")
	a.Reversible = false // proposed from the web: passing it asks Slack to do it
	rec := mustAction(t, a)
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-pass"))
	var exec string
	for _, e := range p.Effects {
		if e.Purpose == domain.PurposeExecute {
			exec = e.ID
		}
	}
	if exec == "" || rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("execute effect %q, action %s", exec, rec.Status)
	}
	if _, err := loop.EffectResult(ctx, c, rec, p, exec, nil, "channel_not_found", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if rec.Status != domain.ActionStatusExecutionFailed || rec.Reason != "channel_not_found" {
		t.Fatalf("action %s (%q) after the execute effect failed", rec.Status, rec.Reason)
	}
	if p.Effects[exec].Status != domain.EffectStatusFailed {
		t.Fatalf("effect status %s", p.Effects[exec].Status)
	}
}

// PolicyKit runs check and notify as one evaluation. When notify waits for a platform's
// answer (initiate_vote), the evaluation resumes at notify: check's post is requested once.
func TestCheckEffectsAreRequestedOncePerEvaluationWhenNotifyWaitsForAnAnswer(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{
		Check:  "slack.post_message(text='checking', channel='C1')\nreturn PROPOSED",
		Notify: "slack.initiate_vote(text='vote please', channel='C1')",
	}
	mustPolicy(t, c, "p-post", domain.KindPlatform, nil, code, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-post"))
	var query domain.EffectRequested
	for _, e := range effects(out) {
		if e.Purpose == domain.PurposeQuery {
			query = e
		}
	}
	if query.EffectID == "" {
		t.Fatalf("no initiate_vote query in %v", eventTypes(out))
	}
	// The post being made is recorded; it is no reason to evaluate again.
	for _, e := range effects(out) {
		if e.Method == "post_message" {
			if _, err := loop.EffectResult(ctx, c, rec, p, e.EffectID, map[string]any{"ts": "1699.9"}, "", t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := loop.EffectResult(ctx, c, rec, p, query.EffectID, map[string]any{"post_id": "1700.1"}, "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !p.Notified || p.VotePostID != "1700.1" {
		t.Fatalf("notified=%v vote post=%q", p.Notified, p.VotePostID)
	}
	posts := 0
	for _, e := range p.Effects {
		if e.Method == "post_message" {
			posts++
		}
	}
	if posts != 1 || p.BlockRuns[domain.BlockCheck] != 1 {
		t.Fatalf("check ran %d times and requested %d posts in one evaluation, want 1 and 1", p.BlockRuns[domain.BlockCheck], posts)
	}
	// The next evaluation is a new one: its check posts again.
	if _, err := loop.Recheck(ctx, c, rec, p, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	posts = 0
	for _, e := range p.Effects {
		if e.Method == "post_message" {
			posts++
		}
	}
	if posts != 2 {
		t.Fatalf("the next evaluation requested %d posts in all, want 2", posts)
	}
}

// Discord and Slack ids are integers above 2^53: they stay exact from the action's JSON
// through policy code into effect args and proposal.data, and through the event codec.
func TestIntegersAbove2To53StayExactEndToEnd(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{
		Check: "proposal.data.set('msg', action.msg_id)\n" +
			"slack.schedule_message(text=f'{action.msg_id}', channel='C1', post_at=action.msg_id + 1)\n" +
			"return PROPOSED",
	}
	mustPolicy(t, c, "p-big", domain.KindPlatform, nil, code, 0)
	a := renameAction("u-alice")
	a.Reversible = false
	var fields map[string]any
	if err := domain.DecodeJSON([]byte(`{"channel":"C1","msg_id":1150834529834852353}`), &fields); err != nil {
		t.Fatal(err)
	}
	a.Fields = fields
	rec := mustAction(t, a)
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	var stored []domain.Event
	for _, e := range out.Events() {
		typ, v, data, err := domain.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.Unmarshal(typ, v, data)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, back)
	}
	var sched *domain.EffectRequested
	for _, e := range stored {
		if r, ok := e.(domain.EffectRequested); ok && r.Method == "schedule_message" {
			sched = &r
		}
	}
	if sched == nil {
		t.Fatalf("no schedule_message in %v", eventTypes(out))
	}
	if got, _ := json.Marshal(sched.Args); string(got) != `{"channel":"C1","post_at":1150834529834852354,"text":"1150834529834852353"}` {
		t.Fatalf("effect args read back as %s", got)
	}
	p := domain.NewProposalFromEvents(stored[:0:0])
	for _, e := range stored {
		if e.Meta().ProposalID != "" {
			p.Apply(e)
		}
	}
	if got, _ := json.Marshal(p.Data); string(got) != `{"msg":1150834529834852353}` {
		t.Fatalf("proposal.data read back as %s", got)
	}
}

// An effect too large to carry on the bus is refused where the policy asks for it, with the
// reason in the evaluation's log, and the rest of the evaluation goes on; a question too large
// to ask fails its block.
func TestOversizedEffectsAreRefusedWhereTheyAreMade(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	big := fmt.Sprintf("%q * %d", "x", domain.MaxEffectArgsBytes+1)
	mustPolicy(t, c, "p-big", domain.KindPlatform, nil, domain.PolicyCode{
		Check: "slack.post_message(text=" + big + ", channel='C1')\nslack.post_message(text='small', channel='C1')\nreturn PASSED",
	}, 0)
	rec := mustAction(t, renameAction("u-alice"))
	out, err := loop.ActionProposed(ctx, c, rec, t0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range effects(out) {
		if e.Method == "post_message" {
			texts = append(texts, fmt.Sprint(e.Args["text"]))
		}
	}
	if len(texts) != 1 || texts[0] != "small" {
		t.Fatalf("posts requested: %d (%.20q)", len(texts), texts)
	}
	p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-big"))
	if p.Status != domain.StatusPassed {
		t.Fatalf("proposal %s", p.Status)
	}
	var refused bool
	for _, e := range out.Events() {
		if ev, ok := e.(domain.ProposalEvaluated); ok {
			for _, l := range ev.Logs {
				refused = refused || (l.Level == "error" && strings.Contains(l.Message, "slack.post_message not requested"))
			}
		}
	}
	if !refused {
		t.Fatal("the refusal is not in the evaluation's log")
	}

	c2 := mustCommunity(t, "propose:*", "vote:*")
	mustPolicy(t, c2, "p-big-vote", domain.KindPlatform, nil, domain.PolicyCode{
		Notify: "slack.initiate_vote(text=" + big + ")", Check: "return PROPOSED",
	}, 0)
	rec2 := mustAction(t, renameAction("u-alice"))
	out, err = loop.ActionProposed(ctx, c2, rec2, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range effects(out) {
		if e.Method == "initiate_vote" {
			t.Fatalf("a vote of %d bytes was requested", len(fmt.Sprint(e.Args["text"])))
		}
	}
	p2 := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-big-vote"))
	if p2.Status != domain.StatusFailed {
		t.Fatalf("proposal %s, want FAILED by the notify that cannot ask", p2.Status)
	}
}

// A vote recorded while notify waits for a platform's answer is checked when notify
// completes, in the same evaluation, instead of waiting for the next timed re-check; when
// nothing came meanwhile, check does not run again after notify.
func TestAVoteThatCameWhileNotifyWaitedIsCheckedWhenNotifyCompletes(t *testing.T) {
	ctx := context.Background()
	loop := evaluation.New(mustRuntime(t), 0)
	c := mustCommunity(t, "propose:*", "vote:*")
	code := domain.PolicyCode{
		Check:  "if proposal.get_yes_votes().count() >= 1:\n  return PASSED\nreturn PROPOSED",
		Notify: "slack.initiate_vote(text='vote please', channel='C1')",
	}
	mustPolicy(t, c, "p-vote", domain.KindPlatform, nil, code, 0)
	for _, withVote := range []bool{false, true} {
		rec := mustAction(t, renameAction("u-alice"))
		out, err := loop.ActionProposed(ctx, c, rec, t0)
		if err != nil {
			t.Fatal(err)
		}
		p := proposalOf(t, out, evaluation.DeriveID("proposal", "a-rename", "p-vote"))
		var query domain.EffectRequested
		for _, e := range effects(out) {
			if e.Purpose == domain.PurposeQuery {
				query = e
			}
		}
		if withVote {
			// recorded without a check, as the engine records votes
			if _, err := loop.RecordVote(c, p, domain.Vote{UserID: "u-bob", Kind: domain.VoteBoolean, Boolean: true}, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := loop.EffectResult(ctx, c, rec, p, query.EffectID, map[string]any{"post_id": "1700.1"}, "", t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if !p.Notified {
			t.Fatal("notify did not complete")
		}
		switch {
		case withVote && p.Status != domain.StatusPassed:
			t.Fatalf("with a vote that came while notify waited: %s after notify, want PASSED (check runs %d)", p.Status, p.BlockRuns[domain.BlockCheck])
		case !withVote && p.BlockRuns[domain.BlockCheck] != 1:
			t.Fatalf("without one, check ran %d times, want 1", p.BlockRuns[domain.BlockCheck])
		}
	}
}
