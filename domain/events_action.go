package domain

import "time"

// Event types of the action stream ("action-<id>").
const (
	EventActionProposed        = "action.proposed"
	EventActionRejected        = "action.rejected"
	EventActionGoverned        = "action.governed"
	EventActionExecuted        = "action.executed"
	EventActionExecutionFailed = "action.execution_failed"
	EventActionReverted        = "action.reverted"
	EventActionFilterErrored   = "action.filter_errored"
)

// ActionProposed records an action (platform, constitution or trigger) as it came in; it
// starts the action stream and wakes the engine.
type ActionProposed struct {
	ActionHeader
	Action Action `json:"action"`
}

// ActionRejected: the action will not take effect: it was refused before any policy ran
// (e.g. its initiator lacks the propose permission; ProposalID "") or its governing proposal
// failed. A reversible action is then reverted (ActionReverted).
type ActionRejected struct {
	ActionHeader
	ProposalID string `json:"proposal_id,omitempty"`
	Reason     string `json:"reason"`
}

// ActionGoverned lists the proposals opened for the action. GoverningProposalID is the one
// whose outcome decides a platform or constitution action ("" when no policy governs it);
// the others are trigger-policy proposals.
type ActionGoverned struct {
	ActionHeader
	ProposalIDs         []string `json:"proposal_ids"`
	GoverningProposalID string   `json:"governing_proposal_id,omitempty"`
}

// ActionExecuted: the action took effect (executed on its platform, applied to the
// constitution, or let stand when it had already happened). ProposalID is the proposal that
// passed it ("" when it passed without one, e.g. the initiator may execute it).
type ActionExecuted struct {
	ActionHeader
	ProposalID string `json:"proposal_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// ActionExecutionFailed: the action passed but could not take effect (e.g. a constitution
// action no longer fits the community).
type ActionExecutionFailed struct {
	ActionHeader
	ProposalID string `json:"proposal_id,omitempty"`
	Reason     string `json:"reason"`
}

// ActionReverted: a reversible action that did not pass was undone on its platform.
type ActionReverted struct {
	ActionHeader
	ProposalID string `json:"proposal_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

func (ActionProposed) EventType() string        { return EventActionProposed }
func (ActionRejected) EventType() string        { return EventActionRejected }
func (ActionGoverned) EventType() string        { return EventActionGoverned }
func (ActionExecuted) EventType() string        { return EventActionExecuted }
func (ActionExecutionFailed) EventType() string { return EventActionExecutionFailed }
func (ActionReverted) EventType() string        { return EventActionReverted }

// ActionFilterErrored records that a candidate policy's filter failed on the action; the
// evaluation loop counts the failure as "does not apply" and moves on.
type ActionFilterErrored struct {
	ActionHeader
	PolicyID   string `json:"policy_id"`
	PolicyHash string `json:"policy_hash"`
	Error      string `json:"error"`
}

func (ActionFilterErrored) EventType() string { return EventActionFilterErrored }

// RecordFilterError records a failed filter.
type RecordFilterError struct {
	PolicyID, PolicyHash, Error string
}

// DecideRecordFilterError emits ActionFilterErrored.
func (r *ActionRecord) DecideRecordFilterError(cmd RecordFilterError, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	return []Event{ActionFilterErrored{ActionHeader: r.header(now), PolicyID: cmd.PolicyID, PolicyHash: cmd.PolicyHash, Error: cmd.Error}}, nil
}
