package domain

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Proposal statuses, as policy code sees them.
const (
	StatusProposed = "PROPOSED"
	StatusPassed   = "PASSED"
	StatusFailed   = "FAILED"
)

// Effect statuses.
const (
	EffectStatusRequested = "requested"
	EffectStatusCompleted = "completed"
	EffectStatusFailed    = "failed"
)

// Effect is a platform call asked for by a proposal, and what came of it.
type Effect struct {
	ID             string         `json:"id"`
	IdempotencyKey string         `json:"idempotency_key"`
	AnswerKey      string         `json:"answer_key,omitempty"`
	Platform       string         `json:"platform"`
	Method         string         `json:"method"`
	Args           map[string]any `json:"args,omitempty"`
	Purpose        string         `json:"purpose"`
	Status         string         `json:"status"`
	Result         map[string]any `json:"result,omitempty"`
	Error          string         `json:"error,omitempty"`
	RequestedAt    time.Time      `json:"requested_at"`
	FinishedAt     time.Time      `json:"finished_at"`
}

// Done reports whether the effect completed or failed.
func (e Effect) Done() bool { return e.Status != EffectStatusRequested }

// applyEffect folds an effect event (EffectRequested, EffectCompleted or EffectFailed) into
// the effects of the stream it belongs to, an action's or a proposal's; a result for an
// effect the stream never requested changes nothing.
func applyEffect(effects *map[string]Effect, ev Event) {
	switch e := ev.(type) {
	case EffectRequested:
		if *effects == nil {
			*effects = map[string]Effect{}
		}
		(*effects)[e.EffectID] = Effect{
			ID: e.EffectID, IdempotencyKey: e.IdempotencyKey, AnswerKey: e.AnswerKey, Platform: e.Platform, Method: e.Method,
			Args: e.Args, Purpose: e.Purpose, Status: EffectStatusRequested, RequestedAt: e.At,
		}
	case EffectCompleted:
		if f, ok := (*effects)[e.EffectID]; ok {
			f.Status, f.Result, f.FinishedAt = EffectStatusCompleted, e.Result, e.At
			(*effects)[e.EffectID] = f
		}
	case EffectFailed:
		if f, ok := (*effects)[e.EffectID]; ok {
			f.Status, f.Error, f.FinishedAt = EffectStatusFailed, e.Error, e.At
			(*effects)[e.EffectID] = f
		}
	}
}

// Proposal is the state of one evaluation of one policy version for one action (stream
// "proposal-<id>"), built by Apply from its events. The zero value is a proposal that was
// never opened.
type Proposal struct {
	ID          string
	CommunityID string
	ActionID    string
	// Action is the snapshot of the action taken when the proposal was opened.
	Action Action

	PolicyID      string
	PolicyHash    string
	PolicyVersion int
	PolicyKind    Kind
	PolicyName    string

	Status       string // StatusProposed, StatusPassed or StatusFailed
	ProposalTime time.Time
	DecidedAt    time.Time
	Reason       string // why it passed or failed, when stated

	// Variables are the policy variables fixed for this proposal (nil until initialized).
	Variables            map[string]any
	VariablesInitialized bool
	// Data is the proposal's data store (proposal.data in policy code).
	Data map[string]any

	VotePostID string
	VoteURL    string
	VoteClosed bool
	// VoteOutcome is what the platform that closed the vote says it decided (VoteClosed's
	// Outcome); nil when it said nothing.
	VoteOutcome map[string]any
	// Ballots are what the votes the proposal started (initiate_vote) offer, in the order they
	// were asked for; none when the proposal never started one.
	Ballots           []Ballot
	GovernanceProcess map[string]any
	// Votes holds each user's current vote, by user id.
	Votes map[string]Vote
	// VoteHistory holds every vote cast, revotes included, in order.
	VoteHistory []Vote

	Notified bool
	// Unchecked: a vote or a governance process's news arrived since check last ran. The
	// evaluation that resumes a waiting notify runs check after it then, so that the news
	// is not left for the next timed re-check.
	Unchecked   bool
	Evaluations int            // number of recorded block runs
	BlockRuns   map[string]int // recorded runs by block name
	LastCheckAt time.Time      // when check last ran
	NextCheckAt time.Time      // zero when no re-check is scheduled
	// CheckOnEvent: the last recorded check needs no timed re-check (RecheckOnEvent).
	CheckOnEvent bool

	Effects map[string]Effect
	Answers map[string]any

	// Version is the number of events applied: the stream version to expect when appending.
	Version int64
}

// NewProposalFromEvents folds a proposal stream into its state.
func NewProposalFromEvents(events []Event) *Proposal {
	p := &Proposal{}
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

// Opened reports whether ProposalOpened has been applied.
func (p *Proposal) Opened() bool { return p.ID != "" }

// Decided reports whether the proposal passed or failed.
func (p *Proposal) Decided() bool { return p.Status == StatusPassed || p.Status == StatusFailed }

// TimeElapsed is now minus the proposal time (proposal.get_time_elapsed()).
func (p *Proposal) TimeElapsed(now time.Time) time.Duration { return now.Sub(p.ProposalTime) }

// CurrentVotes returns each user's current vote, ordered by time then user id.
func (p *Proposal) CurrentVotes() []Vote {
	out := make([]Vote, 0, len(p.Votes))
	for _, v := range p.Votes {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].UserID < out[j].UserID
	})
	return out
}

// VotesWhere returns the current votes for which keep is true, in CurrentVotes order.
func (p *Proposal) VotesWhere(keep func(Vote) bool) []Vote {
	var out []Vote
	for _, v := range p.CurrentVotes() {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// BooleanVotes returns the current boolean votes.
func (p *Proposal) BooleanVotes() []Vote {
	return p.VotesWhere(func(v Vote) bool { return v.Kind == VoteBoolean })
}

// YesVotes returns the current boolean votes for yes.
func (p *Proposal) YesVotes() []Vote {
	return p.VotesWhere(func(v Vote) bool { return v.Kind == VoteBoolean && v.Boolean })
}

// NoVotes returns the current boolean votes for no.
func (p *Proposal) NoVotes() []Vote {
	return p.VotesWhere(func(v Vote) bool { return v.Kind == VoteBoolean && !v.Boolean })
}

// ChoiceVotes returns the current choice votes for value, or all choice votes when value is
// "".
func (p *Proposal) ChoiceVotes(value string) []Vote {
	return p.VotesWhere(func(v Vote) bool { return v.Kind == VoteChoice && (value == "" || v.Choice == value) })
}

// NumberVotes returns the current number votes.
func (p *Proposal) NumberVotes() []Vote {
	return p.VotesWhere(func(v Vote) bool { return v.Kind == VoteNumber })
}

// PendingEffects returns the effects not yet completed or failed, ordered by request time
// then id.
func (p *Proposal) PendingEffects() []Effect {
	var out []Effect
	for _, e := range p.Effects {
		if !e.Done() {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.Before(out[j].RequestedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Apply changes the state by one event of the proposal stream. Events of other streams and
// unknown events only advance Version.
// StreamVersion is Version: what a cache of folded stream states asks of each.
func (p *Proposal) StreamVersion() int64 { return p.Version }

func (p *Proposal) Apply(e Event) {
	p.Version++
	switch e := e.(type) {
	case ProposalOpened:
		p.ID = e.ProposalID
		p.CommunityID = e.CommunityID
		p.ActionID = e.ActionID
		p.Action = e.Action
		p.PolicyID = e.PolicyID
		p.PolicyHash = e.PolicyHash
		p.PolicyVersion = e.PolicyVersion
		p.PolicyKind = e.PolicyKind
		p.PolicyName = e.PolicyName
		p.Status = StatusProposed
		p.ProposalTime = e.At
	case ProposalVariablesInitialized:
		p.Variables = copyMap(e.Variables)
		p.VariablesInitialized = true
	case ProposalEvaluated:
		p.Evaluations++
		if p.BlockRuns == nil {
			p.BlockRuns = map[string]int{}
		}
		p.BlockRuns[e.Block]++
		if e.Block == BlockCheck {
			p.LastCheckAt = e.At
			p.Unchecked = false
			p.CheckOnEvent = e.Recheck == RecheckOnEvent
		}
	case ProposalDataChanged:
		for _, op := range e.Ops {
			switch op.Op {
			case DataSet:
				if p.Data == nil {
					p.Data = map[string]any{}
				}
				p.Data[op.Key] = op.Value
			case DataRemove:
				delete(p.Data, op.Key)
			}
		}
	case VotePostRecorded:
		p.VotePostID = e.PostID
		p.VoteURL = e.URL
	case VoteCast:
		if p.Votes == nil {
			p.Votes = map[string]Vote{}
		}
		p.Votes[e.Vote.UserID] = e.Vote
		p.Unchecked = true
		p.VoteHistory = append(p.VoteHistory, e.Vote)
	case VoteClosed:
		p.VoteClosed = true
		p.VoteOutcome = copyMap(e.Outcome)
	case GovernanceProcessUpdated:
		p.GovernanceProcess = copyMap(e.Process)
		if !e.FromAnswer {
			p.Unchecked = true
		}
	case ProposalNotified:
		p.Notified = true
	case EffectRequested:
		if e.Method == MethodInitiateVote {
			b := BallotOf(e.Platform, e.Args)
			if !slices.ContainsFunc(p.Ballots, b.equal) {
				p.Ballots = append(p.Ballots, b)
			}
		}
		applyEffect(&p.Effects, e)
	case EffectCompleted, EffectFailed:
		applyEffect(&p.Effects, e)
	case AnswerRecorded:
		if p.Answers == nil {
			p.Answers = map[string]any{}
		}
		p.Answers[e.Key] = e.Value
	case RecheckScheduled:
		p.NextCheckAt = e.DueAt
	case ProposalPassed:
		p.Status, p.DecidedAt, p.Reason, p.NextCheckAt = StatusPassed, e.At, e.Reason, time.Time{}
	case ProposalFailed:
		p.Status, p.DecidedAt, p.Reason, p.NextCheckAt = StatusFailed, e.At, e.Reason, time.Time{}
	}
}

func (p *Proposal) header(now time.Time) ProposalHeader {
	return ProposalHeader{CommunityID: p.CommunityID, ProposalID: p.ID, At: now.UTC()}
}

func (p *Proposal) mustBeOpen() error {
	if !p.Opened() {
		return NotFound("proposal")
	}
	return nil
}

func (p *Proposal) mustBePending(doing string) error {
	if err := p.mustBeOpen(); err != nil {
		return err
	}
	if p.Decided() {
		return Conflict("proposal %s is %s: cannot %s", p.ID, p.Status, doing)
	}
	return nil
}

// OpenProposal starts the evaluation of Policy (its current version) for Action.
type OpenProposal struct {
	ProposalID string
	Action     Action
	Policy     Policy
}

// DecideOpenProposal emits ProposalOpened. Opening an opened proposal again with the same
// action and policy version changes nothing; with others it is a Conflict.
func (p *Proposal) DecideOpenProposal(cmd OpenProposal, now time.Time) ([]Event, error) {
	if cmd.ProposalID == "" {
		return nil, Invalid("proposal id is empty")
	}
	if cmd.Policy.ID == "" || cmd.Policy.Hash == "" {
		return nil, Invalid("proposal %s: policy id or hash is empty", cmd.ProposalID)
	}
	a, err := cmd.Action.Normalized()
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if p.Opened() {
		if p.ID == cmd.ProposalID && p.ActionID == a.ID && p.PolicyID == cmd.Policy.ID && p.PolicyHash == cmd.Policy.Hash {
			return nil, nil
		}
		return nil, Conflict("proposal %s is already open for action %s and policy %s", p.ID, p.ActionID, p.PolicyID)
	}
	return []Event{ProposalOpened{
		ProposalHeader: ProposalHeader{CommunityID: a.CommunityID, ProposalID: cmd.ProposalID, At: now.UTC()},
		ActionID:       a.ID,
		Action:         a,
		PolicyID:       cmd.Policy.ID,
		PolicyHash:     cmd.Policy.Hash,
		PolicyVersion:  cmd.Policy.Version,
		PolicyKind:     cmd.Policy.Kind,
		PolicyName:     cmd.Policy.Name,
	}}, nil
}

// InitializeVariables fixes the policy variables the proposal evaluates with.
type InitializeVariables struct {
	Variables map[string]any
}

// DecideInitializeVariables emits ProposalVariablesInitialized once. The same variables
// again change nothing; different ones are a Conflict.
func (p *Proposal) DecideInitializeVariables(cmd InitializeVariables, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	vars, err := normalizeMap(cmd.Variables, "variables")
	if err != nil {
		return nil, err
	}
	if p.VariablesInitialized {
		if jsonEqual(p.Variables, vars) {
			return nil, nil
		}
		return nil, Conflict("proposal %s: variables are already initialized", p.ID)
	}
	return []Event{ProposalVariablesInitialized{ProposalHeader: p.header(now), Variables: vars}}, nil
}

// RecordEvaluation records one run of one policy block.
type RecordEvaluation struct {
	Block  string
	Result string
	Logs   []LogLine
	Error  string
	// Recheck: see ProposalEvaluated.Recheck.
	Recheck string
}

// DecideRecordEvaluation emits ProposalEvaluated; every run is recorded, also on decided
// proposals (success and fail blocks run after the decision).
func (p *Proposal) DecideRecordEvaluation(cmd RecordEvaluation, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	switch cmd.Block {
	case BlockFilter, BlockInitialize, BlockCheck, BlockNotify, BlockSuccess, BlockFail:
	default:
		return nil, Invalid("unknown policy block %q", cmd.Block)
	}
	if cmd.Block == BlockCheck && cmd.Result != "" && cmd.Result != StatusProposed && cmd.Result != StatusPassed && cmd.Result != StatusFailed {
		return nil, Invalid("check result %q is not PROPOSED, PASSED or FAILED", cmd.Result)
	}
	switch cmd.Recheck {
	case "", RecheckTimed, RecheckOnEvent:
	default:
		return nil, Invalid("recheck %q is not %s or %s", cmd.Recheck, RecheckTimed, RecheckOnEvent)
	}
	return []Event{ProposalEvaluated{
		ProposalHeader: p.header(now), Block: cmd.Block, Result: cmd.Result,
		Logs: append([]LogLine(nil), cmd.Logs...), Error: cmd.Error, Recheck: cmd.Recheck,
	}}, nil
}

// ChangeProposalData applies data-store operations (proposal.data.set / remove).
type ChangeProposalData struct {
	Ops []DataOp
}

// DecideChangeProposalData emits ProposalDataChanged with the operations that change
// something, in order; none change anything: no events.
func (p *Proposal) DecideChangeProposalData(cmd ChangeProposalData, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	data := copyMap(p.Data)
	if data == nil {
		data = map[string]any{}
	}
	var ops []DataOp
	for _, op := range cmd.Ops {
		if op.Key == "" {
			return nil, Invalid("data key is empty")
		}
		switch op.Op {
		case DataSet:
			v, err := normalizeValue(op.Value, "data "+op.Key)
			if err != nil {
				return nil, err
			}
			if old, ok := data[op.Key]; ok && jsonEqual(old, v) {
				continue
			}
			data[op.Key] = v
			ops = append(ops, DataOp{Op: DataSet, Key: op.Key, Value: v})
		case DataRemove:
			if _, ok := data[op.Key]; !ok {
				continue
			}
			delete(data, op.Key)
			ops = append(ops, DataOp{Op: DataRemove, Key: op.Key})
		default:
			return nil, Invalid("data op %q is not set or remove", op.Op)
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return []Event{ProposalDataChanged{ProposalHeader: p.header(now), Ops: ops}}, nil
}

// RecordVotePost records the platform post a vote runs on.
type RecordVotePost struct {
	PostID string
	URL    string
}

// DecideRecordVotePost emits VotePostRecorded unless the same post is already recorded.
func (p *Proposal) DecideRecordVotePost(cmd RecordVotePost, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	if cmd.PostID == "" {
		return nil, Invalid("vote post id is empty")
	}
	if p.VotePostID == cmd.PostID && p.VoteURL == cmd.URL {
		return nil, nil
	}
	return []Event{VotePostRecorded{ProposalHeader: p.header(now), PostID: cmd.PostID, URL: cmd.URL}}, nil
}

// CastVote records a user's vote; Vote.At is set to now.
type CastVote struct {
	Vote Vote
}

// DecideCastVote emits VoteCast. A vote on a decided proposal or a closed vote is a
// Conflict; a malformed vote, or one that no vote the proposal started offers (Ballots), is
// Invalid; the same value as the user's current vote changes nothing. A refused vote
// records nothing: the user's current vote stands.
func (p *Proposal) DecideCastVote(cmd CastVote, now time.Time) ([]Event, error) {
	if err := p.mustBePending("vote"); err != nil {
		return nil, err
	}
	if p.VoteClosed {
		return nil, Conflict("proposal %s: the vote is closed", p.ID)
	}
	if err := cmd.Vote.Validate(); err != nil {
		return nil, err
	}
	v, err := p.admit(cmd.Vote)
	if err != nil {
		return nil, err
	}
	if cur, ok := p.Votes[v.UserID]; ok && cur.SameValue(v) {
		return nil, nil
	}
	v.At = now.UTC()
	return []Event{VoteCast{ProposalHeader: p.header(now), Vote: v}}, nil
}

// admit returns v as the first of the proposal's ballots that offers it takes it. A proposal
// that started no vote takes any well-formed vote: its members vote through PolicyKit itself.
func (p *Proposal) admit(v Vote) (Vote, error) {
	if len(p.Ballots) == 0 {
		return v, nil
	}
	offers := make([]string, len(p.Ballots))
	for i, b := range p.Ballots {
		if w, ok := b.Admit(v); ok {
			return w, nil
		}
		offers[i] = b.String()
	}
	return Vote{}, Invalid("proposal %s: %q is not a vote its vote offers (%s)", p.ID, truncate(v.Text(), 40), strings.Join(offers, "; or "))
}

// truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// MaxVoteOutcomeBytes bounds a vote's outcome as JSON: a statement someone wrote, not a
// document.
const MaxVoteOutcomeBytes = 64 << 10

// CloseVote closes the proposal's vote. Outcome, optional, is what the platform says the
// vote decided (a Loomio poll's outcome statement).
type CloseVote struct {
	Outcome map[string]any
}

// DecideCloseVote emits VoteClosed unless the vote is already closed: the outcome of a close
// delivered again, or of a second close, is not recorded over the first's.
func (p *Proposal) DecideCloseVote(cmd CloseVote, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	if p.VoteClosed {
		return nil, nil
	}
	outcome, size, err := normalizeMapSized(cmd.Outcome, "vote outcome")
	if err != nil {
		return nil, err
	}
	if size > MaxVoteOutcomeBytes {
		return nil, Invalid("vote outcome of proposal %s: %d bytes as JSON, more than %d", p.ID, size, MaxVoteOutcomeBytes)
	}
	return []Event{VoteClosed{ProposalHeader: p.header(now), Outcome: outcome}}, nil
}

// UpdateGovernanceProcess records the current state of the external governance process.
// FromAnswer: it is what starting or closing the process answered (see
// GovernanceProcessUpdated).
type UpdateGovernanceProcess struct {
	Process    map[string]any
	FromAnswer bool
}

// DecideUpdateGovernanceProcess emits GovernanceProcessUpdated when the state changed. An
// update naming another process than the one the proposal follows (by "id") is Invalid.
func (p *Proposal) DecideUpdateGovernanceProcess(cmd UpdateGovernanceProcess, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	proc, err := normalizeMap(cmd.Process, "governance process")
	if err != nil {
		return nil, err
	}
	if len(proc) == 0 {
		return nil, Invalid("governance process of proposal %s: empty update", p.ID)
	}
	if old, ok := p.GovernanceProcess["id"]; ok {
		if id, ok := proc["id"]; ok && fmt.Sprint(id) != fmt.Sprint(old) {
			return nil, Invalid("proposal %s follows governance process %v, not %v", p.ID, old, id)
		}
	}
	if jsonEqual(p.GovernanceProcess, proc) {
		return nil, nil
	}
	return []Event{GovernanceProcessUpdated{ProposalHeader: p.header(now), Process: proc, FromAnswer: cmd.FromAnswer}}, nil
}

// MarkNotified records that the notify block ran.
type MarkNotified struct{}

// DecideMarkNotified emits ProposalNotified once.
func (p *Proposal) DecideMarkNotified(_ MarkNotified, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	if p.Notified {
		return nil, nil
	}
	return []Event{ProposalNotified{ProposalHeader: p.header(now)}}, nil
}

// RequestEffect asks a platform to perform one call. IdempotencyKey defaults to EffectID and
// Purpose to PurposePolicy; AnswerKey is the key a query's answer is recorded under.
type RequestEffect struct {
	EffectID       string
	IdempotencyKey string
	AnswerKey      string
	Platform       string
	Method         string
	Args           map[string]any
	Purpose        string
}

// DecideRequestEffect emits EffectRequested. Requesting the same effect again changes
// nothing; a different effect under a used id is a Conflict.
func (p *Proposal) DecideRequestEffect(cmd RequestEffect, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	if cmd.EffectID == "" || cmd.Method == "" {
		return nil, Invalid("effect id or method is empty")
	}
	if !IsKnownPlatform(cmd.Platform) {
		return nil, Invalid("effect %s: unknown platform %q", cmd.EffectID, cmd.Platform)
	}
	if cmd.IdempotencyKey == "" {
		cmd.IdempotencyKey = cmd.EffectID
	}
	if cmd.Purpose == "" {
		cmd.Purpose = PurposePolicy
	}
	switch cmd.Purpose {
	case PurposePolicy, PurposeExecute, PurposeRevert, PurposeQuery:
	default:
		return nil, Invalid("effect %s: unknown purpose %q", cmd.EffectID, cmd.Purpose)
	}
	args, size, err := normalizeMapSized(cmd.Args, "effect args")
	if err != nil {
		return nil, err
	}
	if size > MaxEffectArgsBytes {
		return nil, fmt.Errorf("effect %s (%s.%s): %w", cmd.EffectID, cmd.Platform, cmd.Method, effectArgsTooLarge(size))
	}
	if old, ok := p.Effects[cmd.EffectID]; ok {
		if old.IdempotencyKey == cmd.IdempotencyKey && old.AnswerKey == cmd.AnswerKey && old.Platform == cmd.Platform && old.Method == cmd.Method &&
			old.Purpose == cmd.Purpose && jsonEqual(old.Args, args) {
			return nil, nil
		}
		return nil, Conflict("effect %s was requested with other content", cmd.EffectID)
	}
	return []Event{EffectRequested{
		ProposalHeader: p.header(now), EffectID: cmd.EffectID, IdempotencyKey: cmd.IdempotencyKey, AnswerKey: cmd.AnswerKey,
		Platform: cmd.Platform, Method: cmd.Method, Args: args, Purpose: cmd.Purpose,
	}}, nil
}

// MaxEffectArgsBytes bounds an effect's arguments as JSON. An effect request travels on the
// bus, whose transports refuse large messages (NATS: 1 MB by default); one that could never be
// published would hold up every effect behind it.
const MaxEffectArgsBytes = 256 << 10

// CheckEffectArgs is an Invalid error when args are too large to request as an effect.
func CheckEffectArgs(args map[string]any) error {
	if len(args) == 0 {
		return nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return Invalid("effect args: %v", err)
	}
	if len(b) > MaxEffectArgsBytes {
		return effectArgsTooLarge(len(b))
	}
	return nil
}

func effectArgsTooLarge(size int) error {
	return Invalid("effect arguments of %d bytes are larger than %d", size, MaxEffectArgsBytes)
}

// RecordEffectResult reports an effect's outcome: Error != "" means it failed.
type RecordEffectResult struct {
	EffectID string
	Result   map[string]any
	Error    string
}

// DecideRecordEffectResult emits EffectCompleted or EffectFailed. An unknown effect is
// NotFound; a result for a finished effect changes nothing (the first result stands).
func (p *Proposal) DecideRecordEffectResult(cmd RecordEffectResult, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	eff, ok := p.Effects[cmd.EffectID]
	if !ok {
		return nil, NotFound("effect %q", cmd.EffectID)
	}
	if eff.Done() {
		return nil, nil
	}
	if cmd.Error != "" {
		return []Event{EffectFailed{ProposalHeader: p.header(now), EffectID: cmd.EffectID, Error: cmd.Error}}, nil
	}
	res, err := normalizeMap(cmd.Result, "effect result")
	if err != nil {
		return nil, err
	}
	return []Event{EffectCompleted{ProposalHeader: p.header(now), EffectID: cmd.EffectID, Result: res}}, nil
}

// RecordAnswer keeps the answer of a data-returning call under a key.
type RecordAnswer struct {
	Key   string
	Value any
}

// DecideRecordAnswer emits AnswerRecorded once per key: the same answer again changes
// nothing, a different one is a Conflict (answers are fixed for replay).
func (p *Proposal) DecideRecordAnswer(cmd RecordAnswer, now time.Time) ([]Event, error) {
	if err := p.mustBeOpen(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cmd.Key) == "" {
		return nil, Invalid("answer key is empty")
	}
	v, err := normalizeValue(cmd.Value, "answer "+cmd.Key)
	if err != nil {
		return nil, err
	}
	if old, ok := p.Answers[cmd.Key]; ok {
		if jsonEqual(old, v) {
			return nil, nil
		}
		return nil, Conflict("answer %q is already recorded with another value", cmd.Key)
	}
	return []Event{AnswerRecorded{ProposalHeader: p.header(now), Key: cmd.Key, Value: v}}, nil
}

// ScheduleRecheck asks for check to run again at DueAt.
type ScheduleRecheck struct {
	DueAt time.Time
}

// DecideScheduleRecheck emits RecheckScheduled unless the same time is already scheduled.
// Only a pending proposal can be re-checked (else Conflict).
func (p *Proposal) DecideScheduleRecheck(cmd ScheduleRecheck, now time.Time) ([]Event, error) {
	if err := p.mustBePending("schedule a re-check"); err != nil {
		return nil, err
	}
	if cmd.DueAt.IsZero() {
		return nil, Invalid("re-check time is zero")
	}
	due := cmd.DueAt.UTC()
	if p.NextCheckAt.Equal(due) {
		return nil, nil
	}
	return []Event{RecheckScheduled{ProposalHeader: p.header(now), DueAt: due}}, nil
}

// PassProposal passes a pending proposal.
type PassProposal struct {
	Reason string
}

// DecidePassProposal emits ProposalPassed; only a PROPOSED proposal can pass (else
// Conflict).
func (p *Proposal) DecidePassProposal(cmd PassProposal, now time.Time) ([]Event, error) {
	if err := p.mustBePending("pass it"); err != nil {
		return nil, err
	}
	return []Event{ProposalPassed{ProposalHeader: p.header(now), Reason: cmd.Reason}}, nil
}

// FailProposal fails a pending proposal.
type FailProposal struct {
	Reason string
}

// DecideFailProposal emits ProposalFailed; only a PROPOSED proposal can fail (else
// Conflict).
func (p *Proposal) DecideFailProposal(cmd FailProposal, now time.Time) ([]Event, error) {
	if err := p.mustBePending("fail it"); err != nil {
		return nil, err
	}
	return []Event{ProposalFailed{ProposalHeader: p.header(now), Reason: cmd.Reason}}, nil
}
