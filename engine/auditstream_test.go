package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

// noLogReads is a store whose global log cannot be read: what runs over it reads streams.
type noLogReads struct{ eventstore.Store }

var errLogRead = errors.New("the global log was read")

func (noLogReads) ReadAll(context.Context, eventstore.Position, int) ([]eventstore.RecordedEvent, error) {
	return nil, errLogRead
}

// streamsOnly is a store whose global log holds only some streams' events: Verify over it
// re-runs the decisions on those streams, as Proposal.verification once did.
type streamsOnly struct {
	eventstore.Store
	streams []string
}

func (s streamsOnly) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for ev, err := range eventstore.All(ctx, s.Store, after) {
		if err != nil {
			return nil, err
		}
		if slices.Contains(s.streams, ev.Stream) {
			out = append(out, ev)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// mustVotingLog records n governed renames in c1 whose votes interleave (each vote of a
// round goes to every proposal in turn) and one forged decision, and returns the proposals'
// ids and the forged one's.
func mustVotingLog(t *testing.T, store eventstore.Store, n int) (*engine.Engine, []string, string) {
	t.Helper()
	ctx := context.Background()
	e := mustEngine(t, store)
	mustSlackCommunity(t, store, 4, "if proposal.get_yes_votes().count() >= 3:\n  return PASSED\nif proposal.get_no_votes().count() >= 3:\n  return FAILED")
	var ps []string
	for i := range n {
		id := fmt.Sprintf("a%d", i)
		if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename(id)}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.HandleActionProposed(ctx, "c1", id, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, evaluation.DeriveID("proposal", id, "p-vote"))
	}
	for _, user := range []string{"u2", "u3", "u4"} {
		for i, p := range ps {
			v := domain.Vote{UserID: user, Kind: domain.VoteBoolean, Boolean: i%2 == 0}
			if _, err := e.CastVote(ctx, bus.CastVote{CommunityID: "c1", ProposalID: p, Vote: v}, engine.NewMeta()); err != nil {
				t.Fatal(err)
			}
		}
	}
	forged := rename("forged")
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: forged}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleActionProposed(ctx, "c1", forged.ID, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	fp, err := engine.LoadProposal(ctx, store, evaluation.DeriveID("proposal", forged.ID, "p-vote"))
	if err != nil {
		t.Fatal(err)
	}
	passed, _ := fp.DecidePassProposal(domain.PassProposal{Reason: "trust me"}, t0)
	if err := engine.Append(ctx, store, domain.ProposalStream(fp.ID), fp.Version, passed, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	return e, ps, fp.ID
}

// summary is a report as the CLI prints it: counts and each mismatch's cause and kind.
func summary(rep engine.AuditReport) string {
	s := fmt.Sprintf("%d events, %d decisions", rep.Events, rep.Decisions)
	for _, m := range rep.Mismatches {
		s += fmt.Sprintf("; %s %s %s", m.Decision.Kind, m.Decision.Cause, m.Reason)
	}
	return s
}

// Verify keeps a bounded number of streams: a decision on a stream it dropped reads the
// stream again up to the decision, and the report is the same as when it keeps them all.
func TestVerifyKeepingFewStreamsReportsTheSame(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e, _, _ := mustVotingLog(t, store, 6)
	all, err := engine.Verify(ctx, store, e.Loop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Mismatches) != 1 || all.Decisions < 6+3*6 {
		t.Fatalf("verify: %s; want the forged decision only, of %d decisions at least", summary(all), 6+3*6)
	}
	for _, keep := range []int{1, 2, 5} {
		few, err := engine.VerifyKeeping(ctx, store, e.Loop(), keep)
		if err != nil {
			t.Fatal(err)
		}
		if summary(few) != summary(all) {
			t.Errorf("keeping %d streams: %s\nkeeping all: %s", keep, summary(few), summary(all))
		}
	}
}

// VerifyStreams re-runs a proposal's decisions from its streams alone, and finds what
// Verify over a log of those streams finds.
func TestVerifyStreamsReadsOnlyItsStreams(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e, ps, forged := mustVotingLog(t, store, 4)
	for _, p := range append(ps, forged) {
		prop, err := engine.LoadProposal(ctx, store, p)
		if err != nil {
			t.Fatal(err)
		}
		streams := []string{domain.CommunityStream("c1"), domain.ActionStream(prop.ActionID), domain.ProposalStream(p)}
		got, err := engine.VerifyStreams(ctx, noLogReads{store}, e.Loop(), streams...)
		if err != nil {
			t.Fatal(err)
		}
		want, err := engine.Verify(ctx, streamsOnly{Store: store, streams: streams}, e.Loop(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if summary(got) != summary(want) {
			t.Errorf("proposal %s: %s\nover a log of its streams: %s", p, summary(got), summary(want))
		}
		if wantMismatch := p == forged; (len(got.Mismatches) == 1) != wantMismatch || got.Decisions < 2 {
			t.Errorf("proposal %s: %s", p, summary(got))
		}
	}
}

// MergeStreams yields the streams' events in log order.
func TestMergeStreamsFollowsTheLog(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	_, ps, _ := mustVotingLog(t, store, 3)
	streams := []string{domain.ProposalStream(ps[0]), domain.CommunityStream("c1"), domain.ProposalStream(ps[2])}
	var want, got []string
	for ev, err := range eventstore.All(ctx, store, eventstore.Start) {
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(streams, ev.Stream) {
			want = append(want, ev.Position.String())
		}
	}
	for ev, err := range engine.MergeStreams(ctx, noLogReads{store}, streams...) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Position.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("merged: %v\nlog:    %v", got, want)
	}
}

// audit explain reads the proposal's stream, never the global log.
func TestExplainReadsOnlyTheProposalStream(t *testing.T) {
	store := memory.New()
	_, ps, _ := mustVotingLog(t, store, 2)
	var out bytes.Buffer
	if err := engine.Explain(context.Background(), noLogReads{store}, ps[0], &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("proposal "+ps[0])) {
		t.Errorf("explain:\n%s", out.String())
	}
}
