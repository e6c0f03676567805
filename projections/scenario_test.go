package projections

import (
	"fmt"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// writeScenario writes a realistic log of three communities: users with profile updates and
// identity links, a disconnected platform, roles added, renamed and deleted, user roles given
// and taken, documents changed, deleted and recovered, policies added, changed (also through
// a constitution action), removed and recovered, platform actions passed, failed, reverted,
// rejected up front and failing to execute, with boolean, choice and number votes and
// revotes, data changes, effects completed and failed, and an event of a type this build does
// not know.
func writeScenario(b *logBuilder) {
	tb := b.tb
	users, pol := b.setupCommunity("c1", 5)
	users2, pol2 := b.setupCommunity("c2", 3)
	b.setupCommunity("c3", 1)

	// Communities: rename, web identities linked (one unlinked again), profile update,
	// platform connected then disconnected.
	community(b, "c2", (*domain.Community).DecideRenameCommunity, domain.RenameCommunity{Name: "Community two"})
	community(b, "c1", (*domain.Community).DecideRegisterUser, domain.RegisterUser{
		UserID: "c1-w1", Platform: domain.PlatformWeb, Username: "alice@example.org", ReadableName: "Alice",
	})
	community(b, "c1", (*domain.Community).DecideRegisterUser, domain.RegisterUser{
		UserID: "c1-w2", Platform: domain.PlatformWeb, Username: "bob@example.org", ReadableName: "Bob",
	})
	community(b, "c1", (*domain.Community).DecideLinkIdentity, domain.LinkIdentity{UserID: users[0], OtherUserID: "c1-w1"})
	community(b, "c1", (*domain.Community).DecideLinkIdentity, domain.LinkIdentity{UserID: users[1], OtherUserID: "c1-w2"})
	community(b, "c1", (*domain.Community).DecideUnlinkIdentity, domain.UnlinkIdentity{UserID: "c1-w2", OtherUserID: users[1]})
	community(b, "c1", (*domain.Community).DecideRegisterUser, domain.RegisterUser{
		UserID: users[2], Platform: domain.PlatformSlack, Username: "U" + users[2], ReadableName: "Carol (renamed)", Avatar: "https://a/c.png",
	})
	community(b, "c1", (*domain.Community).DecideConnectPlatform, domain.ConnectPlatform{Platform: domain.PlatformDiscord, ExternalID: "G1", Name: "guild"})
	community(b, "c1", (*domain.Community).DecideDisconnectPlatform, domain.DisconnectPlatform{Platform: domain.PlatformDiscord})

	// Roles: given, taken, renamed with new permissions, a temporary role deleted.
	community(b, "c1", (*domain.Community).DecideAddUserRole, domain.AddUserRole{Role: "moderator", UserIDs: users[:3]})
	community(b, "c1", (*domain.Community).DecideRemoveUserRole, domain.RemoveUserRole{Role: "moderator", UserIDs: users[2:3]})
	community(b, "c1", (*domain.Community).DecideEditRole, domain.EditRole{
		Role: "moderator", Name: "steward", Description: "stewards the space",
		Permissions: mustPermissions(tb, "execute:platform:*", "propose:constitution:*", "view:*"),
	})
	community(b, "c1", (*domain.Community).DecideAddRole, domain.AddRole{
		Name: "temp", Description: "for a day", Permissions: mustPermissions(tb, "view:*"),
	})
	community(b, "c1", (*domain.Community).DecideAddUserRole, domain.AddUserRole{Role: "temp", UserIDs: users[3:5]})
	community(b, "c1", (*domain.Community).DecideDeleteRole, domain.DeleteRole{Role: "temp"})

	// Documents: changed, deleted and recovered; another deleted for good.
	community(b, "c1", (*domain.Community).DecideAddDocument, domain.AddDocument{DocumentID: "doc-coc", Name: "Code of conduct", Text: "Be kind."})
	community(b, "c1", (*domain.Community).DecideChangeDocument, domain.ChangeDocument{DocumentID: "doc-coc", Name: "Code of conduct", Text: "Be kind. Be brief."})
	community(b, "c1", (*domain.Community).DecideDeleteDocument, domain.DeleteDocument{DocumentID: "doc-coc"})
	community(b, "c1", (*domain.Community).DecideRecoverDocument, domain.RecoverDocument{DocumentID: "doc-coc"})
	community(b, "c1", (*domain.Community).DecideAddDocument, domain.AddDocument{DocumentID: "doc-old", Name: "Old charter", Text: "..."})
	community(b, "c1", (*domain.Community).DecideDeleteDocument, domain.DeleteDocument{DocumentID: "doc-old"})

	// Policies: a constitution base policy removed and recovered, a trigger policy removed
	// for good, the vote policy changed.
	community(b, "c1", (*domain.Community).DecideAddPolicy, domain.AddPolicy{
		PolicyID: "c1-const", Kind: domain.KindConstitution, Name: "Admins decide", Description: "base",
		PolicyCode: domain.PolicyCode{Check: `return PASSED`},
	})
	community(b, "c1", (*domain.Community).DecideRemovePolicy, domain.RemovePolicy{PolicyID: "c1-const"})
	community(b, "c1", (*domain.Community).DecideRecoverPolicy, domain.RecoverPolicy{PolicyID: "c1-const"})
	community(b, "c1", (*domain.Community).DecideAddPolicy, domain.AddPolicy{
		PolicyID: "c1-expenses", Kind: domain.KindTrigger, Name: "Log expenses", ActionTypes: []string{domain.ActionExpenseCreated},
		PolicyCode: domain.PolicyCode{Success: `slack.post_message(text="expense")`},
	})
	community(b, "c1", (*domain.Community).DecideRemovePolicy, domain.RemovePolicy{PolicyID: "c1-expenses"})
	community(b, "c1", (*domain.Community).DecideChangePolicy, domain.ChangePolicy{
		PolicyID: pol, Name: "Majority vote on messages", Description: "yes > no, quorum 3",
		ActionTypes: []string{domain.ActionSlackPostMessage},
		PolicyCode: domain.PolicyCode{
			Initialize: `proposal.data.set("started", True)`,
			Check:      `return PASSED if proposal.get_yes_votes().count() >= variables["quorum"] else PROPOSED`,
			Notify:     `slack.initiate_vote(text="Vote!")`,
		},
		Variables: []domain.Variable{{Name: "quorum", Type: domain.VariableNumber, DefaultValue: "2", Value: "3"}},
	})

	// Platform actions governed by votes. Revotes: users[0] changes no -> yes, users[1]
	// yes -> no -> yes.
	b.governedAction(lifecycle{
		community: "c1", actionID: "a1", proposalID: "p1", policyID: pol, initiator: users[0], pass: true,
		votes: []vote{{user: users[0], yes: false}, {user: users[1], yes: true}, {user: users[2], yes: true},
			{user: users[0], yes: true}, {user: users[1], yes: false}, {user: users[1], yes: true}},
	})
	b.governedAction(lifecycle{
		community: "c1", actionID: "a2", proposalID: "p2", policyID: pol, initiator: users[1], pass: false, reversible: true,
		votes: []vote{{user: users[0], yes: false}, {user: users[3], yes: false}, {user: users[4], yes: true}, {user: users[4], yes: false}},
	})
	b.governedAction(lifecycle{
		community: "c1", actionID: "a3", proposalID: "p3", policyID: pol, initiator: users[2], pass: true, effectFails: true,
		votes: []vote{{user: users[0], yes: true}, {user: users[1], yes: true}, {user: users[2], yes: true}},
	})
	b.governedAction(lifecycle{
		community: "c1", actionID: "a4", proposalID: "p4", policyID: pol, initiator: users[3], pass: false, reversible: true, effectFails: true,
		votes: []vote{{user: users[2], yes: false}},
	})
	b.governedAction(lifecycle{
		community: "c2", actionID: "a5", proposalID: "p5", policyID: pol2, initiator: users2[0], pass: true, reversible: true,
		votes: []vote{{user: users2[0], choice: "consent"}, {user: users2[1], number: 5}, {user: users2[2], yes: true},
			{user: users2[0], choice: "objection"}, {user: users2[1], yes: true}},
	})

	// A still-pending proposal: closed vote, governance process, answers.
	b.governedActionPending("c2", "a6", "p6", pol2, users2)

	// An action refused before any policy ran.
	action(b, "a7", (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: domain.Action{
		ID: "a7", CommunityID: "c1", Type: domain.ActionSlackRenameConversation, InitiatorID: users[4],
		Fields: map[string]any{"name": "random2", "channel": "C-random"},
	}})
	action(b, "a7", (*domain.ActionRecord).DecideRejectAction, domain.RejectAction{Reason: "initiator may not propose it"})

	// A constitution action: change the vote policy again, passed by the constitution
	// policy; its community events carry the action id.
	payload := domain.ChangePolicy{
		PolicyID: pol, Kind: domain.KindPlatform, Name: "Majority vote on messages", Description: "quorum 2 again",
		ActionTypes: []string{domain.ActionSlackPostMessage},
		PolicyCode:  domain.PolicyCode{Check: `return PASSED`},
		Variables:   []domain.Variable{{Name: "quorum", Type: domain.VariableNumber, DefaultValue: "2"}},
	}
	ca, err := domain.NewConstitutionAction("a8", "c1", users[0], payload, b.now)
	if err != nil {
		tb.Fatal(err)
	}
	action(b, "a8", (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: ca})
	proposal(b, "p8", (*domain.Proposal).DecideOpenProposal, domain.OpenProposal{
		ProposalID: "p8", Action: b.actions["a8"].Action, Policy: b.communities["c1"].Policies["c1-const"],
	})
	action(b, "a8", (*domain.ActionRecord).DecideRecordGovernance, domain.RecordGovernance{ProposalIDs: []string{"p8"}, GoverningProposalID: "p8"})
	proposal(b, "p8", (*domain.Proposal).DecideRecordEvaluation, domain.RecordEvaluation{Block: domain.BlockCheck, Result: domain.StatusPassed})
	proposal(b, "p8", (*domain.Proposal).DecidePassProposal, domain.PassProposal{})
	community(b, "c1", func(c *domain.Community, a domain.Action, now time.Time) ([]domain.Event, error) {
		return c.ExecuteConstitutionAction(a, now)
	}, b.actions["a8"].Action)
	action(b, "a8", (*domain.ActionRecord).DecideMarkActionExecuted, domain.MarkActionExecuted{ProposalID: "p8"})

	// A reversible action undone at once by the permission gate, through an effect on the
	// action's own stream, before any outcome; and a candidate policy whose filter failed.
	action(b, "a9", (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: domain.Action{
		ID: "a9", CommunityID: "c1", Type: domain.ActionSlackPostMessage, InitiatorID: users[3], Reversible: true,
		Fields: map[string]any{"text": "spam", "channel": "C-general"},
	}})
	action(b, "a9", (*domain.ActionRecord).DecideRecordFilterError, domain.RecordFilterError{
		PolicyID: pol, PolicyHash: b.communities["c1"].Policies[pol].Hash, Error: "filter: division by zero",
	})
	gate := domain.ProposalHeader{CommunityID: "c1", At: b.tick()}
	actionEvents(b, "a9", domain.EffectRequested{
		ProposalHeader: gate, EffectID: "a9-revert", IdempotencyKey: "a9-revert", Platform: domain.PlatformSlack,
		Method: "chat.delete", Args: map[string]any{"channel": "C-general"}, Purpose: domain.PurposeRevert,
	})
	gate.At = b.tick()
	actionEvents(b, "a9", domain.EffectCompleted{ProposalHeader: gate, EffectID: "a9-revert", Result: map[string]any{"ok": true}})
	action(b, "a9", (*domain.ActionRecord).DecideMarkActionReverted, domain.MarkActionReverted{Reason: "initiator may not post here"})

	// Newer binaries may write events this one does not know: they are skipped.
	b.unknown("community-c3", b.communities["c3"].Version)

	// Some more proposals to make the log longer than a few batches.
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("b%d", i)
		b.governedAction(lifecycle{
			community: "c2", actionID: "a-" + id, proposalID: "p-" + id, policyID: pol2, initiator: users2[i%3], pass: i%2 == 0,
			votes: []vote{{user: users2[0], yes: true}, {user: users2[1], yes: i%2 == 0}, {user: users2[0], yes: false}},
		})
	}
}

// governedActionPending opens a proposal that is still being decided.
func (b *logBuilder) governedActionPending(comm, actionID, pid, policyID string, users []string) {
	action(b, actionID, (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: domain.Action{
		ID: actionID, CommunityID: comm, Type: domain.ActionSlackPostMessage, InitiatorID: users[0],
		Fields: map[string]any{"text": "pending", "channel": "C-general"},
	}})
	pol := b.communities[comm].Policies[policyID]
	proposal(b, pid, (*domain.Proposal).DecideOpenProposal, domain.OpenProposal{ProposalID: pid, Action: b.actions[actionID].Action, Policy: pol})
	action(b, actionID, (*domain.ActionRecord).DecideRecordGovernance, domain.RecordGovernance{ProposalIDs: []string{pid}, GoverningProposalID: pid})
	// A trigger proposal opened later for the same action.
	action(b, actionID, (*domain.ActionRecord).DecideRecordGovernance, domain.RecordGovernance{ProposalIDs: []string{pid, pid + "-trigger"}})
	proposal(b, pid, (*domain.Proposal).DecideInitializeVariables, domain.InitializeVariables{Variables: pol.VariableValues()})
	proposal(b, pid, (*domain.Proposal).DecideCastVote, domain.CastVote{Vote: vote{user: users[0], yes: true}.domain()})
	proposal(b, pid, (*domain.Proposal).DecideCastVote, domain.CastVote{Vote: vote{user: users[1], yes: false}.domain()})
	proposal(b, pid, (*domain.Proposal).DecideCloseVote, domain.CloseVote{})
	proposal(b, pid, (*domain.Proposal).DecideUpdateGovernanceProcess, domain.UpdateGovernanceProcess{Process: map[string]any{"status": "open", "poll": "L-1"}})
	proposal(b, pid, (*domain.Proposal).DecideRecordAnswer, domain.RecordAnswer{Key: "cred:U" + users[0], Value: 12.5})
	proposal(b, pid, (*domain.Proposal).DecideScheduleRecheck, domain.ScheduleRecheck{DueAt: time.Date(2024, 3, 8, 9, 0, 0, 0, time.UTC)})
}
