package domain_test

import (
	"reflect"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

// TestFoldReproducesState builds each aggregate by deciding and applying, then folds the
// same events, after a trip through the codec, into a fresh state: both must be equal.
func TestFoldReproducesState(t *testing.T) {
	t.Run("community", func(t *testing.T) {
		c, events := mustCommunity(t)
		step := func(evs []domain.Event, err error) {
			t.Helper()
			events = append(events, mustApply(t, c)(evs, err)...)
		}
		step(c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformDiscourse, ExternalID: "https://f", Name: "f"}, at(4)))
		step(c.DecideRegisterUser(domain.RegisterUser{UserID: "alice-d", Platform: domain.PlatformDiscourse, Username: "alice123"}, at(4)))
		step(c.DecideLinkIdentity(domain.LinkIdentity{UserID: "alice", OtherUserID: "alice-d"}, at(4)))
		step(c.DecideDisconnectPlatform(domain.DisconnectPlatform{Platform: domain.PlatformDiscourse}, at(5)))
		step(c.DecideRenameCommunity(domain.RenameCommunity{Name: "Co-op"}, at(5)))
		for i, p := range []domain.ConstitutionPayload{
			domain.AddPolicy{Kind: domain.KindPlatform, Name: "All pass", PolicyCode: domain.PolicyCode{Check: "return PASSED"}, Variables: []domain.Variable{{Name: "n", Type: "number", Value: "3"}}},
			domain.ChangePolicy{Kind: domain.KindPlatform, PolicyID: "caa", Name: "All pass", ActionTypes: []string{domain.ActionSlackPostMessage}},
			domain.AddPolicy{Kind: domain.KindTrigger, Name: "Expenses", ActionTypes: []string{domain.ActionExpenseCreated}},
			domain.RemovePolicy{Kind: domain.KindTrigger, PolicyID: "cac"},
			domain.AddRole{Name: "Voter", Permissions: []domain.Permission{mustPermission(t, "vote:*")}},
			domain.AddUserRole{Role: "Voter", UserIDs: []string{"bob", "carol"}},
			domain.EditRole{Role: "Voter", Name: "Elector"},
			domain.RemoveUserRole{Role: "Elector", UserIDs: []string{"carol"}},
			domain.AddDocument{Name: "Rules", Text: "be kind"},
			domain.ChangeDocument{DocumentID: "cai", Name: "Rules", Text: "be kinder"},
			domain.DeleteDocument{DocumentID: "cai"},
		} {
			a := mustConstitutionAction(t, "ca"+string(rune('a'+i)), p)
			step(c.ExecuteConstitutionAction(a, at(10+i)))
		}
		folded := domain.NewCommunityFromEvents(mustRoundTrip(t, events))
		if !reflect.DeepEqual(folded, c) {
			t.Fatalf("folded community differs:\n got %#v\nwant %#v", folded, c)
		}
		if folded.Version != int64(len(events)) {
			t.Fatalf("version %d, %d events", folded.Version, len(events))
		}
	})

	t.Run("proposal", func(t *testing.T) {
		p, events := mustOpenProposal(t)
		step := func(evs []domain.Event, err error) {
			t.Helper()
			events = append(events, mustApply(t, p)(evs, err)...)
		}
		step(p.DecideInitializeVariables(domain.InitializeVariables{Variables: map[string]any{"quorum": 2, "names": []string{"a"}}}, at(11)))
		step(p.DecideRecordEvaluation(domain.RecordEvaluation{Block: domain.BlockCheck, Result: domain.StatusProposed}, at(11)))
		step(p.DecideRequestEffect(domain.RequestEffect{EffectID: "e1", Platform: domain.PlatformSlack, Method: "initiate_vote", Args: map[string]any{"n": 1}}, at(11)))
		step(p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: "e1", Result: map[string]any{"post_id": "1.1", "n": 2}}, at(12)))
		step(p.DecideRecordVotePost(domain.RecordVotePost{PostID: "1.1", URL: "u"}, at(12)))
		step(p.DecideMarkNotified(domain.MarkNotified{}, at(12)))
		step(p.DecideChangeProposalData(domain.ChangeProposalData{Ops: []domain.DataOp{{Op: domain.DataSet, Key: "k", Value: map[string]int{"x": 1}}}}, at(13)))
		step(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "alice", Kind: domain.VoteBoolean, Boolean: true}}, at(13)))
		step(p.DecideCastVote(domain.CastVote{Vote: domain.Vote{UserID: "alice", Kind: domain.VoteBoolean}}, at(14)))
		step(p.DecideRecordAnswer(domain.RecordAnswer{Key: "cred", Value: 12}, at(14)))
		step(p.DecideScheduleRecheck(domain.ScheduleRecheck{DueAt: at(60)}, at(14)))
		step(p.DecideUpdateGovernanceProcess(domain.UpdateGovernanceProcess{Process: map[string]any{"status": "completed"}}, at(15)))
		step(p.DecideCloseVote(domain.CloseVote{}, at(15)))
		step(p.DecideFailProposal(domain.FailProposal{Reason: "no"}, at(16)))
		folded := domain.NewProposalFromEvents(mustRoundTrip(t, events))
		if !reflect.DeepEqual(folded, p) {
			t.Fatalf("folded proposal differs:\n got %#v\nwant %#v", folded, p)
		}
	})

	t.Run("action", func(t *testing.T) {
		r := &domain.ActionRecord{}
		var events []domain.Event
		step := func(evs []domain.Event, err error) {
			t.Helper()
			events = append(events, mustApply(t, r)(evs, err)...)
		}
		step(r.DecideProposeAction(domain.ProposeAction{Action: slackRename(true)}, at(1)))
		step(r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"p1"}, GoverningProposalID: "p1"}, at(2)))
		step(r.DecideRejectAction(domain.RejectAction{ProposalID: "p1", Reason: "vote failed"}, at(3)))
		step(r.DecideMarkActionReverted(domain.MarkActionReverted{ProposalID: "p1"}, at(4)))
		folded := domain.NewActionRecordFromEvents(mustRoundTrip(t, events))
		if !reflect.DeepEqual(folded, r) {
			t.Fatalf("folded action differs:\n got %#v\nwant %#v", folded, r)
		}
	})
}

func TestApplyIgnoresUnknownEvents(t *testing.T) {
	c, events := mustCommunity(t)
	withUnknown := append(append([]domain.Event(nil), events...), &domain.UnknownEvent{Type: "community.from_the_future", SchemaVersion: 1, Data: []byte(`{}`)})
	folded := domain.NewCommunityFromEvents(withUnknown)
	if folded.Version != c.Version+1 {
		t.Fatalf("version %d", folded.Version)
	}
	folded.Version = c.Version
	if !reflect.DeepEqual(folded, c) {
		t.Fatal("unknown event changed the state")
	}
}
