package projections

import (
	"time"

	"github.com/policykit-go/policykit/domain"
)

// Action statuses of the actions table: the domain's (domain.ActionStatus*) plus governed,
// for an action whose proposals are open and whose outcome is not known yet.
const actionStatusGoverned = "governed"

// actionsProjector keeps every proposed action with what became of it, as the ActionRecord
// aggregate does: status proposed, governed, executed, rejected, reverted or
// execution_failed, the reason given, whether it was reverted on its platform, the proposals
// opened for it and the one that decides it, and the policies whose filter failed on it.
// Rows are keyed by action id. The fields are the action's public ones (a connection's
// secrets by name only, see domain.Action.PublicFields).
type actionsProjector struct{}

func (actionsProjector) Name() string { return "actions" }

func (actionsProjector) Tables() []string { return []string{"actions"} }

var proposeActions = &Statement{Columns: 12, SQL: `INSERT INTO actions
		(id, community_id, kind, type, platform, initiator_id, external_id, fields, reversible, status, proposed_at, updated_at)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
		$9::bool[], $10::text[], $11::timestamptz[], $12::timestamptz[])
	ON CONFLICT (id) DO UPDATE SET community_id = EXCLUDED.community_id, kind = EXCLUDED.kind, type = EXCLUDED.type,
		platform = EXCLUDED.platform, initiator_id = EXCLUDED.initiator_id, external_id = EXCLUDED.external_id,
		fields = EXCLUDED.fields, reversible = EXCLUDED.reversible, status = EXCLUDED.status,
		proposed_at = EXCLUDED.proposed_at, updated_at = EXCLUDED.updated_at`}

// governActions adds proposal ids (a JSON array) in order without duplicates and moves the
// status from proposed to governed only: a late ActionGoverned never hides an outcome.
var governActions = &Statement{Columns: 4, SQL: `UPDATE actions a SET
		status = CASE WHEN a.status = 'proposed' THEN 'governed' ELSE a.status END,
		proposal_ids = ARRAY(SELECT id FROM unnest(a.proposal_ids || ARRAY(SELECT jsonb_array_elements_text(u.ids)))
			WITH ORDINALITY AS x(id, n) GROUP BY id ORDER BY min(n)),
		governing_proposal_id = CASE WHEN u.governing <> '' THEN u.governing ELSE a.governing_proposal_id END,
		updated_at = u.at
	FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::timestamptz[]) AS u(id, ids, governing, at)
	WHERE a.id = u.id`}

// decideActions records an outcome: rejected, executed or execution_failed.
var decideActions = &Statement{Columns: 5, SQL: `UPDATE actions a
	SET status = u.status, reason = u.reason, decided_by = u.proposal_id, decided_at = u.at, updated_at = u.at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u(id, status, reason, proposal_id, at)
	WHERE a.id = u.id`}

// revertActions records a revert as the aggregate does: a rejection stays the status (the
// revert only undoes the action on its platform), and the revert's reason, when it states
// one, replaces the reason.
var revertActions = &Statement{Columns: 3, SQL: `UPDATE actions a SET
		status = CASE WHEN a.status = 'rejected' THEN a.status ELSE 'reverted' END,
		reason = CASE WHEN u.reason <> '' THEN u.reason ELSE a.reason END,
		reverted = true, reverted_at = u.at, updated_at = u.at
	FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(id, reason, at)
	WHERE a.id = u.id`}

// recordFilterErrors appends to filter_errors (each row a JSON array of one entry).
var recordFilterErrors = &Statement{Columns: 3, SQL: `UPDATE actions a SET filter_errors = a.filter_errors || u.entry, updated_at = u.at
	FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[]) AS u(id, entry, at)
	WHERE a.id = u.id`}

// filterError is one element of actions.filter_errors.
type filterError struct {
	PolicyID   string    `json:"policy_id"`
	PolicyHash string    `json:"policy_hash"`
	Error      string    `json:"error"`
	At         time.Time `json:"at"`
}

func (actionsProjector) Project(q Queue, ev Envelope) error {
	switch e := ev.Event.(type) {
	case domain.ActionProposed:
		a := e.Action
		// The fields as they may be shown: a connection's secrets, even sealed, stay in the log.
		fields, err := jsonArg(a.PublicFields(), "{}")
		if err != nil {
			return err
		}
		q.Row(proposeActions, e.ActionID, e.ActionID, e.CommunityID, string(a.Kind), a.Type, a.Platform, a.InitiatorID, a.ExternalID,
			fields, a.Reversible, domain.ActionStatusProposed, a.ProposedAt, e.At)
	case domain.ActionGoverned:
		ids, err := jsonArg(textArray(e.ProposalIDs), "[]")
		if err != nil {
			return err
		}
		q.Row(governActions, e.ActionID, e.ActionID, ids, e.GoverningProposalID, e.At)
	case domain.ActionRejected:
		q.Row(decideActions, e.ActionID, e.ActionID, domain.ActionStatusRejected, e.Reason, e.ProposalID, e.At)
	case domain.ActionExecuted:
		q.Row(decideActions, e.ActionID, e.ActionID, domain.ActionStatusExecuted, e.Reason, e.ProposalID, e.At)
	case domain.ActionExecutionFailed:
		q.Row(decideActions, e.ActionID, e.ActionID, domain.ActionStatusExecutionFailed, e.Reason, e.ProposalID, e.At)
	case domain.ActionReverted:
		q.Row(revertActions, e.ActionID, e.ActionID, e.Reason, e.At)
	case domain.ActionFilterErrored:
		entry, err := jsonArg([]filterError{{PolicyID: e.PolicyID, PolicyHash: e.PolicyHash, Error: e.Error, At: e.At}}, "[]")
		if err != nil {
			return err
		}
		q.Row(recordFilterErrors, e.ActionID, e.ActionID, entry, e.At)
	}
	return nil
}
