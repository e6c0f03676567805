package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/policy"
)

// Engine carries out commands through the evaluation loop: it loads the community, the
// action and the proposal a command concerns, lets the loop decide at the current time, and
// appends every stream the decision touched in one atomic multi-stream append at the
// versions it loaded. A lost version race (another engine decided first) is retried from a
// fresh load; a redelivered command decides nothing new, because the loop is idempotent on
// the state it finds and event ids are derived from the command's id.
//
// Decisions of one community are serialised within a process; different communities decide
// in parallel.
type Engine struct {
	store eventstore.Store
	loop  *evaluation.Loop
	log   *slog.Logger
	now   func() time.Time
	locks keyedMutex
	// communities caches community state between commands.
	communities communities
	// proposals caches proposal state between the votes and checks of one proposal.
	proposals *proposals
	// actions caches action state from its recording to its decision and effects.
	actions *actions
}

// New returns an engine deciding with loop over store. now is the clock (time.Now when nil).
func New(store eventstore.Store, loop *evaluation.Loop, logger *slog.Logger, now func() time.Time) *Engine {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Engine{store: store, loop: loop, log: logger, now: now, proposals: newProposals(), actions: newActions()}
}

// Loop is the evaluation loop the engine decides with.
func (e *Engine) Loop() *evaluation.Loop { return e.loop }

// Recorder is the engine's Recorder: its community cache and lock, and the loop's
// evaluator as the compiler of proposed policy code.
func (e *Engine) Recorder() *Recorder {
	var compiler PolicyCompiler
	if e.loop != nil {
		compiler = CompilerOf(e.loop.Evaluator())
	}
	return &Recorder{Store: e.store, Compiler: compiler, Now: e.now, load: e.communities.load, view: e.communities.current,
		lock: e.locks.lock, proposals: e.proposals}
}

// ProposeAction records an action (see Recorder.ProposeAction); the engine evaluates it
// when the event comes back from the log (see HandleActionProposed).
func (e *Engine) ProposeAction(ctx context.Context, cmd bus.ProposeAction, meta Meta) error {
	_, err := e.Recorder().ProposeAction(ctx, cmd, meta)
	return err
}

// recordActionUnit is the step that records an action (see Recorder.ProposeAction), to
// record it in a group with other steps of its community; *rec tells, once the unit is
// decided, where the action went.
func (e *Engine) recordActionUnit(ctx context.Context, cmd bus.ProposeAction, meta Meta, rec *Recorded) *unit {
	r := e.Recorder()
	return &unit{ctx: ctx, what: "propose " + cmd.Action.ID, meta: meta, step: func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
		// An action the engine does not know of is read, never taken to be new: a command
		// redelivered after another engine recorded it would append the same events again,
		// which the store takes as done (idempotent by event id) while the log holds the
		// other engine's, recorded at another time.
		out, recorded, state, err := r.proposeOutcome(ctx, env.store, env.c, cmd, meta, env.now,
			func(ctx context.Context, _ eventstore.Store, id string) (*domain.ActionRecord, error) {
				return e.actions.takeIn(ctx, env, id)
			})
		*rec = recorded
		if err == nil {
			env.onCommit(func() { e.actions.keep(cmd.Action.ID, state) })
		}
		return out, err
	}}
}

// PolicyCompiler is an evaluator that can also check policy code without running it
// (policysandbox.Evaluator is one). Translating and compiling hostile source can take
// unbounded time and memory, so the engine compiles proposed code where its loop evaluates
// policy code: an engine on the sandbox never compiles it in its own process. problems holds
// the code's faults (a block's syntax error, or a limit the compilation hit); err says that
// the code could not be checked at all.
type PolicyCompiler interface {
	Compile(ctx context.Context, code domain.PolicyCode) (problems []*policy.EvalError, err error)
}

// ErrNoPolicyCompiler: the engine has no evaluator that can check policy code, so proposals
// to add or change a policy are refused.
var ErrNoPolicyCompiler = errors.New("engine: the policy evaluator cannot check policy code")

// CompilerOf is what checks policy code for the evaluator ev: ev itself when it can (the
// sandbox), or, for an in-process runtime, that runtime: whoever evaluates policy code in
// this process (tests, tools) exposes the process to it already.
func CompilerOf(ev evaluation.Evaluator) PolicyCompiler {
	switch ev := ev.(type) {
	case PolicyCompiler:
		return ev
	case *policy.Runtime:
		return inProcessCompiler{ev}
	}
	return nil
}

type inProcessCompiler struct{ rt *policy.Runtime }

func (c inProcessCompiler) Compile(_ context.Context, code domain.PolicyCode) ([]*policy.EvalError, error) {
	var problems []*policy.EvalError
	for _, err := range c.rt.Validate(code) {
		var ee *policy.EvalError
		if !errors.As(err, &ee) {
			ee = &policy.EvalError{Type: "SyntaxError", Detail: err.Error()}
		}
		problems = append(problems, ee)
	}
	return problems, nil
}

// policyProblems is the Invalid error naming the faults of policy code (nil for none).
func policyProblems(problems []*policy.EvalError) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		if p.Block == "" { // a sandbox limit: it concerns the code as a whole
			msgs[i] = p.Type + ": " + p.Detail
		} else {
			msgs[i] = p.Error()
		}
	}
	return domain.Invalid("policy code: %s", strings.Join(msgs, "\n"))
}

// HandleActionProposed evaluates a recorded action: permission gate, governing policy,
// trigger policies. It is what the engine does when ActionProposed reaches it.
func (e *Engine) HandleActionProposed(ctx context.Context, communityID, actionID string, meta Meta) (evaluation.Outcome, error) {
	u := e.actionUnit(ctx, communityID, actionID, meta)
	e.decideUnits(ctx, communityID, []*unit{u})
	return u.out, u.err
}

// actionUnit is HandleActionProposed's step, to decide alone or in a group.
func (e *Engine) actionUnit(ctx context.Context, communityID, actionID string, meta Meta) *unit {
	return &unit{ctx: ctx, what: "evaluate action " + actionID, meta: meta, step: func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
		rec, err := e.actions.takeIn(ctx, env, actionID)
		if err != nil {
			return evaluation.Outcome{}, err
		}
		env.onCommit(func() { e.actions.keep(actionID, rec) })
		// An action is decided by its own community's policies only.
		if !rec.Proposed() || rec.Action.CommunityID != env.c.ID {
			return evaluation.Outcome{}, domain.NotFound("action %q in community %s", actionID, env.c.ID)
		}
		return e.loop.ActionProposed(ctx, env.c, rec, env.now)
	}}
}

// CastVote records a vote and re-checks its proposal at once, in one step. The entry points
// record with Recorder.CastVote and the check runs in a step of its own (see Service); this
// one-step form is what logs written before that hold, and what tests use to set a proposal up.
func (e *Engine) CastVote(ctx context.Context, cmd bus.CastVote, meta Meta) (evaluation.Outcome, error) {
	return withVoter(ctx, e, cmd, meta, func(cmd bus.CastVote) (evaluation.Outcome, error) {
		return e.decide(ctx, cmd.CommunityID, "vote on "+cmd.ProposalID, meta, e.voteStep(cmd, nil))
	})
}

// voteUnit is CastVote's step, to decide in a group: the vote recorded and the proposal
// checked at once. *rec tells, once the unit is decided, how far the proposal's stream went.
// A voter the community does not know yet fails it with a newVoterError.
func (e *Engine) voteUnit(ctx context.Context, cmd bus.CastVote, meta Meta, rec *Recorded) *unit {
	return &unit{ctx: ctx, what: "vote on " + cmd.ProposalID, meta: meta, step: e.voteStep(cmd, rec)}
}

func (e *Engine) voteStep(cmd bus.CastVote, rec *Recorded) stepFunc {
	return e.onProposal(cmd.ProposalID, func(ctx context.Context, env *stepEnv, a *domain.ActionRecord, p *domain.Proposal) (evaluation.Outcome, error) {
		v, err := voter(env.c, cmd)
		if err != nil {
			return evaluation.Outcome{}, err
		}
		before := p.Version
		out, err := e.loop.CastVote(ctx, env.c, a, p, v, env.now)
		if rec != nil && err == nil {
			*rec = Recorded{Stream: domain.ProposalStream(p.ID), Version: p.Version, Changed: p.Version > before}
		}
		return out, err
	})
}

// RecordVote records a vote without checking the proposal (see Recorder.CastVote; the
// check runs when VoteCast comes back from the log, so that recording votes never waits on
// policy code). changed is false when the vote was already recorded.
func (e *Engine) RecordVote(ctx context.Context, cmd bus.CastVote, meta Meta) (changed bool, err error) {
	rec, err := e.Recorder().CastVote(ctx, cmd, meta)
	return rec.Changed, err
}

// RecordEffect records an adapter's report on an effect without checking the proposal; see
// RecordVote. wake is true when the report answered a platform call that a block waits for:
// only then does the proposal's evaluation go on (see evaluation.Loop.EffectResult). Effects
// of actions decided without a proposal need no check at all.
func (e *Engine) RecordEffect(ctx context.Context, cmd bus.RecordEffectResult, meta Meta) (wake bool, err error) {
	u := e.effectUnit(ctx, cmd, meta)
	e.decideUnits(ctx, cmd.CommunityID, []*unit{u})
	if cmd.ProposalID == "" {
		return !u.out.Empty(), u.err
	}
	return evaluation.Answered(u.out), u.err
}

// effectUnit is RecordEffect's step, to decide alone or in a group.
func (e *Engine) effectUnit(ctx context.Context, cmd bus.RecordEffectResult, meta Meta) *unit {
	if cmd.ProposalID == "" {
		return e.actionEffectUnit(ctx, cmd, meta)
	}
	return &unit{ctx: ctx, what: "record effect " + cmd.EffectID, meta: meta, step: e.onProposal(cmd.ProposalID,
		func(ctx context.Context, env *stepEnv, rec *domain.ActionRecord, p *domain.Proposal) (evaluation.Outcome, error) {
			return e.loop.RecordEffect(env.c, rec, p, cmd.EffectID, cmd.Result, cmd.Error, env.now)
		})}
}

// actionEffectUnit records the result of an effect of an action decided without a proposal.
func (e *Engine) actionEffectUnit(ctx context.Context, cmd bus.RecordEffectResult, meta Meta) *unit {
	return &unit{ctx: ctx, what: "effect " + cmd.EffectID, meta: meta, step: func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
		rec, err := e.actions.takeIn(ctx, env, cmd.ActionID)
		if err != nil {
			return evaluation.Outcome{}, err
		}
		env.onCommit(func() { e.actions.keep(cmd.ActionID, rec) })
		if !rec.Proposed() || rec.Action.CommunityID != env.c.ID {
			return evaluation.Outcome{}, domain.NotFound("action %q in community %s", cmd.ActionID, env.c.ID)
		}
		return e.loop.ActionEffectResult(ctx, env.c, rec, cmd.EffectID, cmd.Result, cmd.Error, env.now)
	}}
}

// newVoterError is voter's answer for a username on a platform that names no community user
// yet: withVoter registers them and votes again.
type newVoterError struct{ username, platform string }

func (e newVoterError) Error() string {
	return fmt.Sprintf("user %q on %s is not a member yet", e.username, e.platform)
}

// withVoter runs vote, and once more after registering the voter when vote met them as a
// newcomer (a Slack member's first act may be a click). A known voter costs nothing extra.
func withVoter(ctx context.Context, e *Engine, cmd bus.CastVote, meta Meta, vote func(bus.CastVote) (evaluation.Outcome, error)) (evaluation.Outcome, error) {
	out, err := vote(cmd)
	var nv newVoterError
	if !errors.As(err, &nv) {
		return out, err
	}
	if cmd.Vote.UserID, err = EnsureUser(ctx, e.store, cmd.CommunityID, nv.platform, nv.username, meta, e.now()); err != nil {
		return out, err
	}
	return vote(cmd)
}

func voter(c *domain.Community, cmd bus.CastVote) (domain.Vote, error) {
	v := cmd.Vote
	if v.UserID == "" && v.Username != "" {
		u, ok := c.UserByUsername(cmd.Platform, v.Username)
		if !ok && cmd.Platform != "" {
			return v, newVoterError{username: v.Username, platform: cmd.Platform}
		}
		if !ok {
			return v, domain.NotFound("user %q on %s", v.Username, cmd.Platform)
		}
		v.UserID = u.ID
	}
	return v, nil
}

// RecordEffectResult records what an adapter reported for an effect, and re-checks the
// proposal it belongs to (an answer may be what a block was waiting for).
func (e *Engine) RecordEffectResult(ctx context.Context, cmd bus.RecordEffectResult, meta Meta) (evaluation.Outcome, error) {
	if cmd.ProposalID == "" {
		u := e.actionEffectUnit(ctx, cmd, meta)
		e.decideUnits(ctx, cmd.CommunityID, []*unit{u})
		return u.out, u.err
	}
	return e.decide(ctx, cmd.CommunityID, "effect "+cmd.EffectID, meta, e.onProposal(cmd.ProposalID,
		func(ctx context.Context, env *stepEnv, rec *domain.ActionRecord, p *domain.Proposal) (evaluation.Outcome, error) {
			return e.loop.EffectResult(ctx, env.c, rec, p, cmd.EffectID, cmd.Result, cmd.Error, env.now)
		}))
}

// Recheck evaluates an open proposal again (its re-check came due).
func (e *Engine) Recheck(ctx context.Context, cmd bus.RecheckProposal, meta Meta) (evaluation.Outcome, error) {
	u := e.recheckUnit(ctx, cmd, meta)
	e.decideUnits(ctx, cmd.CommunityID, []*unit{u})
	return u.out, u.err
}

// recheckUnit is Recheck's step, to decide alone or in a group.
func (e *Engine) recheckUnit(ctx context.Context, cmd bus.RecheckProposal, meta Meta) *unit {
	return &unit{ctx: ctx, what: "recheck " + cmd.ProposalID, meta: meta, step: e.onProposal(cmd.ProposalID,
		func(ctx context.Context, env *stepEnv, rec *domain.ActionRecord, p *domain.Proposal) (evaluation.Outcome, error) {
			return e.loop.Recheck(ctx, env.c, rec, p, env.now)
		})}
}

// onProposal makes the step that loads a proposal of the step's community and its action,
// and decides with fn. Their states, which fn's loop step applies its outcome to, go back to
// the caches once the outcome is in the log.
func (e *Engine) onProposal(proposalID string,
	fn func(context.Context, *stepEnv, *domain.ActionRecord, *domain.Proposal) (evaluation.Outcome, error)) stepFunc {
	return func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
		p, err := e.proposals.open(ctx, env.store, proposalID)
		if err != nil {
			return evaluation.Outcome{}, err
		}
		env.onCommit(func() { e.proposals.keep(p.ID, p) })
		if p.CommunityID != env.c.ID {
			return evaluation.Outcome{}, domain.NotFound("proposal %q in community %s", proposalID, env.c.ID)
		}
		rec, err := e.actions.take(ctx, env.store, p.ActionID)
		if err != nil {
			return evaluation.Outcome{}, err
		}
		env.onCommit(func() { e.actions.keep(p.ActionID, rec) })
		return fn(ctx, env, rec, p)
	}
}

// AppendOutcome appends every change of a loop outcome in one atomic multi-stream append.
func AppendOutcome(ctx context.Context, store eventstore.Store, out evaluation.Outcome, meta Meta) error {
	var parts []eventstore.StreamAppend
	for _, ch := range out.Changes {
		data, err := encode(ch.Stream, ch.Expected, ch.Events, meta)
		if err != nil {
			return err
		}
		parts = append(parts, eventstore.StreamAppend{Stream: ch.Stream, Expected: eventstore.Exact(ch.Expected), Events: data})
	}
	if len(parts) == 0 {
		return nil
	}
	if _, err := store.AppendMulti(ctx, parts); err != nil {
		return fmt.Errorf("append outcome: %w", err)
	}
	return nil
}

// retry runs fn until it succeeds, fails with an error other than a version conflict, or
// has lost maxAttempts races (then the conflict is returned: the caller's message is
// redelivered later).
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = fn(); !errors.Is(err, eventstore.ErrConcurrency) {
			return err
		}
		if log != nil {
			log.Debug("version conflict; deciding again", "what", what, "attempt", attempt+1)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: gave up after %d version conflicts: %w", what, maxAttempts, err)
}

// NewMeta starts the metadata of a command that has no message id of its own.
func NewMeta() Meta {
	id := uuid.New()
	return Meta{CausationID: id, CorrelationID: id}
}

// keyedMutex serialises work per key; entries are dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
