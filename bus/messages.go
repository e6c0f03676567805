package bus

import (
	"time"

	"github.com/policykit-go/policykit/domain"
)

// Command payloads, as they travel on the bus (JSON; see docs/bus.md). Names are
// imperative; each has a stable message type name. Adapters publish them; the engine
// handles them.
const (
	CommandProposeAction      = "propose_action"
	CommandCastVote           = "cast_vote"
	CommandRecordEffectResult = "record_effect_result"
	CommandRecheckProposal    = "recheck_proposal"
	// CommandUpdateGovernanceProcess carries UpdateGovernanceProcess.
	CommandUpdateGovernanceProcess = "update_governance_process"
	// CommandCloseVote carries CloseVote.
	CommandCloseVote = "close_vote"
)

// ProposeAction asks the engine to govern an action: a platform event an adapter saw (a
// Slack channel rename, with Reversible set), an action proposed on PolicyKit's site, or a
// constitution action (see domain.NewConstitutionAction). Action.ID is the idempotency key:
// adapters derive it from the platform's event id. An adapter that knows the initiator only
// as a member of its platform leaves Action.InitiatorID empty and names them in Initiator:
// the engine resolves them to a community user, registering them if they are new.
type ProposeAction struct {
	Action    domain.Action `json:"action"`
	Initiator *PlatformUser `json:"initiator,omitempty"`
}

// PlatformUser names a member by the platform's own id for them (a Slack member id).
type PlatformUser struct {
	Platform string `json:"platform"`
	Username string `json:"username"`
}

// CastVote records a vote on a proposal. The voter is Vote.UserID, or Vote.Username on
// Platform (as a platform adapter knows voters), registered as a community user if new.
type CastVote struct {
	CommunityID string      `json:"community_id"`
	ProposalID  string      `json:"proposal_id"`
	Platform    string      `json:"platform,omitempty"`
	Vote        domain.Vote `json:"vote"`
}

// RecordEffectResult is an adapter's report on an effect it was asked to perform. Error
// set means the effect failed. ProposalID is empty for effects of an action decided without
// a proposal (its execute or revert by the permission gate); ActionID names it then.
type RecordEffectResult struct {
	CommunityID string         `json:"community_id"`
	ProposalID  string         `json:"proposal_id,omitempty"`
	ActionID    string         `json:"action_id,omitempty"`
	EffectID    string         `json:"effect_id"`
	Result      map[string]any `json:"result,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// RecheckProposal asks for an open proposal to be checked again.
type RecheckProposal struct {
	CommunityID string `json:"community_id"`
	ProposalID  string `json:"proposal_id"`
}

// UpdateGovernanceProcess reports the new state of the external governance process a
// proposal started (metagov.start_process: a Loomio poll run by Metagov), as its updates
// arrive on the generic hook. Process is the process as the platform describes it ("id",
// "name", "status", "outcome", "errors"); its "id" must be the started process's. The engine
// records it and checks the proposal again, where metagov.get_process() returns it.
type UpdateGovernanceProcess struct {
	CommunityID string         `json:"community_id"`
	ProposalID  string         `json:"proposal_id"`
	Process     map[string]any `json:"process"`
}

// CloseVote reports that the platform closed the vote a proposal started (a Loomio poll
// closed early or at its closing time), with the platform's final votes: the engine records
// Votes (each as a CastVote would, registering new voters), then closes the proposal's vote
// (proposal.vote_closed, policy code's proposal.is_vote_closed) and checks the proposal. The
// votes travel with the close so that none of them can arrive after it and be refused.
type CloseVote struct {
	CommunityID string `json:"community_id"`
	ProposalID  string `json:"proposal_id"`
	// Platform is where the voters of Votes that name only a Username are members.
	Platform string        `json:"platform,omitempty"`
	Votes    []domain.Vote `json:"votes,omitempty"`
	// Outcome is what the platform says the vote decided, if it says (a Loomio poll's
	// outcome statement: {"id", "statement", "statement_format", ...}); the proposal keeps it
	// (proposal.vote_outcome in policy code).
	Outcome map[string]any `json:"outcome,omitempty"`
}

// EffectRequest is the payload the engine publishes on a platform's effects topic
// (EffectsTopic) for every EffectRequested in the log. The message UUID is EffectID:
// delivery is at least once, and an adapter performs each effect once by that key.
type EffectRequest struct {
	CommunityID    string         `json:"community_id"`
	ProposalID     string         `json:"proposal_id,omitempty"`
	ActionID       string         `json:"action_id,omitempty"`
	EffectID       string         `json:"effect_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Platform       string         `json:"platform"`
	Method         string         `json:"method"`
	Purpose        string         `json:"purpose"`
	Args           map[string]any `json:"args,omitempty"`
	RequestedAt    time.Time      `json:"requested_at"`
}

// MessageEffectRequest is the message_type of EffectRequest messages.
const MessageEffectRequest = "effect_request"
