package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/sealed"
)

// Mapping mutation inputs to commands, and reading back what the engine decided. Every
// problem with the input is a domain Invalid error (INVALID to the client).

// jsonObject decodes an optional JSON object argument.
func jsonObject(arg, s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // ids above 2^53 stay exact
	if err := dec.Decode(&m); err != nil || dec.More() {
		return nil, domain.Invalid("%s is not a JSON object", arg)
	}
	return m, nil
}

// platformAction builds the action proposeAction proposes as the user initiatorID.
func (r *Resolver) platformAction(in model.ProposeActionInput, initiatorID string) (domain.Action, error) {
	info, ok := domain.LookupActionType(in.ActionType)
	if !ok {
		return domain.Action{}, domain.Invalid("unknown action type %q", in.ActionType)
	}
	var fields string
	if in.FieldsJSON != nil {
		fields = *in.FieldsJSON
	}
	f, err := jsonObject("fieldsJSON", fields)
	if err != nil {
		return domain.Action{}, err
	}
	platform := info.Platform
	if in.Platform != nil && *in.Platform != "" {
		platform = *in.Platform
	}
	// A constitution action proposed by type name goes through the same sealing as
	// proposeConstitutionAction: a connection's secrets never reach the log in the clear.
	return r.seal(domain.Action{
		ID: r.deps.NewID(), CommunityID: in.CommunityID, Kind: info.Kind, Type: in.ActionType, Platform: platform,
		InitiatorID: initiatorID, Fields: f, ProposedAt: r.deps.Now(),
	})
}

// constitutionAction builds the constitution action proposeConstitutionAction proposes as
// the user initiatorID, through the payload struct of its type (unknown keys are refused).
func (r *Resolver) constitutionAction(in model.ProposeConstitutionActionInput, initiatorID string) (domain.Action, error) {
	f, err := jsonObject("payloadJSON", in.PayloadJSON)
	if err != nil {
		return domain.Action{}, err
	}
	id := r.deps.NewID()
	payload, err := domain.DecodeConstitutionPayload(domain.Action{ID: id, Type: in.Type, Fields: f})
	if err != nil {
		return domain.Action{}, err
	}
	a, err := domain.NewConstitutionAction(id, in.CommunityID, initiatorID, payload, r.deps.Now())
	if err != nil {
		return domain.Action{}, err
	}
	return r.seal(a)
}

// seal seals the secrets of an action that connects a platform (Deps.Secrets), so that the
// member types them in the clear and the log only ever holds their ciphertext. Without a
// secret key, such secrets are INVALID: nothing is recorded.
func (r *Resolver) seal(a domain.Action) (domain.Action, error) {
	out, err := r.deps.Secrets.SealConnection(a)
	if errors.Is(err, sealed.ErrNoKey) {
		return domain.Action{}, domain.Invalid("this server has no secret key (POLICYKIT_SECRET_KEY), so it cannot keep the secrets of a connection: " +
			"connect the platform without secrets, or ask the operator to set a key")
	}
	if err != nil {
		return domain.Action{}, err
	}
	return out, nil
}

// recorder records the mutations' commands, as the engine's bus handlers and the CLI do.
func (r *Resolver) recorder() *engine.Recorder {
	var compiler engine.PolicyCompiler
	if r.deps.Loop != nil {
		compiler = engine.CompilerOf(r.deps.Loop.Evaluator())
	}
	return &engine.Recorder{Store: r.deps.Store, Compiler: compiler, Now: r.deps.Now}
}

// propose records an action, waits for the engine's decision on it and for the read models
// to include it, and returns the action with its governing proposal. A refusal to record
// (an invalid action, policy code that does not compile) is the recorder's error.
func (r *Resolver) propose(ctx context.Context, a domain.Action) (*model.ProposeActionPayload, error) {
	rec, err := r.recorder().ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta())
	if err != nil {
		return nil, err
	}
	if err := r.awaitDecision(ctx, rec, domain.ActionStream(a.ID), domain.CommunityStream(a.CommunityID)); err != nil {
		return nil, err
	}
	decided, err := engine.LoadAction(ctx, r.deps.Store, a.ID)
	if err != nil {
		return nil, err
	}
	if pid := decided.GoverningProposalID; pid != "" {
		if err := r.awaitReadModels(ctx, domain.ProposalStream(pid)); err != nil {
			return nil, err
		}
	}
	act, err := r.read.action(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	payload := &model.ProposeActionPayload{Action: act}
	if act.GoverningProposalID != "" {
		if payload.Proposal, err = r.proposalByID(ctx, act.GoverningProposalID); err != nil {
			return nil, err
		}
	}
	return payload, nil
}

// awaitDecision waits until the engine has decided on what rec recorded (see
// engine.Decided) and the read models include the decision's events on the given streams
// (those of the action, its proposal and its community). It gives up after
// Deps.ReadModelTimeout.
func (r *Resolver) awaitDecision(ctx context.Context, rec engine.Recorded, streams ...string) error {
	ctx, cancel := context.WithTimeout(ctx, r.deps.ReadModelTimeout)
	defer cancel()
	if rec.Changed {
		for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
			v, err := r.deps.Decided.DecidedThrough(ctx, rec.Stream)
			if err != nil {
				return err
			}
			if v >= rec.Version {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the engine did not decide on %s@%d in time (is it running?): %w", rec.Stream, rec.Version, ctx.Err())
			case <-time.After(wait):
			}
		}
	}
	return r.awaitReadModels(ctx, streams...)
}

// awaitReadModels waits for the read models to include the last event of the given streams.
func (r *Resolver) awaitReadModels(ctx context.Context, streams ...string) error {
	var target eventstore.Position
	for _, s := range streams {
		last, err := r.deps.Store.ReadStream(ctx, s, eventstore.Backward, 0, 1)
		if err != nil {
			return fmt.Errorf("read %s: %w", s, err)
		}
		if len(last) > 0 && target.Less(last[0].Position) {
			target = last[0].Position
		}
	}
	return r.awaitPosition(ctx, target)
}

// awaitPosition waits for the read models (kept up to date by the process's projection
// runner) to reach the event at target. It gives up after Deps.ReadModelTimeout.
func (r *Resolver) awaitPosition(ctx context.Context, target eventstore.Position) error {
	ctx, cancel := context.WithTimeout(ctx, r.deps.ReadModelTimeout)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		cp, err := r.deps.Projections.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("read models checkpoint: %w", err)
		}
		if !cp.Less(target) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read models at %s did not reach %s: %w", cp, target, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// castVote records the vote of the user userID (the recorder checks that the proposal is
// the community's, open, and that the user may vote on it), waits for the engine's check of
// the proposal and returns the proposal as the read models then show it.
func (r *Resolver) castVote(ctx context.Context, in model.CastVoteInput, userID string) (*model.CastVotePayload, error) {
	v, err := domain.ParseVote(userID, in.Value)
	if err != nil {
		return nil, err
	}
	rec, err := r.recorder().CastVote(ctx, bus.CastVote{CommunityID: in.CommunityID, ProposalID: in.ProposalID, Vote: v}, engine.NewMeta())
	if err != nil {
		return nil, err
	}
	if err := r.awaitDecision(ctx, rec, rec.Stream, domain.CommunityStream(in.CommunityID)); err != nil {
		return nil, err
	}
	if p, err := engine.LoadProposal(ctx, r.deps.Store, in.ProposalID); err == nil {
		if err := r.awaitReadModels(ctx, domain.ActionStream(p.ActionID)); err != nil {
			return nil, err
		}
	}
	p, err := r.proposalByID(ctx, in.ProposalID)
	if err != nil {
		return nil, err
	}
	return &model.CastVotePayload{Proposal: p}, nil
}

// proposalByID reads one proposal and primes the request's loaders with it.
func (r *Resolver) proposalByID(ctx context.Context, id string) (*model.Proposal, error) {
	p, err := r.read.proposal(ctx, id)
	if err != nil {
		return nil, err
	}
	r.loadersOf(ctx).primeProposals(*p)
	return p, nil
}

// trace is the decision trace engine.Explain writes, read from the event log.
func (r *Resolver) trace(ctx context.Context, proposalID string) (string, error) {
	var b bytes.Buffer
	if err := engine.Explain(ctx, r.deps.Store, proposalID, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}
