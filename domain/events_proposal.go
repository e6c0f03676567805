package domain

import "time"

// Event types of the proposal stream ("proposal-<id>").
const (
	EventProposalOpened               = "proposal.opened"
	EventProposalVariablesInitialized = "proposal.variables_initialized"
	EventProposalEvaluated            = "proposal.evaluated"
	EventProposalDataChanged          = "proposal.data_changed"
	EventVotePostRecorded             = "proposal.vote_post_recorded"
	EventVoteCast                     = "proposal.vote_cast"
	EventVoteClosed                   = "proposal.vote_closed"
	EventGovernanceProcessUpdated     = "proposal.governance_process_updated"
	EventProposalNotified             = "proposal.notified"
	EventEffectRequested              = "proposal.effect_requested"
	EventEffectCompleted              = "proposal.effect_completed"
	EventEffectFailed                 = "proposal.effect_failed"
	EventAnswerRecorded               = "proposal.answer_recorded"
	EventRecheckScheduled             = "proposal.recheck_scheduled"
	EventProposalPassed               = "proposal.passed"
	EventProposalFailed               = "proposal.failed"
)

// ProposalOpened starts a proposal: the evaluation of one policy version (id, hash,
// version) for one action, whose snapshot it carries. Status is PROPOSED from here.
type ProposalOpened struct {
	ProposalHeader
	ActionID      string `json:"action_id"`
	Action        Action `json:"action"`
	PolicyID      string `json:"policy_id"`
	PolicyHash    string `json:"policy_hash"`
	PolicyVersion int    `json:"policy_version"`
	PolicyKind    Kind   `json:"policy_kind"`
	PolicyName    string `json:"policy_name"`
}

// ProposalVariablesInitialized records the policy variables (name -> typed value) the
// proposal evaluates with, fixed once.
type ProposalVariablesInitialized struct {
	ProposalHeader
	Variables map[string]any `json:"variables"`
}

// ProposalEvaluated records one run of one policy block, for audit and replay: the block,
// what it returned (check: "PASSED", "FAILED" or "PROPOSED"; filter: "true"/"false"; others
// ""), the log lines it wrote, and the error that stopped it, if any.
type ProposalEvaluated struct {
	ProposalHeader
	Block  string    `json:"block"`
	Result string    `json:"result"`
	Logs   []LogLine `json:"logs,omitempty"`
	Error  string    `json:"error,omitempty"`
	// Recheck says, for a check that returned PROPOSED, what brings the next check:
	// RecheckTimed (the check read the clock, or something else that can change without an
	// event on the proposal, so it is re-checked every interval) or RecheckOnEvent (only
	// what happens to the proposal can change its result: votes, answers, a process's news).
	// Empty in events recorded before this was known, and read as RecheckTimed.
	Recheck string `json:"recheck,omitempty"`
}

// What brings a pending proposal's next check (ProposalEvaluated.Recheck).
const (
	RecheckTimed   = "timed"
	RecheckOnEvent = "on_event"
)

// LogLine is one line a policy logged through its logger.
type LogLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// Data operations of ProposalDataChanged.
const (
	DataSet    = "set"
	DataRemove = "remove"
)

// DataOp sets or removes one key of the proposal's data store.
type DataOp struct {
	Op    string `json:"op"`
	Key   string `json:"key"`
	Value any    `json:"value,omitempty"`
}

// ProposalDataChanged applies the data-store operations of one evaluation, in order.
type ProposalDataChanged struct {
	ProposalHeader
	Ops []DataOp `json:"ops"`
}

// VotePostRecorded: the vote was started on a platform post (Slack message ts, Discord
// message id, Loomio poll) with this id and URL.
type VotePostRecorded struct {
	ProposalHeader
	PostID string `json:"post_id"`
	URL    string `json:"url"`
}

// VoteCast records a user's current vote; it replaces that user's earlier vote.
type VoteCast struct {
	ProposalHeader
	Vote Vote `json:"vote"`
}

// VoteClosed: the vote is over (a Loomio poll closed, say); no vote is accepted after it.
// Outcome is what the platform says the vote decided, when it says (a Loomio poll's outcome
// statement: {"statement": ..., "statement_format": ...}); policy code reads it as
// proposal.vote_outcome.
type VoteClosed struct {
	ProposalHeader
	Outcome map[string]any `json:"outcome,omitempty"`
}

// GovernanceProcessUpdated carries the whole current state of the external (Metagov)
// governance process deciding the proposal.
type GovernanceProcessUpdated struct {
	ProposalHeader
	Process map[string]any `json:"process"`
	// FromAnswer: the process is what starting or closing it answered, in the evaluation
	// that asked; not news from its platform that the proposal has yet to be checked on.
	FromAnswer bool `json:"from_answer,omitempty"`
}

// ProposalNotified: the notify block ran (it runs once).
type ProposalNotified struct {
	ProposalHeader
}

// Effect purposes.
const (
	PurposePolicy  = "policy"  // asked by policy code (post_message, initiate_vote, ...)
	PurposeExecute = "execute" // execute a passed governable action
	PurposeRevert  = "revert"  // revert a governable action that did not pass
	PurposeQuery   = "query"   // a data-returning call whose answer policy code needs
)

// EffectRequested asks a platform adapter to perform one call, once (the adapter
// deduplicates on IdempotencyKey, normally the effect id).
type EffectRequested struct {
	ProposalHeader
	EffectID       string         `json:"effect_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Platform       string         `json:"platform"`
	Method         string         `json:"method"`
	Args           map[string]any `json:"args,omitempty"`
	Purpose        string         `json:"purpose"`
	// AnswerKey is where a query's answer is recorded (AnswerRecorded.Key): the call as
	// policy code made it. Empty in logs written before it: the answer went under
	// IdempotencyKey then.
	AnswerKey string `json:"answer_key,omitempty"`
}

// EffectCompleted: the adapter performed the effect; Result holds what it learned (a post
// id, a URL, an answer).
type EffectCompleted struct {
	ProposalHeader
	EffectID string         `json:"effect_id"`
	Result   map[string]any `json:"result,omitempty"`
}

// EffectFailed: the adapter gave up on the effect.
type EffectFailed struct {
	ProposalHeader
	EffectID string `json:"effect_id"`
	Error    string `json:"error"`
}

// AnswerRecorded keeps the answer of a data-returning platform call (e.g.
// sourcecred.get_cred for a username) under a key, so that re-evaluations and audits see the
// same value.
type AnswerRecorded struct {
	ProposalHeader
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// RecheckScheduled: check should run again at DueAt (At is when this was decided).
type RecheckScheduled struct {
	ProposalHeader
	DueAt time.Time `json:"due_at"`
}

// ProposalPassed: check returned PASSED (or the proposal was passed for a stated reason).
type ProposalPassed struct {
	ProposalHeader
	Reason string `json:"reason,omitempty"`
}

// ProposalFailed: check returned FAILED, or evaluation broke (Reason says why).
type ProposalFailed struct {
	ProposalHeader
	Reason string `json:"reason,omitempty"`
}

func (ProposalOpened) EventType() string               { return EventProposalOpened }
func (ProposalVariablesInitialized) EventType() string { return EventProposalVariablesInitialized }
func (ProposalEvaluated) EventType() string            { return EventProposalEvaluated }
func (ProposalDataChanged) EventType() string          { return EventProposalDataChanged }
func (VotePostRecorded) EventType() string             { return EventVotePostRecorded }
func (VoteCast) EventType() string                     { return EventVoteCast }
func (VoteClosed) EventType() string                   { return EventVoteClosed }
func (GovernanceProcessUpdated) EventType() string     { return EventGovernanceProcessUpdated }
func (ProposalNotified) EventType() string             { return EventProposalNotified }
func (EffectRequested) EventType() string              { return EventEffectRequested }
func (EffectCompleted) EventType() string              { return EventEffectCompleted }
func (EffectFailed) EventType() string                 { return EventEffectFailed }
func (AnswerRecorded) EventType() string               { return EventAnswerRecorded }
func (RecheckScheduled) EventType() string             { return EventRecheckScheduled }
func (ProposalPassed) EventType() string               { return EventProposalPassed }
func (ProposalFailed) EventType() string               { return EventProposalFailed }

// Meta of ProposalOpened also names the action the proposal evaluates.
func (e ProposalOpened) Meta() EventMeta {
	m := e.ProposalHeader.Meta()
	m.ActionID = e.ActionID
	return m
}
