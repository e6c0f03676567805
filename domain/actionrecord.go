package domain

import "time"

// Action statuses.
const (
	// ActionStatusProposed: recorded, not decided yet. Trigger actions stay here: they have
	// no outcome of their own.
	ActionStatusProposed        = "proposed"
	ActionStatusRejected        = "rejected"
	ActionStatusExecuted        = "executed"
	ActionStatusExecutionFailed = "execution_failed"
	ActionStatusReverted        = "reverted"
)

// ActionRecord is the state of one proposed action and what became of it (stream
// "action-<id>"), built by Apply. The zero value is an action never proposed.
type ActionRecord struct {
	Action Action
	Status string
	// ProposalIDs lists every proposal opened for the action, in order.
	ProposalIDs []string
	// GoverningProposalID is the proposal whose outcome decides the action ("" if none).
	GoverningProposalID string
	Governed            bool
	Reason              string
	DecidedAt           time.Time
	RevertedAt          time.Time
	// Reverted is true once the action was undone on its platform (it may be executed again
	// when its proposal passes later).
	Reverted bool
	// Effects holds execute and revert requests made without a proposal (permission gate),
	// by effect id.
	Effects map[string]Effect
	// FilterErrors records policies whose filter failed while the action was evaluated.
	FilterErrors []ActionFilterErrored

	// Version is the number of events applied: the stream version to expect when appending.
	Version int64
}

// NewActionRecordFromEvents folds an action stream into its state.
func NewActionRecordFromEvents(events []Event) *ActionRecord {
	r := &ActionRecord{}
	for _, e := range events {
		r.Apply(e)
	}
	return r
}

// Proposed reports whether ActionProposed has been applied.
func (r *ActionRecord) Proposed() bool { return r.Action.ID != "" }

// Apply changes the state by one event of the action stream. Other events only advance
// Version.
// StreamVersion is Version: what a cache of folded stream states asks of each.
func (r *ActionRecord) StreamVersion() int64 { return r.Version }

func (r *ActionRecord) Apply(e Event) {
	r.Version++
	switch e := e.(type) {
	case ActionProposed:
		r.Action = e.Action
		r.Status = ActionStatusProposed
	case ActionGoverned:
		r.Governed = true
		for _, id := range e.ProposalIDs {
			if !containsAny(r.ProposalIDs, id) {
				r.ProposalIDs = append(r.ProposalIDs, id)
			}
		}
		if e.GoverningProposalID != "" {
			r.GoverningProposalID = e.GoverningProposalID
		}
	case ActionRejected:
		r.Status, r.Reason, r.DecidedAt = ActionStatusRejected, e.Reason, e.At
	case ActionExecuted:
		r.Status, r.Reason, r.DecidedAt = ActionStatusExecuted, e.Reason, e.At
	case ActionExecutionFailed:
		r.Status, r.Reason, r.DecidedAt = ActionStatusExecutionFailed, e.Reason, e.At
	case EffectRequested, EffectCompleted, EffectFailed:
		applyEffect(&r.Effects, e)
	case ActionFilterErrored:
		r.FilterErrors = append(r.FilterErrors, e)
	case ActionReverted:
		r.Reverted, r.RevertedAt = true, e.At
		if r.Status != ActionStatusRejected { // a rejection is final; the revert only undoes it on the platform
			r.Status = ActionStatusReverted
		}
		if e.Reason != "" {
			r.Reason = e.Reason
		}
	}
}

func containsAny(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *ActionRecord) header(now time.Time) ActionHeader {
	return ActionHeader{CommunityID: r.Action.CommunityID, ActionID: r.Action.ID, At: now.UTC()}
}

func (r *ActionRecord) mustBeProposed() error {
	if !r.Proposed() {
		return NotFound("action")
	}
	return nil
}

// ProposeAction records an action. ProposedAt defaults to now; Kind and Platform default to
// the action type's.
type ProposeAction struct {
	Action Action
}

// DecideProposeAction emits ActionProposed. The action must be valid (Action.Validate:
// Invalid otherwise, e.g. an unknown action type). Proposing the same action again changes
// nothing (redelivered commands); a different action under the same id is a Conflict.
func (r *ActionRecord) DecideProposeAction(cmd ProposeAction, now time.Time) ([]Event, error) {
	a := cmd.Action
	if a.ProposedAt.IsZero() {
		a.ProposedAt = now
		if r.Proposed() { // a redelivery without its own time compares with the recorded one
			a.ProposedAt = r.Action.ProposedAt
		}
	}
	a, err := a.Normalized()
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if r.Proposed() {
		if jsonEqual(r.Action, a) {
			return nil, nil
		}
		return nil, Conflict("action %s was already proposed with other content", a.ID)
	}
	return []Event{ActionProposed{ActionHeader: ActionHeader{CommunityID: a.CommunityID, ActionID: a.ID, At: now.UTC()}, Action: a}}, nil
}

// RecordGovernance lists proposals opened for the action.
type RecordGovernance struct {
	ProposalIDs         []string
	GoverningProposalID string
}

// DecideRecordGovernance emits ActionGoverned unless every proposal (and the governing one)
// is already recorded. The governing proposal must be among the listed or recorded ones,
// and cannot change once set (Conflict).
func (r *ActionRecord) DecideRecordGovernance(cmd RecordGovernance, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(cmd.ProposalIDs))
	for _, id := range cmd.ProposalIDs {
		if id == "" {
			return nil, Invalid("action %s: empty proposal id", r.Action.ID)
		}
		if !containsAny(ids, id) {
			ids = append(ids, id)
		}
	}
	g := cmd.GoverningProposalID
	if g != "" && !containsAny(ids, g) && !containsAny(r.ProposalIDs, g) {
		return nil, Invalid("action %s: governing proposal %s is not listed", r.Action.ID, g)
	}
	if g != "" && r.GoverningProposalID != "" && g != r.GoverningProposalID {
		return nil, Conflict("action %s is already governed by proposal %s", r.Action.ID, r.GoverningProposalID)
	}
	fresh := false
	for _, id := range ids {
		if !containsAny(r.ProposalIDs, id) {
			fresh = true
		}
	}
	if r.Governed && !fresh && (g == "" || g == r.GoverningProposalID) {
		return nil, nil
	}
	return []Event{ActionGoverned{ActionHeader: r.header(now), ProposalIDs: ids, GoverningProposalID: g}}, nil
}

// RejectAction records that the action will not take effect.
type RejectAction struct {
	ProposalID string
	Reason     string
}

// DecideRejectAction emits ActionRejected for a proposed action; rejecting a rejected action
// changes nothing; any other outcome is a Conflict. The reason must be given.
func (r *ActionRecord) DecideRejectAction(cmd RejectAction, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	if cmd.Reason == "" {
		return nil, Invalid("action %s: rejection without reason", r.Action.ID)
	}
	switch r.Status {
	case ActionStatusRejected:
		return nil, nil
	case ActionStatusProposed, ActionStatusReverted: // reverted while its proposal was pending
		return []Event{ActionRejected{ActionHeader: r.header(now), ProposalID: cmd.ProposalID, Reason: cmd.Reason}}, nil
	}
	return nil, Conflict("action %s is %s: cannot reject it", r.Action.ID, r.Status)
}

// MarkActionExecuted records that the action took effect.
type MarkActionExecuted struct {
	ProposalID string
	Reason     string
}

// DecideMarkActionExecuted emits ActionExecuted for a proposed action (again: no events;
// after another outcome: Conflict).
func (r *ActionRecord) DecideMarkActionExecuted(cmd MarkActionExecuted, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	switch r.Status {
	case ActionStatusExecuted:
		return nil, nil
	case ActionStatusProposed, ActionStatusReverted: // reverted while its proposal was pending
		return []Event{ActionExecuted{ActionHeader: r.header(now), ProposalID: cmd.ProposalID, Reason: cmd.Reason}}, nil
	}
	return nil, Conflict("action %s is %s: cannot mark it executed", r.Action.ID, r.Status)
}

// MarkActionExecutionFailed records that the action passed but could not take effect.
type MarkActionExecutionFailed struct {
	ProposalID string
	Reason     string
}

// DecideMarkActionExecutionFailed emits ActionExecutionFailed for a proposed action (again:
// no events; after another outcome: Conflict).
func (r *ActionRecord) DecideMarkActionExecutionFailed(cmd MarkActionExecutionFailed, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	if cmd.Reason == "" {
		return nil, Invalid("action %s: execution failure without reason", r.Action.ID)
	}
	switch r.Status {
	case ActionStatusExecutionFailed:
		return nil, nil
	case ActionStatusProposed, ActionStatusExecuted: // the execution was requested and its effect failed
		return []Event{ActionExecutionFailed{ActionHeader: r.header(now), ProposalID: cmd.ProposalID, Reason: cmd.Reason}}, nil
	}
	return nil, Conflict("action %s is %s: cannot mark its execution failed", r.Action.ID, r.Status)
}

// MarkActionReverted records that a reversible action was undone on its platform.
type MarkActionReverted struct {
	ProposalID string
	Reason     string
}

// DecideMarkActionReverted emits ActionReverted for a reversible action that is proposed or
// rejected (again: no events). A non-reversible action is Invalid; an executed one Conflict.
func (r *ActionRecord) DecideMarkActionReverted(cmd MarkActionReverted, now time.Time) ([]Event, error) {
	if err := r.mustBeProposed(); err != nil {
		return nil, err
	}
	if !r.Action.Reversible {
		return nil, Invalid("action %s is not reversible", r.Action.ID)
	}
	if r.Reverted && r.Status != ActionStatusExecuted {
		return nil, nil
	}
	switch r.Status {
	case ActionStatusReverted:
		return nil, nil
	case ActionStatusProposed, ActionStatusRejected:
		return []Event{ActionReverted{ActionHeader: r.header(now), ProposalID: cmd.ProposalID, Reason: cmd.Reason}}, nil
	}
	return nil, Conflict("action %s is %s: cannot revert it", r.Action.ID, r.Status)
}
