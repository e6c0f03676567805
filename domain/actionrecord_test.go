package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

func slackRename(reversible bool) domain.Action {
	return domain.Action{ID: "a1", CommunityID: "c1", Type: domain.ActionSlackRenameConversation, InitiatorID: "bob",
		Fields: map[string]any{"name": "general-2", "channel": "C1", "count": 1}, Reversible: reversible, ExternalID: "Ev1", ProposedAt: at(0)}
}

func TestProposeAction(t *testing.T) {
	r := &domain.ActionRecord{}
	events := mustApply(t, r)(r.DecideProposeAction(domain.ProposeAction{Action: slackRename(true)}, at(1)))
	mustTypes(t, events, domain.EventActionProposed)
	a := events[0].(domain.ActionProposed).Action
	if a.Kind != domain.KindPlatform || a.Platform != domain.PlatformSlack || a.Fields["count"] != json.Number("1") {
		t.Fatalf("normalized action %+v", a)
	}
	if r.Status != domain.ActionStatusProposed || !r.Proposed() {
		t.Fatalf("state %+v", r)
	}
	// a redelivered command changes nothing; a different action under the id conflicts
	mustTypes(t, mustApply(t, r)(r.DecideProposeAction(domain.ProposeAction{Action: slackRename(true)}, at(2))))
	_, err := r.DecideProposeAction(domain.ProposeAction{Action: slackRename(false)}, at(2))
	mustCode(t, err, domain.CodeConflict)

	// a redelivery without ProposedAt takes the recorded time
	r2 := &domain.ActionRecord{}
	noTime := slackRename(true)
	noTime.ProposedAt = time.Time{}
	mustApply(t, r2)(r2.DecideProposeAction(domain.ProposeAction{Action: noTime}, at(1)))
	mustTypes(t, mustApply(t, r2)(r2.DecideProposeAction(domain.ProposeAction{Action: noTime}, at(5))))
	if !r2.Action.ProposedAt.Equal(at(1)) {
		t.Fatalf("ProposedAt = %v", r2.Action.ProposedAt)
	}

	invalid := map[string]domain.Action{
		"no id":              {CommunityID: "c1", Type: domain.ActionSlackPostMessage},
		"no community":       {ID: "x", Type: domain.ActionSlackPostMessage},
		"unknown type":       {ID: "x", CommunityID: "c1", Type: "slackdance"},
		"wrong kind":         {ID: "x", CommunityID: "c1", Type: domain.ActionSlackPostMessage, Kind: domain.KindConstitution},
		"wrong platform":     {ID: "x", CommunityID: "c1", Type: domain.ActionSlackPostMessage, Platform: domain.PlatformDiscord},
		"reversible trigger": {ID: "x", CommunityID: "c1", Type: domain.ActionExpenseCreated, Reversible: true},
		"unencodable fields": {ID: "x", CommunityID: "c1", Type: domain.ActionSlackPostMessage, Fields: map[string]any{"f": func() {}}},
	}
	for name, a := range invalid {
		t.Run(name, func(t *testing.T) {
			_, err := (&domain.ActionRecord{}).DecideProposeAction(domain.ProposeAction{Action: a}, at(1))
			mustCode(t, err, domain.CodeInvalid)
		})
	}
}

func TestActionOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		reversible bool
		steps      func(t *testing.T, r *domain.ActionRecord)
		want       string
	}{
		{"executed after passing", false, func(t *testing.T, r *domain.ActionRecord) {
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionExecuted(domain.MarkActionExecuted{ProposalID: "p1"}, at(5))), domain.EventActionExecuted)
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionExecuted(domain.MarkActionExecuted{ProposalID: "p1"}, at(6))))
			_, err := r.DecideRejectAction(domain.RejectAction{Reason: "late"}, at(6))
			mustCode(t, err, domain.CodeConflict)
		}, domain.ActionStatusExecuted},
		{"rejected then reverted", true, func(t *testing.T, r *domain.ActionRecord) {
			mustTypes(t, mustApply(t, r)(r.DecideRejectAction(domain.RejectAction{Reason: "bob may not propose"}, at(5))), domain.EventActionRejected)
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionReverted(domain.MarkActionReverted{}, at(6))), domain.EventActionReverted)
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionReverted(domain.MarkActionReverted{}, at(7))))
			_, err := r.DecideMarkActionExecuted(domain.MarkActionExecuted{}, at(7))
			mustCode(t, err, domain.CodeConflict)
			if !r.Reverted {
				t.Error("Reverted = false after ActionReverted")
			}
		}, domain.ActionStatusRejected},
		{"reverted while pending, executed when passed", true, func(t *testing.T, r *domain.ActionRecord) {
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionReverted(domain.MarkActionReverted{ProposalID: "p1"}, at(5))), domain.EventActionReverted)
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionExecuted(domain.MarkActionExecuted{ProposalID: "p1"}, at(6))), domain.EventActionExecuted)
		}, domain.ActionStatusExecuted},
		{"non-reversible cannot be reverted", false, func(t *testing.T, r *domain.ActionRecord) {
			_, err := r.DecideMarkActionReverted(domain.MarkActionReverted{}, at(5))
			mustCode(t, err, domain.CodeInvalid)
			_, err = r.DecideRejectAction(domain.RejectAction{}, at(5))
			mustCode(t, err, domain.CodeInvalid)
			mustTypes(t, mustApply(t, r)(r.DecideRejectAction(domain.RejectAction{ProposalID: "p1", Reason: "vote failed"}, at(5))), domain.EventActionRejected)
		}, domain.ActionStatusRejected},
		{"execution failed", false, func(t *testing.T, r *domain.ActionRecord) {
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionExecutionFailed(domain.MarkActionExecutionFailed{ProposalID: "p1", Reason: "channel gone"}, at(5))), domain.EventActionExecutionFailed)
			mustTypes(t, mustApply(t, r)(r.DecideMarkActionExecutionFailed(domain.MarkActionExecutionFailed{ProposalID: "p1", Reason: "channel gone"}, at(6))))
		}, domain.ActionStatusExecutionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &domain.ActionRecord{}
			mustApply(t, r)(r.DecideProposeAction(domain.ProposeAction{Action: slackRename(tt.reversible)}, at(1)))
			tt.steps(t, r)
			if r.Status != tt.want {
				t.Fatalf("status %q, want %q", r.Status, tt.want)
			}
		})
	}
	_, err := (&domain.ActionRecord{}).DecideMarkActionExecuted(domain.MarkActionExecuted{}, at(1))
	mustCode(t, err, domain.CodeNotFound)
}

func TestRecordGovernance(t *testing.T) {
	r := &domain.ActionRecord{}
	mustApply(t, r)(r.DecideProposeAction(domain.ProposeAction{Action: slackRename(true)}, at(1)))
	mustTypes(t, mustApply(t, r)(r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"p1", "t1"}, GoverningProposalID: "p1"}, at(2))), domain.EventActionGoverned)
	mustTypes(t, mustApply(t, r)(r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"t1", "p1"}, GoverningProposalID: "p1"}, at(3))))
	mustTypes(t, mustApply(t, r)(r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"t2"}}, at(3))), domain.EventActionGoverned)
	if !reflect.DeepEqual(r.ProposalIDs, []string{"p1", "t1", "t2"}) || r.GoverningProposalID != "p1" {
		t.Fatalf("state %+v", r)
	}
	_, err := r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"p9"}, GoverningProposalID: "p9"}, at(4))
	mustCode(t, err, domain.CodeConflict)
	_, err = r.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: []string{"p8"}, GoverningProposalID: "p7"}, at(4))
	mustCode(t, err, domain.CodeInvalid)
}
