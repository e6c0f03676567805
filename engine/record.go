package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// Recorder records commands in the log. Every entry point records through it: the engine's
// bus handlers, the GraphQL API and the CLI. It checks a command against the state it
// concerns (the domain's rules, and the code of a proposed policy when Compiler is set) and
// appends what the command brings (ActionProposed, VoteCast); it never evaluates policy
// code and never decides. The engine decides when the recorded event reaches it from the
// log (see Service), whoever recorded it, so that one vote is decided the same way from
// every entry point, once.
//
// A refusal is an error with the domain's code (Invalid, Forbidden, Conflict, NotFound),
// returned to whoever recorded: nothing is appended then.
type Recorder struct {
	Store eventstore.Store
	// Compiler checks the code of a proposed policy (ProposeAction refuses a proposal to
	// add or change a policy without one: ErrNoPolicyCompiler).
	Compiler PolicyCompiler
	// Now is the clock votes are recorded at. Default: time.Now.
	Now func() time.Time

	// load, view, lock and proposals are the engine's community cache (a copy of the
	// state, and the shared state itself) and lock, and its proposal cache, when it records.
	load      func(ctx context.Context, store eventstore.Store, id string) (*domain.Community, error)
	view      func(ctx context.Context, store eventstore.Store, id string) (*domain.Community, error)
	lock      func(key string) (unlock func())
	proposals *proposals
}

// Recorded says where a command's event went: its stream and the version of its last event
// there. Changed is false when the command was recorded before (nothing was appended; the
// version is the stream's current one).
type Recorded struct {
	Stream  string
	Version int64
	Changed bool
}

func (r *Recorder) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// communityView is the community's state for reading only.
func (r *Recorder) communityView(ctx context.Context, id string) (*domain.Community, error) {
	if r.view != nil {
		return r.view(ctx, r.Store, id)
	}
	return r.community(ctx, id)
}

// takeProposal and keepProposal use the engine's proposal cache when there is one.
func (r *Recorder) takeProposal(ctx context.Context, id string) (*domain.Proposal, error) {
	if r.proposals != nil {
		return r.proposals.open(ctx, r.Store, id)
	}
	return LoadProposal(ctx, r.Store, id)
}

func (r *Recorder) keepProposal(p *domain.Proposal) {
	if r.proposals != nil {
		r.proposals.keep(p.ID, p)
	}
}

func (r *Recorder) community(ctx context.Context, id string) (*domain.Community, error) {
	if r.load != nil {
		return r.load(ctx, r.Store, id)
	}
	return LoadCommunity(ctx, r.Store, id)
}

// ProposeAction records an action (ActionProposed on its stream). Proposing the same action
// again records nothing. The action's type must be known and its community must exist and
// have the action's platform connected; a constitution action must be valid for the
// community, and policy code it proposes must compile.
func (r *Recorder) ProposeAction(ctx context.Context, cmd bus.ProposeAction, meta Meta) (Recorded, error) {
	if cmd.Action.ID == "" {
		return Recorded{}, domain.Invalid("action id is empty")
	}
	var out Recorded
	err := retry(ctx, nil, "propose "+cmd.Action.ID, func() error {
		c, err := r.communityView(ctx, cmd.Action.CommunityID)
		if err != nil {
			return err
		}
		o, rec, _, err := r.proposeOutcome(ctx, r.Store, c, cmd, meta, r.now(), LoadAction)
		if err != nil {
			return err
		}
		out = rec
		return AppendOutcome(ctx, r.Store, o, meta)
	})
	return out, err
}

// proposeOutcome decides what recording an action appends, against its community c (which
// it only reads) and the action's stream as load reads it from rd. It returns the action's
// state with the outcome applied.
func (r *Recorder) proposeOutcome(ctx context.Context, rd eventstore.Store, c *domain.Community, cmd bus.ProposeAction, meta Meta, now time.Time,
	load func(context.Context, eventstore.Store, string) (*domain.ActionRecord, error)) (evaluation.Outcome, Recorded, *domain.ActionRecord, error) {
	a := cmd.Action
	if a.ID == "" {
		return evaluation.Outcome{}, Recorded{}, nil, domain.Invalid("action id is empty")
	}
	if a.CommunityID != c.ID {
		return evaluation.Outcome{}, Recorded{}, nil, domain.NotFound("community %q", a.CommunityID)
	}
	if a.Kind == domain.KindConstitution {
		if err := domain.ValidateConstitutionAction(c, a); err != nil {
			return evaluation.Outcome{}, Recorded{}, nil, err
		}
		if err := compilePolicyOf(ctx, r.Compiler, a); err != nil {
			return evaluation.Outcome{}, Recorded{}, nil, err
		}
	}
	if p, ok := c.Platforms[a.Platform]; (!ok || !p.Active) && a.Platform != domain.PlatformConstitution && a.Platform != domain.PlatformWeb {
		return evaluation.Outcome{}, Recorded{}, nil, domain.Invalid("platform %q is not connected to community %s", a.Platform, c.ID)
	}
	if in := cmd.Initiator; in != nil && a.InitiatorID == "" {
		if u, ok := c.UserByUsername(in.Platform, in.Username); ok {
			a.InitiatorID = u.ID
		} else {
			// A member met for the first time: registered at once, in a commit of their own.
			id, err := EnsureUser(ctx, r.Store, c.ID, in.Platform, in.Username, meta, now)
			if err != nil {
				return evaluation.Outcome{}, Recorded{}, nil, err
			}
			a.InitiatorID = id
		}
	}
	stream := domain.ActionStream(a.ID)
	rec, err := load(ctx, rd, a.ID)
	if err != nil {
		return evaluation.Outcome{}, Recorded{}, nil, err
	}
	evs, err := rec.DecideProposeAction(domain.ProposeAction{Action: a}, now)
	if err != nil {
		return evaluation.Outcome{}, Recorded{}, nil, err
	}
	out := Recorded{Stream: stream, Version: rec.Version + int64(len(evs)), Changed: len(evs) > 0}
	if len(evs) == 0 {
		return evaluation.Outcome{}, out, rec, nil
	}
	expected := rec.Version
	for _, e := range evs {
		rec.Apply(e)
	}
	return evaluation.Outcome{Changes: []evaluation.Change{{Stream: stream, Expected: expected, Events: evs}}}, out, rec, nil
}

// CastVote records a vote (VoteCast on its proposal's stream) without checking the
// proposal. A vote by a platform member the community does not know yet registers them
// first (a Slack member's first act may be a click). Casting the same vote again records
// nothing.
func (r *Recorder) CastVote(ctx context.Context, cmd bus.CastVote, meta Meta) (Recorded, error) {
	out, err := r.castVote(ctx, cmd, meta)
	var nv newVoterError
	if !errors.As(err, &nv) {
		return out, err
	}
	if cmd.Vote.UserID, err = EnsureUser(ctx, r.Store, cmd.CommunityID, nv.platform, nv.username, meta, r.now()); err != nil {
		return out, err
	}
	return r.castVote(ctx, cmd, meta)
}

// recordLoop records votes: recording runs no policy block, so it needs no evaluator.
var recordLoop = evaluation.New(nil, 0)

func (r *Recorder) castVote(ctx context.Context, cmd bus.CastVote, meta Meta) (Recorded, error) {
	if r.lock != nil {
		defer r.lock(cmd.CommunityID)()
	}
	stream := domain.ProposalStream(cmd.ProposalID)
	var rec Recorded
	err := retry(ctx, nil, "record vote on "+cmd.ProposalID, func() error {
		// Recording reads the community and never changes it: the shared state will do.
		c, err := r.communityView(ctx, cmd.CommunityID)
		if err != nil {
			return err
		}
		p, err := r.takeProposal(ctx, cmd.ProposalID)
		if err != nil {
			return err
		}
		if p.CommunityID != c.ID {
			r.keepProposal(p) // unchanged
			return domain.NotFound("proposal %q in community %s", cmd.ProposalID, c.ID)
		}
		v, err := voter(c, cmd)
		if err != nil {
			r.keepProposal(p)
			return err
		}
		if u, ok := c.Users[v.UserID]; ok && v.Username == "" {
			v.Username = u.Username // the same vote, whichever entry point names the voter how
		}
		out, err := recordLoop.RecordVote(c, p, v, r.now())
		if err != nil {
			r.keepProposal(p) // a refused vote applies nothing
			return err
		}
		rec = Recorded{Stream: stream, Version: p.Version}
		for _, ch := range out.Changes {
			if ch.Stream == stream {
				rec = Recorded{Stream: stream, Version: ch.Expected + int64(len(ch.Events)), Changed: len(ch.Events) > 0}
			}
		}
		if err := AppendOutcome(ctx, r.Store, out, meta); err != nil {
			return err
		}
		r.keepProposal(p) // holds the vote just appended, at the version it has in the log
		return nil
	})
	return rec, err
}

// compilePolicyOf refuses a proposal to add or change a policy whose code does not compile
// (a Starlark syntax error, an expr condition that does not type-check, source that costs
// more than the sandbox allows to compile), with the block and position, before anyone votes
// on it.
func compilePolicyOf(ctx context.Context, compiler PolicyCompiler, a domain.Action) error {
	payload, err := domain.DecodeConstitutionPayload(a)
	if err != nil {
		return err
	}
	var code domain.PolicyCode
	switch p := payload.(type) {
	case domain.AddPolicy:
		code = p.PolicyCode
	case domain.ChangePolicy:
		code = p.PolicyCode
	default:
		return nil
	}
	if compiler == nil {
		return ErrNoPolicyCompiler
	}
	problems, err := compiler.Compile(ctx, code)
	if err != nil {
		return fmt.Errorf("check policy code: %w", err)
	}
	return policyProblems(problems)
}

// UpdateGovernanceProcess records an update of a proposal's governance process (see
// bus.UpdateGovernanceProcess) without checking the proposal; the engine checks it next, as
// after a vote. The same update again records nothing.
func (r *Recorder) UpdateGovernanceProcess(ctx context.Context, cmd bus.UpdateGovernanceProcess, meta Meta) (Recorded, error) {
	if r.lock != nil {
		defer r.lock(cmd.CommunityID)()
	}
	stream := domain.ProposalStream(cmd.ProposalID)
	var rec Recorded
	err := retry(ctx, nil, "record governance process of "+cmd.ProposalID, func() error {
		c, err := r.communityView(ctx, cmd.CommunityID)
		if err != nil {
			return err
		}
		p, err := r.takeProposal(ctx, cmd.ProposalID)
		if err != nil {
			return err
		}
		out, err := recordLoop.RecordGovernanceProcess(c, p, cmd.Process, r.now())
		if err != nil {
			r.keepProposal(p) // a refused update applies nothing
			return err
		}
		rec = Recorded{Stream: stream, Version: p.Version}
		for _, ch := range out.Changes {
			if ch.Stream == stream {
				rec = Recorded{Stream: stream, Version: ch.Expected + int64(len(ch.Events)), Changed: len(ch.Events) > 0}
			}
		}
		if err := AppendOutcome(ctx, r.Store, out, meta); err != nil {
			return err
		}
		r.keepProposal(p)
		return nil
	})
	return rec, err
}
