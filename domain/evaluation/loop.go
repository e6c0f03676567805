// Package evaluation is PolicyKit's policy engine evaluation loop as pure domain logic: given
// community state, an action or a proposal, and the time, it runs the policies' blocks
// through an Evaluator and returns the outcome events for each stream. It does no I/O and
// reads no clock; the engine loads state, calls the loop and appends what it returns.
//
// The semantics follow PolicyKit:
//
//   - Permission gate. An initiator with the execute permission for the action type has it
//     executed at once, with no proposal. An initiator without the propose permission has a
//     reversible action reverted and the action rejected. Otherwise the action is evaluated.
//   - Platform and constitution actions are governed by the first candidate policy (see
//     domain.Community.CandidatePolicies) whose filter returns true. A filter error counts as
//     false and is recorded; an error during a proposal's first evaluation fails that proposal
//     and the loop moves on to the next candidate. With no governing policy, a platform action
//     stands (a web-proposed one is executed) and a constitution action is rejected.
//   - Trigger actions, and governable actions once executed, open one proposal per matching
//     trigger policy.
//   - initialize runs once; its returned dict becomes the proposal's variables. check returns
//     PASSED, FAILED or PROPOSED. On the first evaluation, PROPOSED or FAILED reverts a
//     reversible action, and PROPOSED runs notify exactly once. PASSED runs the pass block and
//     executes the action; FAILED runs the fail block and rejects it.
//   - Later checks (on a vote, an effect result, or when due) that change nothing append
//     nothing. A PROPOSED check records what brings the next one (see
//     domain.ProposalEvaluated.Recheck): the interval, or only what happens to the proposal
//     when the check read neither the clock nor the community. A check whose answer to
//     that differs from the last recorded one is recorded, also when it changes nothing else.
//   - Platform calls that return data stop a block with a question (see package policy); the
//     loop requests the call as a "query" effect and re-runs the block once the answer is
//     recorded. Until then every run of the block asks the same question again, and asking
//     it again is idempotent (same effect id), so nothing waits on a lock or a flag. A block
//     that stops on a question requests none of its effects; they are requested when it
//     completes. An evaluation whose notify waits resumes at notify, so check's effects are
//     requested once per evaluation. Only an answer resumes an evaluation: other effect
//     results are recorded and wake nothing.
package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
)

// Evaluator runs one policy block. *policy.Runtime is one; a sandboxed process pool is
// another. Evaluate never panics: failures are reported in Output.Err.
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) policy.Output
}

// DefaultRecheckInterval is how often a pending proposal is checked again when nothing
// happens to it.
const DefaultRecheckInterval = 30 * time.Second

// Loop is the evaluation loop. It is safe for concurrent use if its Evaluator is.
type Loop struct {
	eval     Evaluator
	interval time.Duration
}

// New returns a loop evaluating with eval; interval <= 0 means DefaultRecheckInterval.
func New(eval Evaluator, interval time.Duration) *Loop {
	if interval <= 0 {
		interval = DefaultRecheckInterval
	}
	return &Loop{eval: eval, interval: interval}
}

// Evaluator is the evaluator the loop runs policy blocks with.
func (l *Loop) Evaluator() Evaluator { return l.eval }

// RecheckInterval is how long after its last check a pending proposal is due again.
func (l *Loop) RecheckInterval() time.Duration { return l.interval }

// Change is the events to append to one stream. Expected is the stream's version before
// them (0: the stream is new).
type Change struct {
	Stream   string
	Expected int64
	Events   []domain.Event
}

// Outcome is what one step of the loop decided, one Change per stream in the order to append
// them: proposals first, then the action, then the community.
type Outcome struct {
	Changes []Change
	// OnEvent holds, for a re-check (Recheck) that leaves its proposal pending with a last
	// recorded check that needs no timed re-check (domain.RecheckOnEvent), the proposal's id
	// and its stream's version after this step. The check appends nothing when that was so
	// before it too, so this is how the re-check schedule hears of it from the checker.
	OnEvent map[string]int64
}

// Empty reports whether the step decided nothing.
func (o Outcome) Empty() bool {
	for _, c := range o.Changes {
		if len(c.Events) > 0 {
			return false
		}
	}
	return true
}

// Events returns every event of the outcome in append order.
func (o Outcome) Events() []domain.Event {
	var out []domain.Event
	for _, c := range o.Changes {
		out = append(out, c.Events...)
	}
	return out
}

// ProposalsDecided lists the proposals that passed or failed in this outcome.
func (o Outcome) ProposalsDecided() []string {
	var ids []string
	for _, e := range o.Events() {
		switch e := e.(type) {
		case domain.ProposalPassed:
			ids = append(ids, e.ProposalID)
		case domain.ProposalFailed:
			ids = append(ids, e.ProposalID)
		}
	}
	return ids
}

// ActionProposed evaluates a freshly recorded action (its stream holds ActionProposed).
// A redelivered action that was already handled decides nothing. The loop applies the events
// it decides to c and rec; callers discard both on error.
func (l *Loop) ActionProposed(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, now time.Time) (Outcome, error) {
	if !rec.Proposed() {
		return Outcome{}, domain.NotFound("action has not been proposed")
	}
	if rec.Status != domain.ActionStatusProposed || rec.Governed {
		return Outcome{}, nil
	}
	s := l.newStep(ctx, c, rec, now)
	if err := s.actionProposed(); err != nil {
		return Outcome{}, err
	}
	return s.outcome(), nil
}

// Recheck evaluates an open proposal again (a re-check came due, or something happened to
// it). A decided proposal, or one waiting for an answer, decides nothing.
//
// rec may be nil for a probe: the action is not read then, and what would be decided on it
// is left out. An empty outcome is the same either way once the proposal's check has run
// (only a first evaluation reverts an action without appending anything else), so a
// caller may probe, and decide with the action only when the probe is not empty.
func (l *Loop) Recheck(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, now time.Time) (Outcome, error) {
	if !p.Opened() {
		return Outcome{}, domain.NotFound("proposal has not been opened")
	}
	s := l.newStep(ctx, c, rec, now)
	s.track(p)
	if err := s.resume(p); err != nil {
		return Outcome{}, err
	}
	out := s.outcome()
	if p.Status == domain.StatusProposed && p.CheckOnEvent {
		out.OnEvent = map[string]int64{p.ID: p.Version}
	}
	return out, nil
}

// CastVote records a vote and re-checks the proposal at once. The voter needs the vote
// permission for the proposal's action type (Forbidden otherwise).
func (l *Loop) CastVote(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, v domain.Vote, now time.Time) (Outcome, error) {
	return l.recordThenResume(ctx, c, rec, p, now, func(s *step) error { return s.recordVote(p, v) })
}

// RecordVote records a vote without checking the proposal: the engine records votes as they
// come and re-checks the proposal in its own step (Recheck), so that the intake of votes
// never waits on policy code.
func (l *Loop) RecordVote(c *domain.Community, p *domain.Proposal, v domain.Vote, now time.Time) (Outcome, error) {
	s := l.newStep(context.Background(), c, nil, now)
	if err := s.recordVote(p, v); err != nil {
		return Outcome{}, err
	}
	return s.outcome(), nil
}

// EffectResult records what a platform reported for an effect of a proposal. The answer to a
// query effect becomes the recorded answer its block needs, and the block's evaluation
// resumes; any other result only is recorded (in PolicyKit a post being made is no reason to
// evaluate, and a check that posts would otherwise post again for each post it made).
func (l *Loop) EffectResult(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, effectID string, result map[string]any, errText string, now time.Time) (Outcome, error) {
	s := l.newStep(ctx, c, rec, now)
	if err := s.recordEffect(p, effectID, result, errText); err != nil {
		return Outcome{}, err
	}
	if out := s.outcome(); Answered(out) {
		if err := s.resume(p); err != nil {
			return Outcome{}, err
		}
	}
	return s.outcome(), nil
}

// Answered reports whether an outcome recorded the answer to a platform call that a block
// waits for: the proposal's evaluation resumes then (see EffectResult).
func Answered(o Outcome) bool {
	for _, e := range o.Events() {
		if _, ok := e.(domain.AnswerRecorded); ok {
			return true
		}
	}
	return false
}

// RecordEffect records an effect's result (and the answer it carries, or the failed
// execution it reports) without checking the proposal; see RecordVote. The caller resumes
// the proposal when Answered(outcome).
func (l *Loop) RecordEffect(c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, effectID string, result map[string]any, errText string, now time.Time) (Outcome, error) {
	s := l.newStep(context.Background(), c, rec, now)
	if err := s.recordEffect(p, effectID, result, errText); err != nil {
		return Outcome{}, err
	}
	return s.outcome(), nil
}

// recordThenResume records something that happened to a proposal and, when that changed
// the proposal, moves it on at once.
func (l *Loop) recordThenResume(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, p *domain.Proposal, now time.Time, record func(*step) error) (Outcome, error) {
	s := l.newStep(ctx, c, rec, now)
	if err := record(s); err != nil {
		return Outcome{}, err
	}
	if s.changed(p) {
		if err := s.resume(p); err != nil {
			return Outcome{}, err
		}
	}
	return s.outcome(), nil
}

func (s *step) recordVote(p *domain.Proposal, v domain.Vote) error {
	if !p.Opened() {
		return domain.NotFound("proposal has not been opened")
	}
	u, ok := s.c.Users[v.UserID]
	if !ok {
		return domain.NotFound("user %q is not a member of community %s", v.UserID, s.c.ID)
	}
	if !s.c.Can(v.UserID, domain.VerbVote, p.Action.Type, p.Action.Kind) {
		return domain.Forbidden("user %s may not vote on %s proposals", u.Username, p.Action.Type)
	}
	if v.Username == "" {
		v.Username = u.Username
	}
	if v.At.IsZero() {
		v.At = s.now
	}
	s.track(p)
	return s.proposal(p, func() ([]domain.Event, error) { return p.DecideCastVote(domain.CastVote{Vote: v}, s.now) })
}

func (s *step) recordEffect(p *domain.Proposal, effectID string, result map[string]any, errText string) error {
	if !p.Opened() {
		return domain.NotFound("proposal has not been opened")
	}
	eff, ok := p.Effects[effectID]
	if !ok {
		return domain.NotFound("effect %q of proposal %s", effectID, p.ID)
	}
	s.track(p)
	if err := s.proposal(p, func() ([]domain.Event, error) {
		return p.DecideRecordEffectResult(domain.RecordEffectResult{EffectID: effectID, Result: result, Error: errText}, s.now)
	}); err != nil {
		return err
	}
	if !s.changed(p) {
		return nil // a redelivered result
	}
	switch eff.Purpose {
	case domain.PurposeQuery:
		// A failed query answers None, so the block runs on instead of waiting forever; the
		// failure stays visible in EffectFailed.
		if err := s.proposal(p, func() ([]domain.Event, error) {
			key := eff.AnswerKey
			if key == "" {
				key = eff.IdempotencyKey // a query requested before answer keys were recorded
			}
			return p.DecideRecordAnswer(domain.RecordAnswer{Key: key, Value: answerValue(result, errText)}, s.now)
		}); err != nil {
			return err
		}
		return s.followProcess(p, eff, result, errText)
	case domain.PurposeExecute:
		if errText != "" && s.rec != nil {
			return s.action(func() ([]domain.Event, error) {
				return s.rec.DecideMarkActionExecutionFailed(domain.MarkActionExecutionFailed{ProposalID: p.ID, Reason: errText}, s.now)
			})
		}
	}
	return nil
}

// followProcess records the process a metagov.start_process or close_process answered as
// the proposal's governance process, which metagov.get_process() returns from then on and
// the process's updates on the hook replace. An update that came first is kept: it is newer
// than the start's answer.
func (s *step) followProcess(p *domain.Proposal, eff domain.Effect, result map[string]any, errText string) error {
	if errText != "" || eff.Platform != domain.PlatformMetagov || (eff.Method != MethodStartProcess && eff.Method != MethodCloseProcess) {
		return nil
	}
	proc, ok := answerValue(result, errText).(map[string]any)
	if !ok || len(proc) == 0 {
		return nil
	}
	if eff.Method == MethodStartProcess && p.GovernanceProcess != nil && fmt.Sprint(p.GovernanceProcess["id"]) == fmt.Sprint(proc["id"]) {
		return nil
	}
	return s.proposal(p, func() ([]domain.Event, error) {
		return p.DecideUpdateGovernanceProcess(domain.UpdateGovernanceProcess{Process: proc, FromAnswer: true}, s.now)
	})
}

// The metagov methods that start and close a proposal's governance process.
const (
	MethodStartProcess = "start_process"
	MethodCloseProcess = "close_process"
)

// RecordGovernanceProcess records an update of the proposal's governance process (from the
// platform that runs it) without checking the proposal; see RecordVote.
func (l *Loop) RecordGovernanceProcess(c *domain.Community, p *domain.Proposal, process map[string]any, now time.Time) (Outcome, error) {
	if !p.Opened() || p.CommunityID != c.ID {
		return Outcome{}, domain.NotFound("proposal %q in community %s", p.ID, c.ID)
	}
	s := l.newStep(context.Background(), c, nil, now)
	s.track(p)
	if err := s.proposal(p, func() ([]domain.Event, error) {
		return p.DecideUpdateGovernanceProcess(domain.UpdateGovernanceProcess{Process: process}, s.now)
	}); err != nil {
		return Outcome{}, err
	}
	return s.outcome(), nil
}

// ActionEffectResult records the result of an execute or revert effect that the permission
// gate requested on the action itself (no proposal).
func (l *Loop) ActionEffectResult(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, effectID string, result map[string]any, errText string, now time.Time) (Outcome, error) {
	eff, ok := rec.Effects[effectID]
	if !ok {
		return Outcome{}, domain.NotFound("effect %q of action %s", effectID, rec.Action.ID)
	}
	s := l.newStep(ctx, c, rec, now)
	if eff.Done() {
		return s.outcome(), nil
	}
	h := domain.ProposalHeader{CommunityID: rec.Action.CommunityID, At: now.UTC()}
	var ev domain.Event = domain.EffectCompleted{ProposalHeader: h, EffectID: effectID, Result: result}
	if errText != "" {
		ev = domain.EffectFailed{ProposalHeader: h, EffectID: effectID, Error: errText}
	}
	if err := s.action(func() ([]domain.Event, error) { return []domain.Event{ev}, nil }); err != nil {
		return Outcome{}, err
	}
	if errText != "" && eff.Purpose == domain.PurposeExecute {
		if err := s.action(func() ([]domain.Event, error) {
			return rec.DecideMarkActionExecutionFailed(domain.MarkActionExecutionFailed{Reason: errText}, now)
		}); err != nil {
			return Outcome{}, err
		}
	}
	return s.outcome(), nil
}

func answerValue(result map[string]any, errText string) any {
	if errText != "" {
		return nil
	}
	if v, ok := result["value"]; ok && len(result) == 1 {
		return v
	}
	return result
}

// step accumulates the events of one loop step per stream, applying each to its aggregate
// as it is decided so that later decisions see it.
type step struct {
	l    *Loop
	ctx  context.Context
	c    *domain.Community
	rec  *domain.ActionRecord
	now  time.Time
	base map[string]int64 // stream -> version before this step
	evs  map[string][]domain.Event
	// order of first touch, by kind, so the outcome appends proposals, action, community
	proposals []string
	// selecting is true while candidate policies are tried for a new action: a block error
	// then passes the action to the next candidate instead of rejecting it.
	selecting bool
	// info is the community as policy code sees it, built when a block first needs it (steps
	// that only record a vote or a result never do) and dropped when the community changes.
	info *communityInfo
}

func (l *Loop) newStep(ctx context.Context, c *domain.Community, rec *domain.ActionRecord, now time.Time) *step {
	return &step{l: l, ctx: ctx, c: c, rec: rec, now: now.UTC(), base: map[string]int64{}, evs: map[string][]domain.Event{}}
}

func (s *step) track(p *domain.Proposal) {
	st := domain.ProposalStream(p.ID)
	if _, ok := s.base[st]; !ok {
		s.base[st] = p.Version
		s.proposals = append(s.proposals, p.ID)
	}
}

func (s *step) changed(p *domain.Proposal) bool { return len(s.evs[domain.ProposalStream(p.ID)]) > 0 }

func (s *step) proposal(p *domain.Proposal, decide func() ([]domain.Event, error)) error {
	evs, err := decide()
	if err != nil {
		return err
	}
	before := p.Version
	for _, e := range evs {
		p.Apply(e) // a new proposal learns its id here
	}
	st := domain.ProposalStream(p.ID)
	if _, ok := s.base[st]; !ok {
		s.base[st] = before
		s.proposals = append(s.proposals, p.ID)
	}
	s.evs[st] = append(s.evs[st], evs...)
	return nil
}

func (s *step) action(decide func() ([]domain.Event, error)) error {
	if s.rec == nil {
		return nil
	}
	evs, err := decide()
	if err != nil {
		return err
	}
	st := domain.ActionStream(s.rec.Action.ID)
	if _, ok := s.base[st]; !ok {
		s.base[st] = s.rec.Version
	}
	for _, e := range evs {
		s.rec.Apply(e)
	}
	s.evs[st] = append(s.evs[st], evs...)
	return nil
}

func (s *step) community(evs []domain.Event) {
	st := domain.CommunityStream(s.c.ID)
	if _, ok := s.base[st]; !ok {
		s.base[st] = s.c.Version
	}
	for _, e := range evs {
		s.c.Apply(e)
	}
	s.evs[st] = append(s.evs[st], evs...)
	s.info = nil
}

func (s *step) outcome() Outcome {
	var out Outcome
	add := func(st string) {
		if evs := s.evs[st]; len(evs) > 0 {
			out.Changes = append(out.Changes, Change{Stream: st, Expected: s.base[st], Events: evs})
		}
	}
	for _, id := range s.proposals {
		add(domain.ProposalStream(id))
	}
	if s.rec != nil {
		add(domain.ActionStream(s.rec.Action.ID))
	}
	add(domain.CommunityStream(s.c.ID))
	return out
}

// actionProposed runs the permission gate and then governance.
func (s *step) actionProposed() error {
	a := s.rec.Action
	if a.Kind == domain.KindTrigger {
		ids, err := s.runTriggers()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return s.action(func() ([]domain.Event, error) {
				return s.rec.DecideRejectAction(domain.RejectAction{Reason: "no trigger policy applies"}, s.now)
			})
		}
		return nil
	}
	if a.InitiatorID != "" {
		if s.c.Can(a.InitiatorID, domain.VerbExecute, a.Type, a.Kind) {
			return s.execute(nil, "initiator has the execute permission")
		}
		if !s.c.Can(a.InitiatorID, domain.VerbPropose, a.Type, a.Kind) {
			reason := fmt.Sprintf("initiator may not propose %s", a.Type)
			if a.Reversible {
				if err := s.revert(nil, reason); err != nil {
					return err
				}
			}
			return s.action(func() ([]domain.Event, error) {
				return s.rec.DecideRejectAction(domain.RejectAction{Reason: reason}, s.now)
			})
		}
	}
	var tried []string
	s.selecting = true
	defer func() { s.selecting = false }()
	for _, pol := range s.c.CandidatePolicies(a.Kind, a.Type) {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		ok, err := s.filter(pol)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		p := &domain.Proposal{}
		id := DeriveID("proposal", a.ID, pol.ID)
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideOpenProposal(domain.OpenProposal{ProposalID: id, Action: a, Policy: pol}, s.now)
		}); err != nil {
			return err
		}
		tried = append(tried, id)
		governed, err := s.firstEvaluation(p)
		if err != nil {
			return err
		}
		if governed {
			return s.action(func() ([]domain.Event, error) {
				return s.rec.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: tried, GoverningProposalID: id}, s.now)
			})
		}
	}
	if len(tried) > 0 {
		if err := s.action(func() ([]domain.Event, error) {
			return s.rec.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: tried}, s.now)
		}); err != nil {
			return err
		}
	}
	if a.Kind == domain.KindPlatform {
		return s.execute(nil, "no platform policy governs this action")
	}
	return s.action(func() ([]domain.Event, error) {
		return s.rec.DecideRejectAction(domain.RejectAction{Reason: "no constitution policy governs this action"}, s.now)
	})
}

// runTriggers opens and evaluates one proposal per trigger policy whose filter accepts the
// action, and returns their ids.
func (s *step) runTriggers() ([]string, error) {
	a := s.rec.Action
	var ids []string
	for _, pol := range s.c.CandidatePolicies(domain.KindTrigger, a.Type) {
		ok, err := s.filter(pol)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		p := &domain.Proposal{}
		id := DeriveID("trigger", a.ID, pol.ID)
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideOpenProposal(domain.OpenProposal{ProposalID: id, Action: a, Policy: pol}, s.now)
		}); err != nil {
			return nil, err
		}
		ids = append(ids, id)
		if _, err := s.firstEvaluation(p); err != nil {
			return nil, err
		}
	}
	if len(ids) > 0 {
		if err := s.action(func() ([]domain.Event, error) {
			return s.rec.DecideRecordGovernance(domain.RecordGovernance{ProposalIDs: ids}, s.now)
		}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// filter runs a candidate's filter; an error counts as false and is recorded on the action.
func (s *step) filter(pol domain.Policy) (bool, error) {
	if pol.Code.Filter == "" {
		return true, nil
	}
	in := s.input(pol, nil, policy.BlockFilter)
	out := s.l.eval.Evaluate(s.ctx, in)
	if out.Err == nil && out.Question == nil {
		return out.Filter, nil
	}
	msg := "filter asked a platform for data; filters must decide from the action alone"
	if out.Err != nil {
		msg = out.Err.Error()
	}
	return false, s.action(func() ([]domain.Event, error) {
		return s.rec.DecideRecordFilterError(domain.RecordFilterError{PolicyID: pol.ID, PolicyHash: pol.Hash, Error: msg}, s.now)
	})
}

// firstEvaluation runs initialize and the first check of a new proposal. It returns false
// when a block failed (the proposal is failed), so that the next candidate gets the action.
func (s *step) firstEvaluation(p *domain.Proposal) (bool, error) {
	failed, err := s.advance(p)
	return !failed, err
}

// resume continues a proposal from wherever it stands.
func (s *step) resume(p *domain.Proposal) error {
	_, err := s.advance(p)
	return err
}

// advance moves a proposal as far as it can go now: it stops at a question without an
// answer, at a PROPOSED check, or when the decision is carried out. failed reports a block
// error on the proposal's first evaluation.
func (s *step) advance(p *domain.Proposal) (failed bool, err error) {
	pol, ok := s.c.PolicyVersions[p.PolicyHash]
	if !ok {
		return false, domain.NotFound("policy %s version %s of proposal %s", p.PolicyID, p.PolicyHash, p.ID)
	}
	switch p.Status {
	case domain.StatusPassed:
		if p.BlockRuns[domain.BlockSuccess] == 0 {
			return false, s.finish(p, pol, policy.BlockSuccess)
		}
		return false, nil
	case domain.StatusFailed:
		if p.BlockRuns[domain.BlockFail] == 0 && p.Reason != reasonBlockError {
			return false, s.finish(p, pol, policy.BlockFail)
		}
		return false, nil
	}
	first := p.BlockRuns[domain.BlockCheck] == 0
	if !p.VariablesInitialized {
		out, ok, err := s.run(p, pol, policy.BlockInitialize, true)
		if err != nil || !ok {
			return s.stopped(p, out, first, err)
		}
		vars := mergeVars(s.policyVariables(pol), out.Variables)
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideInitializeVariables(domain.InitializeVariables{Variables: vars}, s.now)
		}); err != nil {
			return false, err
		}
	}
	if !first && !p.Notified {
		// check returned PROPOSED in an evaluation whose notify is waiting for a platform's
		// answer: that evaluation resumes at notify, as PolicyKit runs check and notify as
		// one. Running check again would request its effects (a post, say) a second time.
		// Only when notify still waits did something else wake the proposal (a vote, a due
		// re-check), and that is a new evaluation.
		out, ok, err := s.run(p, pol, policy.BlockNotify, true)
		switch {
		case err != nil:
			return false, err
		case ok:
			if err := s.proposal(p, func() ([]domain.Event, error) { return p.DecideMarkNotified(domain.MarkNotified{}, s.now) }); err != nil {
				return false, err
			}
			if !p.Unchecked {
				return false, nil
			}
			// A vote or a process's news came while notify waited: check it now, as
			// the evaluation that woke the proposal for it would have.
		case out.Err != nil:
			return s.stopped(p, out, first, nil)
		}
	}
	out, ok, err := s.run(p, pol, policy.BlockCheck, first)
	if err != nil || !ok {
		return s.stopped(p, out, first, err)
	}
	switch out.Status {
	case domain.StatusPassed:
		if err := s.proposal(p, func() ([]domain.Event, error) { return p.DecidePassProposal(domain.PassProposal{}, s.now) }); err != nil {
			return false, err
		}
		return false, s.finish(p, pol, policy.BlockSuccess)
	case domain.StatusFailed:
		if first {
			if err := s.revertIfReversible(p); err != nil {
				return false, err
			}
		}
		if err := s.proposal(p, func() ([]domain.Event, error) { return p.DecideFailProposal(domain.FailProposal{}, s.now) }); err != nil {
			return false, err
		}
		return false, s.finish(p, pol, policy.BlockFail)
	}
	if first {
		if err := s.revertIfReversible(p); err != nil {
			return false, err
		}
	}
	return s.notify(p, pol, first)
}

// notify runs the notify block of a PROPOSED proposal unless it already ran.
func (s *step) notify(p *domain.Proposal, pol domain.Policy, first bool) (failed bool, err error) {
	if p.Notified {
		return false, nil
	}
	out, ok, err := s.run(p, pol, policy.BlockNotify, true)
	if err != nil || !ok {
		return s.stopped(p, out, first, err)
	}
	return false, s.proposal(p, func() ([]domain.Event, error) { return p.DecideMarkNotified(domain.MarkNotified{}, s.now) })
}

// stopped handles a block that did not complete: a question (wait; a first evaluation reverts
// the action as PROPOSED would) or an error (the proposal already failed in run; while
// candidates are being tried the caller moves on to the next one, later the action is
// rejected).
func (s *step) stopped(p *domain.Proposal, out policy.Output, first bool, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if out.Err == nil {
		if first {
			return false, s.revertIfReversible(p)
		}
		return false, nil
	}
	if s.selecting {
		return true, nil
	}
	if s.rec == nil || p.PolicyKind == domain.KindTrigger || s.rec.GoverningProposalID != p.ID {
		return false, nil
	}
	return false, s.action(func() ([]domain.Event, error) {
		return s.rec.DecideRejectAction(domain.RejectAction{ProposalID: p.ID, Reason: "policy error: " + out.Err.Error()}, s.now)
	})
}

const reasonBlockError = "policy error"

// finish runs the pass or fail block of a decided proposal and carries out the decision on
// the action. An error in the block is recorded and does not undo the decision.
func (s *step) finish(p *domain.Proposal, pol domain.Policy, b policy.Block) error {
	out, ok, err := s.run(p, pol, b, true)
	if err != nil || (!ok && out.Err == nil) {
		return err // or waiting for an answer
	}
	if p.PolicyKind == domain.KindTrigger || s.rec == nil || s.rec.GoverningProposalID != "" && s.rec.GoverningProposalID != p.ID {
		return nil
	}
	if b == policy.BlockSuccess {
		return s.execute(p, "proposal passed")
	}
	return s.action(func() ([]domain.Event, error) {
		return s.rec.DecideRejectAction(domain.RejectAction{ProposalID: p.ID, Reason: "proposal failed"}, s.now)
	})
}

// run evaluates one block of a proposal and records what it did. ok is false when the block
// stopped on a question (the query effect is requested) or failed. record forces a
// ProposalEvaluated even when the block changed nothing.
func (s *step) run(p *domain.Proposal, pol domain.Policy, b policy.Block, record bool) (policy.Output, bool, error) {
	if err := s.ctx.Err(); err != nil {
		return policy.Output{}, false, err
	}
	out := s.l.eval.Evaluate(s.ctx, s.input(pol, p, b))
	stream := domain.ProposalStream(p.ID)
	before := len(s.evs[stream])
	if q := out.Question; q != nil && out.Err == nil {
		// A question too large to ask can never be answered: the block fails.
		if err := domain.CheckEffectArgs(q.Args); err != nil {
			out.Question = nil
			out.Err = &policy.EvalError{Type: "EffectTooLarge", Block: b, Detail: fmt.Sprintf("%s.%s: %v", q.Platform, q.Method, err)}
		}
	}
	if out.Question != nil {
		q := out.Question
		return out, false, s.proposal(p, func() ([]domain.Event, error) {
			// The platform performs the call once for this proposal (IdempotencyKey: the
			// effect's own id), never handing it the answer another proposal got to the same
			// call: two proposals starting the same Metagov process start two.
			id := DeriveID("effect", p.ID, "query", q.Key)
			return p.DecideRequestEffect(domain.RequestEffect{
				EffectID: id, IdempotencyKey: id, AnswerKey: q.Key,
				Platform: q.Platform, Method: q.Method, Args: q.Args, Purpose: domain.PurposeQuery,
			}, s.now)
		})
	}
	if out.Err != nil {
		msg := out.Err.Error()
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideRecordEvaluation(domain.RecordEvaluation{Block: string(b), Logs: out.Logs, Error: msg}, s.now)
		}); err != nil {
			return out, false, err
		}
		if p.Status == domain.StatusProposed {
			if err := s.proposal(p, func() ([]domain.Event, error) {
				return p.DecideFailProposal(domain.FailProposal{Reason: reasonBlockError}, s.now)
			}); err != nil {
				return out, false, err
			}
		}
		return out, false, nil
	}
	if len(out.DataOps) > 0 {
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideChangeProposalData(domain.ChangeProposalData{Ops: out.DataOps}, s.now)
		}); err != nil {
			return out, false, err
		}
	}
	if out.VotePostID != "" || out.VoteURL != "" {
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideRecordVotePost(domain.RecordVotePost{PostID: out.VotePostID, URL: out.VoteURL}, s.now)
		}); err != nil {
			return out, false, err
		}
	}
	for _, e := range out.Effects {
		if err := domain.CheckEffectArgs(e.Args); err != nil {
			// Refused here, where it is made, with the reason in the evaluation's log: such
			// a request could never be carried to its platform.
			out.Logs = append(out.Logs, domain.LogLine{Level: "error", Message: fmt.Sprintf("%s.%s not requested: %v", e.Platform, e.Method, err)})
			record = true
			continue
		}
		n := len(p.Effects)
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideRequestEffect(domain.RequestEffect{
				EffectID: DeriveID("effect", p.ID, fmt.Sprint(n)), Platform: e.Platform, Method: e.Method, Args: e.Args,
			}, s.now)
		}); err != nil {
			return out, false, err
		}
	}
	result := ""
	switch b {
	case policy.BlockCheck:
		result = out.Status
		if result == "" {
			result = domain.StatusProposed
		}
	case policy.BlockFilter:
		result = fmt.Sprint(out.Filter)
	}
	// A pending proposal needs no timed re-check when its check read nothing that changes
	// without an event on it, and changed nothing (run again, it would do the same).
	recheck := ""
	if b == policy.BlockCheck && result == domain.StatusProposed {
		recheck = domain.RecheckTimed
		if out.Untimed && len(out.Effects) == 0 && len(s.evs[stream]) == before {
			recheck = domain.RecheckOnEvent
		}
	}
	// A re-check that returns PROPOSED and changes nothing appends nothing; a change of
	// what brings the next check is recorded, for the schedule that follows the log.
	quiet := b == policy.BlockCheck && result == domain.StatusProposed && !record && !s.changed(p) &&
		(recheck == domain.RecheckOnEvent) == p.CheckOnEvent
	if !quiet {
		if err := s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideRecordEvaluation(domain.RecordEvaluation{Block: string(b), Result: result, Logs: out.Logs, Recheck: recheck}, s.now)
		}); err != nil {
			return out, false, err
		}
	}
	return out, true, nil
}

// execute carries out a governable action: a constitution action changes the community; a
// platform action that has not happened (or was reverted) is requested from its platform.
// Trigger policies then run for the executed action.
func (s *step) execute(p *domain.Proposal, reason string) error {
	a := s.rec.Action
	pid := ""
	if p != nil {
		pid = p.ID
	}
	switch a.Kind {
	case domain.KindConstitution:
		evs, err := s.c.ExecuteConstitutionAction(a, s.now)
		if err != nil {
			// The community changed since the proposal was made (the role is gone, say):
			// the action cannot take effect.
			return s.action(func() ([]domain.Event, error) {
				return s.rec.DecideMarkActionExecutionFailed(domain.MarkActionExecutionFailed{ProposalID: pid, Reason: err.Error()}, s.now)
			})
		}
		s.community(evs)
	case domain.KindPlatform:
		if !a.Reversible || s.rec.Reverted {
			if err := s.requestActionEffect(p, domain.PurposeExecute); err != nil {
				return err
			}
		}
	}
	if err := s.action(func() ([]domain.Event, error) {
		return s.rec.DecideMarkActionExecuted(domain.MarkActionExecuted{ProposalID: pid, Reason: reason}, s.now)
	}); err != nil {
		return err
	}
	_, err := s.runTriggers()
	return err
}

func (s *step) revertIfReversible(p *domain.Proposal) error {
	if s.rec == nil || p.PolicyKind == domain.KindTrigger || !s.rec.Action.Reversible || s.rec.Reverted {
		return nil
	}
	return s.revert(p, "pending proposal "+p.ID)
}

func (s *step) revert(p *domain.Proposal, reason string) error {
	if err := s.requestActionEffect(p, domain.PurposeRevert); err != nil {
		return err
	}
	pid := ""
	if p != nil {
		pid = p.ID
	}
	return s.action(func() ([]domain.Event, error) {
		return s.rec.DecideMarkActionReverted(domain.MarkActionReverted{ProposalID: pid, Reason: reason}, s.now)
	})
}

// requestActionEffect asks the action's platform to execute or revert it: on the proposal's
// stream when a proposal decided it, else on the action's own stream.
func (s *step) requestActionEffect(p *domain.Proposal, purpose string) error {
	a := s.rec.Action
	args := map[string]any{"action_id": a.ID, "action_type": a.Type, "fields": a.Fields}
	if a.ExternalID != "" {
		args["external_id"] = a.ExternalID
	}
	if p != nil {
		return s.proposal(p, func() ([]domain.Event, error) {
			return p.DecideRequestEffect(domain.RequestEffect{
				EffectID: DeriveID("effect", p.ID, purpose), Platform: a.Platform, Method: purpose, Args: args, Purpose: purpose,
			}, s.now)
		})
	}
	id := DeriveID("effect", a.ID, purpose)
	if _, done := s.rec.Effects[id]; done {
		return nil
	}
	return s.action(func() ([]domain.Event, error) {
		return []domain.Event{domain.EffectRequested{
			ProposalHeader: domain.ProposalHeader{CommunityID: a.CommunityID, At: s.now},
			EffectID:       id, IdempotencyKey: id, Platform: a.Platform, Method: purpose, Args: args, Purpose: purpose,
		}}, nil
	})
}

func (s *step) policyVariables(pol domain.Policy) map[string]any {
	if len(pol.Variables) == 0 {
		return nil
	}
	out := make(map[string]any, len(pol.Variables))
	for _, v := range pol.Variables {
		out[v.Name] = v.Effective()
	}
	return out
}

func mergeVars(base, over map[string]any) map[string]any {
	if len(base) == 0 && len(over) == 0 {
		return map[string]any{}
	}
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// DeriveID returns a stable UUID-shaped id from its parts, so that the same step decided
// twice (a redelivery, a replay) names the same proposals and effects.
func DeriveID(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// seed derives the deterministic randomness of a proposal's evaluations.
func seed(id string) int64 {
	sum := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}

// sortedKeys is used where map order would make outcomes nondeterministic.
func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
