package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

// mustOpenProposal opens proposal p1 of a platform policy for a Slack rename by bob.
func mustOpenProposal(tb testing.TB) (*domain.Proposal, []domain.Event) {
	tb.Helper()
	c, _ := mustCommunity(tb)
	mustApply(tb, c)(c.DecideAddPolicy(domain.AddPolicy{PolicyID: "pol1", Kind: domain.KindPlatform, Name: "Vote on renames", ActionTypes: []string{domain.ActionSlackRenameConversation}}, at(5)))
	action := domain.Action{ID: "a1", CommunityID: "c1", Type: domain.ActionSlackRenameConversation, InitiatorID: "bob",
		Fields: map[string]any{"name": "general-2", "channel": "C1"}, Reversible: true, ProposedAt: at(9)}
	p := &domain.Proposal{}
	events := mustApply(tb, p)(p.DecideOpenProposal(domain.OpenProposal{ProposalID: "p1", Action: action, Policy: c.Policies["pol1"]}, at(10)))
	return p, events
}

func TestOpenProposal(t *testing.T) {
	p, events := mustOpenProposal(t)
	mustTypes(t, events, domain.EventProposalOpened)
	o := events[0].(domain.ProposalOpened)
	if m := o.Meta(); m.ProposalID != "p1" || m.ActionID != "a1" || m.CommunityID != "c1" {
		t.Fatalf("meta %+v", m)
	}
	if o.PolicyHash == "" || o.PolicyVersion != 1 || o.PolicyKind != domain.KindPlatform || o.Action.Kind != domain.KindPlatform || o.Action.Platform != domain.PlatformSlack {
		t.Fatalf("opened %+v", o)
	}
	if p.Status != domain.StatusProposed || !p.ProposalTime.Equal(at(10)) || p.ActionID != "a1" || p.CommunityID != "c1" || p.Version != 1 {
		t.Fatalf("state %+v", p)
	}
	if d := p.TimeElapsed(at(70)); d.Minutes() != 60 {
		t.Fatalf("TimeElapsed = %v", d)
	}
	// reopening the same is a no-op; another policy is a conflict
	again, err := p.DecideOpenProposal(domain.OpenProposal{ProposalID: "p1", Action: p.Action, Policy: domain.Policy{ID: p.PolicyID, Hash: p.PolicyHash}}, at(11))
	if err != nil || len(again) != 0 {
		t.Fatalf("reopen: %v %v", again, err)
	}
	_, err = p.DecideOpenProposal(domain.OpenProposal{ProposalID: "p1", Action: p.Action, Policy: domain.Policy{ID: "other", Hash: "h"}}, at(11))
	mustCode(t, err, domain.CodeConflict)

	fresh := &domain.Proposal{}
	_, err = fresh.DecideOpenProposal(domain.OpenProposal{ProposalID: "p2", Action: domain.Action{ID: "a", CommunityID: "c1", Type: "nosuch"}, Policy: domain.Policy{ID: "x", Hash: "h"}}, at(1))
	mustCode(t, err, domain.CodeInvalid)
	_, err = fresh.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "u", Kind: domain.VoteBoolean}}, at(1))
	mustCode(t, err, domain.CodeNotFound)
}

func TestVotes(t *testing.T) {
	p, _ := mustOpenProposal(t)
	yes := func(user string) domain.CastVote {
		return domain.CastVote{Vote: domain.Vote{UserID: user, Username: "U-" + user, Kind: domain.VoteBoolean, Boolean: true}}
	}
	no := func(user string) domain.CastVote {
		return domain.CastVote{Vote: domain.Vote{UserID: user, Kind: domain.VoteBoolean}}
	}
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(yes("alice"), at(11))), domain.EventVoteCast)
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(no("bob"), at(12))), domain.EventVoteCast)
	// the same vote again: nothing
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(yes("alice"), at(13))))
	// bob changes his mind: replaces his vote, history keeps both
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(yes("bob"), at(14))), domain.EventVoteCast)

	if n := len(p.YesVotes()); n != 2 {
		t.Fatalf("yes votes = %d, want 2", n)
	}
	if n := len(p.NoVotes()); n != 0 {
		t.Fatalf("no votes = %d, want 0", n)
	}
	if len(p.Votes) != 2 || len(p.VoteHistory) != 3 {
		t.Fatalf("votes %d history %d", len(p.Votes), len(p.VoteHistory))
	}
	if h := p.VoteHistory; h[1].UserID != "bob" || h[1].Boolean || !h[2].Boolean || !h[2].At.Equal(at(14)) {
		t.Fatalf("history %+v", h)
	}

	// choice and number votes
	mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "carol", Kind: domain.VoteChoice, Choice: "consent"}}, at(15)))
	mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "dave", Kind: domain.VoteNumber, Number: 4}}, at(15)))
	if len(p.ChoiceVotes("consent")) != 1 || len(p.ChoiceVotes("objection")) != 0 || len(p.ChoiceVotes("")) != 1 || len(p.NumberVotes()) != 1 || len(p.BooleanVotes()) != 2 {
		t.Fatalf("vote queries wrong: %+v", p.CurrentVotes())
	}
	var order []string
	for _, v := range p.CurrentVotes() {
		order = append(order, v.UserID)
	}
	if !reflect.DeepEqual(order, []string{"alice", "bob", "carol", "dave"}) {
		t.Fatalf("CurrentVotes order %v", order)
	}

	invalid := []domain.Vote{
		{Kind: domain.VoteBoolean},
		{UserID: "x", Kind: "maybe"},
		{UserID: "x", Kind: domain.VoteChoice},
		{UserID: "x", Kind: domain.VoteBoolean, Choice: "yes"},
		{UserID: "x", Kind: domain.VoteNumber, Boolean: true},
	}
	for _, v := range invalid {
		_, err := p.DecideCastVote(domain.CastVote{Vote: v}, at(16))
		mustCode(t, err, domain.CodeInvalid)
	}

	// closing the vote: further votes are refused
	mustTypes(t, mustApply(t, p)(p.DecideCloseVote(domain.CloseVote{}, at(17))), domain.EventVoteClosed)
	mustTypes(t, mustApply(t, p)(p.DecideCloseVote(domain.CloseVote{}, at(18))))
	_, err := p.DecideCastVote(no("erin"), at(18))
	mustCode(t, err, domain.CodeConflict)
}

// A platform's close may say what the vote decided (a Loomio poll's outcome statement): the
// proposal keeps it, a later close does not write over it, a close without one leaves none,
// and a VoteClosed recorded before outcomes existed still reads back.
func TestCloseVoteKeepsThePlatformsOutcome(t *testing.T) {
	p, _ := mustOpenProposal(t)
	outcome := map[string]any{"statement": "Approved: three consents", "statement_format": "md", "id": json.Number("1031")}
	evs := mustApply(t, p)(p.DecideCloseVote(domain.CloseVote{Outcome: outcome}, at(17)))
	mustTypes(t, evs, domain.EventVoteClosed)
	outcome["statement"] = "changed by the caller afterwards"
	if !p.VoteClosed || p.VoteOutcome["statement"] != "Approved: three consents" || p.VoteOutcome["id"] != json.Number("1031") {
		t.Fatalf("closed %v with outcome %v", p.VoteClosed, p.VoteOutcome)
	}
	mustTypes(t, mustApply(t, p)(p.DecideCloseVote(domain.CloseVote{Outcome: map[string]any{"statement": "Rejected"}}, at(18))))
	if p.VoteOutcome["statement"] != "Approved: three consents" {
		t.Fatalf("a second close wrote over the outcome: %v", p.VoteOutcome)
	}
	typ, v, data, err := domain.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.Unmarshal(typ, v, data)
	if err != nil {
		t.Fatal(err)
	}
	replayed := &domain.Proposal{}
	replayed.Apply(back)
	if replayed.VoteOutcome["statement"] != "Approved: three consents" {
		t.Fatalf("the outcome after a round trip: %v (%s)", replayed.VoteOutcome, data)
	}

	q, _ := mustOpenProposal(t)
	mustApply(t, q)(q.DecideCloseVote(domain.CloseVote{}, at(17)))
	if !q.VoteClosed || q.VoteOutcome != nil {
		t.Fatalf("a close without an outcome: closed %v, outcome %v", q.VoteClosed, q.VoteOutcome)
	}
	old, err := domain.Unmarshal(domain.EventVoteClosed, domain.SchemaVersion(domain.EventVoteClosed),
		[]byte(`{"proposal_id":"p1","community_id":"c1","at":"2024-01-01T00:00:00Z"}`))
	if err != nil {
		t.Fatalf("a VoteClosed without an outcome: %v", err)
	}
	if vc, ok := old.(domain.VoteClosed); !ok || vc.Outcome != nil {
		t.Fatalf("decoded %#v", old)
	}

	r, _ := mustOpenProposal(t)
	_, err = r.DecideCloseVote(domain.CloseVote{Outcome: map[string]any{"statement": strings.Repeat("x", domain.MaxVoteOutcomeBytes)}}, at(17))
	mustCode(t, err, domain.CodeInvalid)
	_, err = r.DecideCloseVote(domain.CloseVote{Outcome: map[string]any{"bad": func() {}}}, at(17))
	mustCode(t, err, domain.CodeInvalid)
}

func TestVoteOnDecidedProposalIsRefused(t *testing.T) {
	for _, decide := range []string{domain.StatusPassed, domain.StatusFailed} {
		t.Run(decide, func(t *testing.T) {
			p, _ := mustOpenProposal(t)
			mustApply(t, p)(p.DecideScheduleRecheck(domain.ScheduleRecheck{DueAt: at(60)}, at(11)))
			var events []domain.Event
			if decide == domain.StatusPassed {
				events = mustApply(t, p)(p.DecidePassProposal(domain.PassProposal{Reason: "check returned PASSED"}, at(20)))
				mustTypes(t, events, domain.EventProposalPassed)
			} else {
				events = mustApply(t, p)(p.DecideFailProposal(domain.FailProposal{Reason: "policy error"}, at(20)))
				mustTypes(t, events, domain.EventProposalFailed)
			}
			if p.Status != decide || !p.DecidedAt.Equal(at(20)) || !p.NextCheckAt.IsZero() || !p.Decided() {
				t.Fatalf("state %+v", p)
			}
			_, err := p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "alice", Kind: domain.VoteBoolean, Boolean: true}}, at(21))
			mustCode(t, err, domain.CodeConflict)
			_, err = p.DecidePassProposal(domain.PassProposal{}, at(21))
			mustCode(t, err, domain.CodeConflict)
			_, err = p.DecideFailProposal(domain.FailProposal{}, at(21))
			mustCode(t, err, domain.CodeConflict)
			_, err = p.DecideScheduleRecheck(domain.ScheduleRecheck{DueAt: at(90)}, at(21))
			mustCode(t, err, domain.CodeConflict)
			// the success/fail block still runs and may ask for effects
			mustTypes(t, mustApply(t, p)(p.DecideRecordEvaluation(domain.RecordEvaluation{Block: domain.BlockSuccess}, at(21))), domain.EventProposalEvaluated)
			mustTypes(t, mustApply(t, p)(p.DecideRequestEffect(domain.RequestEffect{EffectID: "e9", Platform: domain.PlatformSlack, Method: "post_message"}, at(21))), domain.EventEffectRequested)
		})
	}
}

func TestEffectsAnswersDataAndRechecks(t *testing.T) {
	p, _ := mustOpenProposal(t)

	req := domain.RequestEffect{EffectID: "e1", Platform: domain.PlatformSlack, Method: "initiate_vote", Args: map[string]any{"text": "Rename?", "users": []string{"U01"}}}
	events := mustApply(t, p)(p.DecideRequestEffect(req, at(11)))
	mustTypes(t, events, domain.EventEffectRequested)
	if r := events[0].(domain.EffectRequested); r.IdempotencyKey != "e1" || r.Purpose != domain.PurposePolicy || !reflect.DeepEqual(r.Args["users"], []any{"U01"}) {
		t.Fatalf("requested %+v", r)
	}
	mustTypes(t, mustApply(t, p)(p.DecideRequestEffect(req, at(12))))
	req.Method = "post_message"
	_, err := p.DecideRequestEffect(req, at(12))
	mustCode(t, err, domain.CodeConflict)
	_, err = p.DecideRequestEffect(domain.RequestEffect{EffectID: "e2", Platform: "myspace", Method: "x"}, at(12))
	mustCode(t, err, domain.CodeInvalid)
	_, err = p.DecideRequestEffect(domain.RequestEffect{EffectID: "e2", Platform: domain.PlatformSlack, Method: "x", Purpose: "fun"}, at(12))
	mustCode(t, err, domain.CodeInvalid)
	if len(p.PendingEffects()) != 1 {
		t.Fatalf("pending %v", p.PendingEffects())
	}

	mustTypes(t, mustApply(t, p)(p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: "e1", Result: map[string]any{"post_id": "17.1"}}, at(13))), domain.EventEffectCompleted)
	mustTypes(t, mustApply(t, p)(p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: "e1", Error: "late failure"}, at(14))))
	_, err = p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: "nope"}, at(14))
	mustCode(t, err, domain.CodeNotFound)
	if e := p.Effects["e1"]; e.Status != domain.EffectStatusCompleted || e.Result["post_id"] != "17.1" || !e.FinishedAt.Equal(at(13)) || len(p.PendingEffects()) != 0 {
		t.Fatalf("effect %+v", e)
	}
	mustApply(t, p)(p.DecideRequestEffect(domain.RequestEffect{EffectID: "e2", Platform: domain.PlatformSlack, Method: "revert", Purpose: domain.PurposeRevert}, at(15)))
	mustTypes(t, mustApply(t, p)(p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: "e2", Error: "not_authed"}, at(16))), domain.EventEffectFailed)
	if e := p.Effects["e2"]; e.Status != domain.EffectStatusFailed || e.Error != "not_authed" {
		t.Fatalf("effect %+v", e)
	}

	mustTypes(t, mustApply(t, p)(p.DecideRecordVotePost(domain.RecordVotePost{PostID: "17.1", URL: "https://x"}, at(16))), domain.EventVotePostRecorded)
	mustTypes(t, mustApply(t, p)(p.DecideRecordVotePost(domain.RecordVotePost{PostID: "17.1", URL: "https://x"}, at(17))))
	if p.VotePostID != "17.1" || p.VoteURL != "https://x" {
		t.Fatalf("vote post %q %q", p.VotePostID, p.VoteURL)
	}

	mustTypes(t, mustApply(t, p)(p.DecideRecordAnswer(domain.RecordAnswer{Key: "sourcecred.get_cred:U02", Value: 301}, at(17))), domain.EventAnswerRecorded)
	mustTypes(t, mustApply(t, p)(p.DecideRecordAnswer(domain.RecordAnswer{Key: "sourcecred.get_cred:U02", Value: 301.0}, at(18))))
	_, err = p.DecideRecordAnswer(domain.RecordAnswer{Key: "sourcecred.get_cred:U02", Value: 5}, at(18))
	mustCode(t, err, domain.CodeConflict)
	if p.Answers["sourcecred.get_cred:U02"] != json.Number("301") {
		t.Fatalf("answers %#v", p.Answers)
	}

	ops := domain.ChangeProposalData{Ops: []domain.DataOp{
		{Op: domain.DataSet, Key: "eligible_voters", Value: []string{"U01", "U02"}},
		{Op: domain.DataSet, Key: "reminder_sent", Value: false},
		{Op: domain.DataRemove, Key: "never_set"},
	}}
	events = mustApply(t, p)(p.DecideChangeProposalData(ops, at(18)))
	if dc := events[0].(domain.ProposalDataChanged); len(dc.Ops) != 2 {
		t.Fatalf("ops %+v", dc.Ops)
	}
	mustTypes(t, mustApply(t, p)(p.DecideChangeProposalData(ops, at(19))))
	mustTypes(t, mustApply(t, p)(p.DecideChangeProposalData(domain.ChangeProposalData{Ops: []domain.DataOp{{Op: domain.DataSet, Key: "reminder_sent", Value: true}, {Op: domain.DataRemove, Key: "eligible_voters"}}}, at(19))), domain.EventProposalDataChanged)
	if !reflect.DeepEqual(p.Data, map[string]any{"reminder_sent": true}) {
		t.Fatalf("data %#v", p.Data)
	}
	_, err = p.DecideChangeProposalData(domain.ChangeProposalData{Ops: []domain.DataOp{{Op: "append", Key: "k"}}}, at(19))
	mustCode(t, err, domain.CodeInvalid)

	mustTypes(t, mustApply(t, p)(p.DecideInitializeVariables(domain.InitializeVariables{Variables: map[string]any{"quorum": 2}}, at(20))), domain.EventProposalVariablesInitialized)
	mustTypes(t, mustApply(t, p)(p.DecideInitializeVariables(domain.InitializeVariables{Variables: map[string]any{"quorum": 2}}, at(20))))
	_, err = p.DecideInitializeVariables(domain.InitializeVariables{Variables: map[string]any{"quorum": 3}}, at(20))
	mustCode(t, err, domain.CodeConflict)

	mustTypes(t, mustApply(t, p)(p.DecideRecordEvaluation(domain.RecordEvaluation{Block: domain.BlockCheck, Result: domain.StatusProposed, Logs: []domain.LogLine{{Level: "debug", Message: "0 for"}}}, at(21))), domain.EventProposalEvaluated)
	_, err = p.DecideRecordEvaluation(domain.RecordEvaluation{Block: domain.BlockCheck, Result: "MAYBE"}, at(21))
	mustCode(t, err, domain.CodeInvalid)
	_, err = p.DecideRecordEvaluation(domain.RecordEvaluation{Block: "pass"}, at(21))
	mustCode(t, err, domain.CodeInvalid)
	if p.Evaluations != 1 || !p.LastCheckAt.Equal(at(21)) {
		t.Fatalf("evaluations %d last check %v", p.Evaluations, p.LastCheckAt)
	}

	mustTypes(t, mustApply(t, p)(p.DecideMarkNotified(domain.MarkNotified{}, at(22))), domain.EventProposalNotified)
	mustTypes(t, mustApply(t, p)(p.DecideMarkNotified(domain.MarkNotified{}, at(23))))

	mustTypes(t, mustApply(t, p)(p.DecideScheduleRecheck(domain.ScheduleRecheck{DueAt: at(80)}, at(23))), domain.EventRecheckScheduled)
	mustTypes(t, mustApply(t, p)(p.DecideScheduleRecheck(domain.ScheduleRecheck{DueAt: at(80)}, at(24))))
	_, err = p.DecideScheduleRecheck(domain.ScheduleRecheck{}, at(24))
	mustCode(t, err, domain.CodeInvalid)

	mustTypes(t, mustApply(t, p)(p.DecideUpdateGovernanceProcess(domain.UpdateGovernanceProcess{Process: map[string]any{"status": "pending"}}, at(25))), domain.EventGovernanceProcessUpdated)
	mustTypes(t, mustApply(t, p)(p.DecideUpdateGovernanceProcess(domain.UpdateGovernanceProcess{Process: map[string]any{"status": "pending"}}, at(26))))
	if p.GovernanceProcess["status"] != "pending" || !p.NextCheckAt.Equal(at(80)) || !p.Notified {
		t.Fatalf("state %+v", p)
	}
}

// startVote requests p's initiate_vote on platform with args, as the notify block does.
func startVote(tb testing.TB, p *domain.Proposal, id, platform string, args map[string]any) {
	tb.Helper()
	mustApply(tb, p)(p.DecideRequestEffect(domain.RequestEffect{EffectID: id, Platform: platform, Method: domain.MethodInitiateVote,
		Args: args, Purpose: domain.PurposeQuery}, at(11)))
}

// A value the proposal's vote does not offer is Invalid and records nothing: the member's
// earlier vote stands.
func TestVotesAreCheckedAgainstTheVote(t *testing.T) {
	parse := func(value string) domain.Vote {
		v, err := domain.ParseVote("bob", value)
		if err != nil {
			return domain.Vote{UserID: "bob", Kind: domain.VoteChoice, Choice: value} // as a bus message may carry it
		}
		return v
	}
	choice := func(c string) domain.Vote { return domain.Vote{UserID: "bob", Kind: domain.VoteChoice, Choice: c} }
	yesNo := map[string]any{"text": "Rename?", "channel": "C1"}
	consent := map[string]any{"text": "Adopt?", "channel": "C1", "options": []any{"consent", "object", "abstain"}}
	yesNoAbstain := map[string]any{"text": "Adopt?", "channel": "C1", "options": []any{"Yes", "No", "abstain"}}
	tests := []struct {
		name     string
		platform string
		args     map[string]any
		vote     domain.Vote
		want     domain.Vote // the recorded vote; zero: Invalid
	}{
		{"yes on yes/no", domain.PlatformSlack, yesNo, parse("yes"), domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}},
		{"NO on yes/no", domain.PlatformSlack, yesNo, parse("NO"), domain.Vote{UserID: "bob", Kind: domain.VoteBoolean}},
		{"a choice spelled yes on yes/no", domain.PlatformSlack, yesNo, choice("Yes"), domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}},
		{"yse on yes/no", domain.PlatformSlack, yesNo, parse("yse"), domain.Vote{}},
		{"maybe on yes/no", domain.PlatformSlack, yesNo, parse("maybe"), domain.Vote{}},
		{"a huge number on yes/no", domain.PlatformSlack, yesNo, parse("99999999999999999999"), domain.Vote{}},
		{"a number on yes/no", domain.PlatformSlack, yesNo, parse("3"), domain.Vote{}},
		{"a yes/no on discord", domain.PlatformDiscord, yesNo, parse("maybe"), domain.Vote{}},
		{"an option", domain.PlatformSlack, consent, parse("object"), choice("object")},
		{"not an option", domain.PlatformSlack, consent, parse("objection"), domain.Vote{}},
		{"an option in another case", domain.PlatformSlack, consent, parse("Consent"), domain.Vote{}},
		{"yes where yes is no option", domain.PlatformSlack, consent, parse("yes"), domain.Vote{}},
		{"yes where Yes is an option", domain.PlatformSlack, yesNoAbstain, parse("yes"), choice("Yes")},
		{"an oversized choice", domain.PlatformSlack, consent, choice(strings.Repeat("x", domain.MaxChoiceLen+1)), domain.Vote{}},
		{"a Loomio poll takes any choice", domain.PlatformLoomio, map[string]any{"title": "t"}, parse("agree"), choice("agree")},
		{"but not an oversized one", domain.PlatformLoomio, map[string]any{"title": "t"}, choice(strings.Repeat("é", domain.MaxChoiceLen)), domain.Vote{}},
		{"a number out of range", domain.PlatformLoomio, map[string]any{"title": "t"},
			domain.Vote{UserID: "bob", Kind: domain.VoteNumber, Number: domain.MaxVoteNumber + 1}, domain.Vote{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := mustOpenProposal(t)
			startVote(t, p, "e-vote", tc.platform, tc.args)
			// bob's real vote first, unless it is the one under test.
			real := domain.Vote{UserID: "bob", Kind: domain.VoteChoice, Choice: "abstain"}
			if _, ok := p.Ballots[0].Admit(real); !ok {
				real = domain.Vote{UserID: "bob", Kind: domain.VoteBoolean}
			}
			if tc.platform == domain.PlatformLoomio {
				real = choice("abstain")
			}
			mustTypes(t, mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: real}, at(12))), domain.EventVoteCast)
			events, err := p.DecideCastVote(domain.CastVote{Vote: tc.vote}, at(13))
			if tc.want.Kind == "" {
				mustCode(t, err, domain.CodeInvalid)
				if len(events) != 0 {
					t.Fatalf("refused vote emitted %v", eventTypes(events))
				}
				if cur := p.Votes["bob"]; !cur.SameValue(real) || len(p.VoteHistory) != 1 {
					t.Fatalf("bob's vote is %+v (history %d), want his earlier %+v", cur, len(p.VoteHistory), real)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if real.SameValue(tc.want) {
				mustTypes(t, events)
				return
			}
			mustTypes(t, events, domain.EventVoteCast)
			if got := events[0].(domain.VoteCast).Vote; !got.SameValue(tc.want) {
				t.Fatalf("recorded %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Two votes started: a vote either offers is taken.
func TestVoteOnTwoStartedVotes(t *testing.T) {
	p, _ := mustOpenProposal(t)
	startVote(t, p, "e-slack", domain.PlatformSlack, map[string]any{"text": "t", "channel": "C1"})
	startVote(t, p, "e-loomio", domain.PlatformLoomio, map[string]any{"title": "t", "options": []any{"consent", "objection"}})
	if len(p.Ballots) != 2 {
		t.Fatalf("ballots %+v", p.Ballots)
	}
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}}, at(12))), domain.EventVoteCast)
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "cat", Kind: domain.VoteChoice, Choice: "objection"}}, at(12))), domain.EventVoteCast)
	_, err := p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "dan", Kind: domain.VoteChoice, Choice: "maybe"}}, at(12))
	mustCode(t, err, domain.CodeInvalid)
}

// A proposal whose policy never started a vote is voted on in PolicyKit itself: any
// well-formed vote counts, within the bounds of every vote.
func TestVoteWithoutAStartedVote(t *testing.T) {
	p, _ := mustOpenProposal(t)
	mustTypes(t, mustApply(t, p)(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "bob", Kind: domain.VoteChoice, Choice: "consent"}}, at(12))), domain.EventVoteCast)
	for _, v := range []domain.Vote{
		{UserID: "bob", Kind: domain.VoteChoice, Choice: strings.Repeat("x", domain.MaxChoiceLen+1)},
		{UserID: "bob", Kind: domain.VoteChoice, Choice: "\xff"},
		{UserID: "bob", Kind: domain.VoteNumber, Number: -domain.MaxVoteNumber - 1},
	} {
		_, err := p.DecideCastVote(domain.CastVote{Vote: v}, at(13))
		mustCode(t, err, domain.CodeInvalid)
	}
	if p.Votes["bob"].Choice != "consent" {
		t.Fatalf("bob's vote %+v", p.Votes["bob"])
	}
}
