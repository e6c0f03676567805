package projections

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// newTestDB returns a fresh database with the event store and read-model schemas, and the
// Postgres event store on it.
func newTestDB(tb testing.TB) (*pgxpool.Pool, *postgres.Store) {
	tb.Helper()
	pool, _ := pgtest.NewPool(tb)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate event store: %v", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate read models: %v", err)
	}
	return pool, postgres.New(pool, postgres.WithPollInterval(50*time.Millisecond))
}

// waitReadable waits until the Postgres store's ReadAll returns every event of the log: until
// no transaction that could commit before them is still open on the server (other tests'
// included). Tests that need a CatchUp to see the whole log at once call it first.
func waitReadable(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var held bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM events
			WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))`).Scan(&held); err != nil {
			tb.Fatal(err)
		}
		if !held {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("events stay held back by an open transaction")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logBuilder writes a governance log the way the application does: it loads nothing, but
// keeps every aggregate in memory, decides with the domain's decide functions at its own
// clock, appends the events with the aggregate's version as expected version, and applies
// them.
//
// By default every decision is appended at once. With buffered set, decisions are kept per
// stream until flush, which appends each stream's events in one call (for big logs).
type logBuilder struct {
	tb    testing.TB
	ctx   context.Context
	store eventstore.Store
	now   time.Time

	communities map[string]*domain.Community
	proposals   map[string]*domain.Proposal
	actions     map[string]*domain.ActionRecord

	// counts is the number of events appended (or buffered) per type; total is their sum.
	counts map[string]int
	total  int
	// afterAppend, when set, runs after each append of an unbuffered builder.
	afterAppend func()

	buffered bool
	pending  map[string]*pendingStream
	order    []string // streams of pending, in first-buffered order
}

type pendingStream struct {
	expected int64
	events   []eventstore.EventData
}

func newLogBuilder(tb testing.TB, store eventstore.Store) *logBuilder {
	return &logBuilder{
		tb: tb, ctx: context.Background(), store: store,
		now:         time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC),
		communities: map[string]*domain.Community{},
		proposals:   map[string]*domain.Proposal{},
		actions:     map[string]*domain.ActionRecord{},
		counts:      map[string]int{},
		pending:     map[string]*pendingStream{},
	}
}

// community decides cmd on community id with decide (a method expression such as
// (*domain.Community).DecideAddRole), appends and applies the events, and returns them.
func community[C any](b *logBuilder, id string, decide func(*domain.Community, C, time.Time) ([]domain.Event, error), cmd C) []domain.Event {
	b.tb.Helper()
	c := b.communities[id]
	if c == nil {
		c = &domain.Community{}
		b.communities[id] = c
	}
	evs := b.decided(decide(c, cmd, b.tick()))
	b.append(domain.CommunityStream(id), c.Version, evs)
	for _, e := range evs {
		c.Apply(e)
	}
	return evs
}

// proposal is community for the proposal aggregate.
func proposal[C any](b *logBuilder, id string, decide func(*domain.Proposal, C, time.Time) ([]domain.Event, error), cmd C) []domain.Event {
	b.tb.Helper()
	p := b.proposals[id]
	if p == nil {
		p = &domain.Proposal{}
		b.proposals[id] = p
	}
	evs := b.decided(decide(p, cmd, b.tick()))
	b.append(domain.ProposalStream(id), p.Version, evs)
	for _, e := range evs {
		p.Apply(e)
	}
	return evs
}

// action is community for the action aggregate.
func action[C any](b *logBuilder, id string, decide func(*domain.ActionRecord, C, time.Time) ([]domain.Event, error), cmd C) []domain.Event {
	b.tb.Helper()
	r := b.actions[id]
	if r == nil {
		r = &domain.ActionRecord{}
		b.actions[id] = r
	}
	evs := b.decided(decide(r, cmd, b.tick()))
	b.append(domain.ActionStream(id), r.Version, evs)
	for _, e := range evs {
		r.Apply(e)
	}
	return evs
}

// actionEvents appends events built by hand (for which the domain has no decide function
// yet) to an action stream, and applies them.
func actionEvents(b *logBuilder, id string, evs ...domain.Event) {
	b.tb.Helper()
	r := b.actions[id]
	b.append(domain.ActionStream(id), r.Version, evs)
	for _, e := range evs {
		r.Apply(e)
	}
}

// proposalEvents is actionEvents for a proposal stream.
func proposalEvents(b *logBuilder, id string, evs ...domain.Event) {
	b.tb.Helper()
	p := b.proposals[id]
	b.append(domain.ProposalStream(id), p.Version, evs)
	for _, e := range evs {
		p.Apply(e)
	}
}

// tick advances the builder's clock by a second and returns it.
func (b *logBuilder) tick() time.Time {
	b.now = b.now.Add(time.Second)
	return b.now
}

func (b *logBuilder) decided(evs []domain.Event, err error) []domain.Event {
	b.tb.Helper()
	if err != nil {
		b.tb.Fatalf("decide: %v", err)
	}
	if len(evs) == 0 {
		b.tb.Fatalf("decide: no events (the scenario expects a change)")
	}
	return evs
}

// append appends evs to stream, which stands at version.
func (b *logBuilder) append(stream string, version int64, evs []domain.Event) {
	b.tb.Helper()
	data := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		typ, v, raw, err := domain.Marshal(e)
		if err != nil {
			b.tb.Fatalf("marshal %s: %v", e.EventType(), err)
		}
		data[i] = eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: v, Data: raw}
		b.counts[typ]++
		b.total++
	}
	b.appendData(stream, version, data)
}

// appendData appends raw events (also of types the domain does not know).
func (b *logBuilder) appendData(stream string, version int64, data []eventstore.EventData) {
	b.tb.Helper()
	if b.buffered {
		p := b.pending[stream]
		if p == nil {
			p = &pendingStream{expected: version}
			b.pending[stream] = p
			b.order = append(b.order, stream)
		}
		p.events = append(p.events, data...)
		return
	}
	if _, err := b.store.Append(b.ctx, stream, eventstore.Exact(version), data); err != nil {
		b.tb.Fatalf("append to %s: %v", stream, err)
	}
	if b.afterAppend != nil {
		b.afterAppend()
	}
}

// unknown appends an event of a type this build does not know.
func (b *logBuilder) unknown(stream string, version int64) {
	b.tb.Helper()
	b.appendData(stream, version, []eventstore.EventData{{
		ID: uuid.New(), Type: "community.something_new", SchemaVersion: 1,
		Data: []byte(`{"community_id":"c1","proposal_id":"x","at":"2024-03-01T09:00:00Z"}`),
	}})
	b.total++
}

// flush appends every buffered stream, in rounds: each round appends the next chunk events
// of every stream, with up to workers appends at once, so that the streams interleave in the
// log as when many proposals are in progress together.
func (b *logBuilder) flush(workers, chunk int) {
	b.tb.Helper()
	streams := b.order
	b.order = nil
	for len(streams) > 0 {
		work := make(chan string)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range work {
					p := b.pending[s]
					n := min(chunk, len(p.events))
					if _, err := b.store.Append(b.ctx, s, eventstore.Exact(p.expected), p.events[:n]); err != nil {
						errs <- fmt.Errorf("append to %s: %w", s, err)
						continue
					}
					p.expected += int64(n)
					p.events = p.events[n:]
				}
			}()
		}
		for _, s := range streams {
			work <- s
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.tb.Fatal(err)
		}
		left := streams[:0]
		for _, s := range streams {
			if len(b.pending[s].events) > 0 {
				left = append(left, s)
			} else {
				delete(b.pending, s)
			}
		}
		streams = left
	}
}

// --- scenario pieces ---------------------------------------------------------------------

func mustPermissions(tb testing.TB, texts ...string) []domain.Permission {
	tb.Helper()
	out := make([]domain.Permission, len(texts))
	for i, s := range texts {
		p, err := domain.ParsePermission(s)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// setupCommunity creates a community on Slack with a base role, a moderator role, users
// u1..uN of that community ("<community>-u<i>") and a platform policy for Slack messages with
// a variable, and returns the user ids and the policy id.
func (b *logBuilder) setupCommunity(id string, users int) (userIDs []string, policyID string) {
	community(b, id, (*domain.Community).DecideCreateCommunity, domain.CreateCommunity{
		CommunityID: id, Name: "Community " + id, Platform: domain.PlatformSlack, ExternalID: "T-" + id, PlatformName: id + " workspace",
	})
	community(b, id, (*domain.Community).DecideAddRole, domain.AddRole{
		Name: "member", Description: "everyone", IsBase: true,
		Permissions: mustPermissions(b.tb, "propose:platform:*", "view:*", "vote:*"),
	})
	community(b, id, (*domain.Community).DecideAddRole, domain.AddRole{
		Name: "moderator", Description: "keeps order",
		Permissions: mustPermissions(b.tb, "execute:platform:*", "propose:constitution:*"),
	})
	for i := 1; i <= users; i++ {
		uid := fmt.Sprintf("%s-u%d", id, i)
		community(b, id, (*domain.Community).DecideRegisterUser, domain.RegisterUser{
			UserID: uid, Platform: domain.PlatformSlack, Username: "U" + uid, ReadableName: "User " + uid, IsAdmin: i == 1,
		})
		userIDs = append(userIDs, uid)
	}
	policyID = id + "-vote"
	community(b, id, (*domain.Community).DecideAddPolicy, domain.AddPolicy{
		PolicyID: policyID, Kind: domain.KindPlatform, Name: "Majority vote on messages", Description: "yes > no",
		ActionTypes: []string{domain.ActionSlackPostMessage},
		PolicyCode: domain.PolicyCode{
			Initialize: `proposal.data.set("started", True)`,
			Check:      `return PASSED if proposal.get_yes_votes().count() >= variables["quorum"] else PROPOSED`,
			Notify:     `slack.initiate_vote(text="Vote!")`,
		},
		Variables: []domain.Variable{{Name: "quorum", Type: domain.VariableNumber, DefaultValue: "2"}},
	})
	return userIDs, policyID
}

// vote is one VoteCast of a lifecycle: a boolean vote, or a choice or number vote.
type vote struct {
	user   string
	yes    bool
	choice string
	number int
}

func (v vote) domain() domain.Vote {
	switch {
	case v.choice != "":
		return domain.Vote{UserID: v.user, Username: "U" + v.user, Kind: domain.VoteChoice, Choice: v.choice}
	case v.number != 0:
		return domain.Vote{UserID: v.user, Username: "U" + v.user, Kind: domain.VoteNumber, Number: v.number}
	}
	return domain.Vote{UserID: v.user, Username: "U" + v.user, Kind: domain.VoteBoolean, Boolean: v.yes}
}

// lifecycle describes one governed platform action from proposal to outcome.
type lifecycle struct {
	community, actionID, proposalID, policyID, initiator string
	reversible                                           bool
	votes                                                []vote
	pass                                                 bool
	// effectFails makes the execute (or revert) effect fail.
	effectFails bool
}

// governedAction writes the log of one platform action governed by a vote, as the engine
// would: proposed, governed, proposal opened with variables, filter / initialize / notify /
// check evaluations, a vote post through an effect, votes each followed by a check, data
// changes, a re-check, the outcome, the success or fail block, and the execute or revert
// effect with the action's final status.
func (b *logBuilder) governedAction(l lifecycle) {
	c := b.communities[l.community]
	action(b, l.actionID, (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: domain.Action{
		ID: l.actionID, CommunityID: l.community, Type: domain.ActionSlackPostMessage, InitiatorID: l.initiator,
		Fields: map[string]any{"text": "hello from " + l.actionID, "channel": "C-general"}, Reversible: l.reversible,
		ExternalID: "ev-" + l.actionID,
	}})
	pol := c.Policies[l.policyID]
	pid := l.proposalID
	proposal(b, pid, (*domain.Proposal).DecideOpenProposal, domain.OpenProposal{
		ProposalID: pid, Action: b.actions[l.actionID].Action, Policy: pol,
	})
	action(b, l.actionID, (*domain.ActionRecord).DecideRecordGovernance, domain.RecordGovernance{
		ProposalIDs: []string{pid}, GoverningProposalID: pid,
	})
	eval := func(block, result string, logs ...domain.LogLine) {
		proposal(b, pid, (*domain.Proposal).DecideRecordEvaluation, domain.RecordEvaluation{Block: block, Result: result, Logs: logs})
	}
	eval(domain.BlockFilter, "true")
	proposal(b, pid, (*domain.Proposal).DecideInitializeVariables, domain.InitializeVariables{Variables: pol.VariableValues()})
	eval(domain.BlockInitialize, "")
	proposal(b, pid, (*domain.Proposal).DecideChangeProposalData, domain.ChangeProposalData{Ops: []domain.DataOp{
		{Op: domain.DataSet, Key: "started", Value: true}, {Op: domain.DataSet, Key: "round", Value: 1},
	}})
	eval(domain.BlockNotify, "", domain.LogLine{Level: "info", Message: "vote started for " + l.actionID})
	voteEffect := pid + "-vote"
	proposal(b, pid, (*domain.Proposal).DecideRequestEffect, domain.RequestEffect{
		EffectID: voteEffect, Platform: domain.PlatformSlack, Method: "initiate_vote",
		Args: map[string]any{"text": "Vote on " + l.actionID, "channel": "C-general"},
	})
	proposal(b, pid, (*domain.Proposal).DecideMarkNotified, domain.MarkNotified{})
	proposal(b, pid, (*domain.Proposal).DecideRecordEffectResult, domain.RecordEffectResult{
		EffectID: voteEffect, Result: map[string]any{"ts": "1700000000." + pid},
	})
	proposal(b, pid, (*domain.Proposal).DecideRecordVotePost, domain.RecordVotePost{
		PostID: "1700000000." + pid, URL: "https://slack.example/" + pid,
	})
	eval(domain.BlockCheck, domain.StatusProposed)
	for _, v := range l.votes {
		if v.choice == "" && v.number == 0 {
			proposal(b, pid, (*domain.Proposal).DecideCastVote, domain.CastVote{Vote: v.domain()})
		} else {
			// A yes / no vote takes no choice or number today; logs written before votes were
			// checked against the vote may hold them, and the projections show every kind.
			at := b.tick()
			cast := v.domain()
			cast.At = at
			proposalEvents(b, pid, domain.VoteCast{ProposalHeader: domain.ProposalHeader{CommunityID: l.community, ProposalID: pid, At: at}, Vote: cast})
		}
		eval(domain.BlockCheck, domain.StatusProposed, domain.LogLine{Level: "debug", Message: "counted " + v.user})
	}
	proposal(b, pid, (*domain.Proposal).DecideChangeProposalData, domain.ChangeProposalData{Ops: []domain.DataOp{
		{Op: domain.DataSet, Key: "round", Value: 2}, {Op: domain.DataRemove, Key: "started"},
		{Op: domain.DataSet, Key: "tally", Value: map[string]any{"votes": len(l.votes)}},
	}})
	proposal(b, pid, (*domain.Proposal).DecideScheduleRecheck, domain.ScheduleRecheck{DueAt: b.now.Add(time.Hour)})

	if l.pass {
		eval(domain.BlockCheck, domain.StatusPassed)
		proposal(b, pid, (*domain.Proposal).DecidePassProposal, domain.PassProposal{Reason: "majority"})
		eval(domain.BlockSuccess, "")
	} else {
		eval(domain.BlockCheck, domain.StatusFailed)
		proposal(b, pid, (*domain.Proposal).DecideFailProposal, domain.FailProposal{Reason: "no majority"})
		eval(domain.BlockFail, "")
	}
	switch {
	case l.pass && !l.reversible:
		// The action happens only now: execute it on the platform.
		b.effectOutcome(pid, pid+"-exec", domain.PurposeExecute, l.effectFails)
		if l.effectFails {
			action(b, l.actionID, (*domain.ActionRecord).DecideMarkActionExecutionFailed, domain.MarkActionExecutionFailed{
				ProposalID: pid, Reason: "slack refused the message",
			})
		} else {
			action(b, l.actionID, (*domain.ActionRecord).DecideMarkActionExecuted, domain.MarkActionExecuted{ProposalID: pid})
		}
	case l.pass:
		// It already happened: let it stand.
		action(b, l.actionID, (*domain.ActionRecord).DecideMarkActionExecuted, domain.MarkActionExecuted{ProposalID: pid, Reason: "passed"})
	default:
		action(b, l.actionID, (*domain.ActionRecord).DecideRejectAction, domain.RejectAction{ProposalID: pid, Reason: "proposal failed"})
		if l.reversible {
			b.effectOutcome(pid, pid+"-revert", domain.PurposeRevert, l.effectFails)
			if !l.effectFails {
				action(b, l.actionID, (*domain.ActionRecord).DecideMarkActionReverted, domain.MarkActionReverted{ProposalID: pid})
			}
		}
	}
}

// effectOutcome requests an effect and records that it completed or failed.
func (b *logBuilder) effectOutcome(pid, effectID, purpose string, fails bool) {
	proposal(b, pid, (*domain.Proposal).DecideRequestEffect, domain.RequestEffect{
		EffectID: effectID, Platform: domain.PlatformSlack, Method: "chat.postMessage", Purpose: purpose,
		Args: map[string]any{"channel": "C-general"},
	})
	res := domain.RecordEffectResult{EffectID: effectID, Result: map[string]any{"ok": true}}
	if fails {
		res = domain.RecordEffectResult{EffectID: effectID, Error: "channel_not_found"}
	}
	proposal(b, pid, (*domain.Proposal).DecideRecordEffectResult, res)
}
