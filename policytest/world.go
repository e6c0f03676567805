package policytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
)

// world is one case in progress: an in-memory event store that holds every event, the
// server's engine deciding over it on the virtual clock, and the aggregates folded from it.
//
// Every step records its command with the engine's recorder and has the engine decide it,
// in the order the server's engine service does (record a vote, then check the proposal);
// the aggregates are then folded again from the store, so that what is checked is what the
// log says. The harness writes to the store itself only to set the community up and for
// news from a platform that is no command (a vote closed on the platform).
type world struct {
	f        *File
	opts     Options
	ctx      context.Context
	loop     *evaluation.Loop
	eng      *engine.Engine   // decides every step, as the server's engine does (nil: set-up only)
	recorder *engine.Recorder // records the steps' commands, as every entry point does
	steps    int              // commands given, for their ids
	pos      eventstore.Position
	store    *memory.Store
	start    time.Time
	now      time.Time
	interval time.Duration

	community   *domain.Community
	actions     map[string]*domain.ActionRecord
	actionOrder []string
	proposals   map[string]*domain.Proposal
	due         map[string]time.Time // proposal id -> next re-check

	log      []entry
	setupLen int // entries written by the set-up
	cursor   int // log length at the previous expect
	checks   int // re-checks run while advancing
	printed  int // log entries printed by flush
	verbose  io.Writer
}

// entry is one appended event.
type entry struct {
	stream  string
	version int64
	event   domain.Event
}

// setupError is a problem setting the community up, at a line of the scenario.
type setupError struct {
	line int
	msg  string
}

func (e *setupError) Error() string { return e.msg }

// newWorld sets up the community of f for case c (nil: only to validate the set-up, which
// evaluates nothing and needs no evaluator).
func newWorld(f *File, c *Case, opts Options, verbose io.Writer) (*world, error) {
	ev := opts.Evaluator
	if ev == nil && c != nil {
		return nil, ErrNoEvaluator
	}
	interval := f.RecheckInterval
	if c != nil && c.RecheckInterval > 0 {
		interval = c.RecheckInterval
	}
	w := &world{
		f: f, opts: opts, ctx: context.Background(), loop: evaluation.New(ev, interval),
		store: memory.New(), start: f.Start, now: f.Start, interval: interval,
		community: &domain.Community{}, actions: map[string]*domain.ActionRecord{},
		proposals: map[string]*domain.Proposal{}, due: map[string]time.Time{}, verbose: verbose,
	}
	if ev != nil {
		w.eng = engine.New(w.store, w.loop, nil, func() time.Time { return w.now })
		w.recorder = w.eng.Recorder()
		if w.recorder.Compiler == nil { // an evaluator of the test's own: no code to check
			w.recorder.Compiler = noCompiler{}
		}
	}
	if err := w.setup(); err != nil {
		return nil, err
	}
	w.setupLen = len(w.log)
	w.cursor = w.setupLen
	w.flush()
	return w, nil
}

// setup builds the community: platforms, users, roles, the starter kit, user roles, then the
// scenario's policies (a second later, so that among equal priorities they are tried before
// the kit's).
func (w *world) setup() error {
	f := w.f
	cs := f.Community
	c := w.community
	at := f.Start.Add(-time.Second)
	fail := func(line int, format string, args ...any) error {
		return &setupError{line: line, msg: fmt.Sprintf(format, args...)}
	}
	if err := w.decideCommunity(func() ([]domain.Event, error) {
		return c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: cs.ID, Name: cs.Name, Platform: cs.Platforms[0]}, at)
	}); err != nil {
		return fail(0, "community: %v", err)
	}
	for _, pl := range cs.Platforms[1:] {
		if err := w.decideCommunity(func() ([]domain.Event, error) {
			return c.DecideConnectPlatform(domain.ConnectPlatform{Platform: pl, Name: pl}, at)
		}); err != nil {
			return fail(0, "community.platforms: %s: %v", pl, err)
		}
	}
	for _, u := range cs.Users {
		if err := w.decideCommunity(func() ([]domain.Event, error) {
			return c.DecideRegisterUser(domain.RegisterUser{UserID: u.ID, Platform: u.Platform, Username: u.Username, ReadableName: u.Name, IsAdmin: u.Admin}, at)
		}); err != nil {
			return fail(u.Line, "user %s: %v", u.ID, err)
		}
	}
	for _, r := range cs.Roles {
		if err := w.decideCommunity(func() ([]domain.Event, error) {
			return c.DecideAddRole(domain.AddRole{Name: r.Name, Description: r.Description, IsBase: r.Base, Permissions: r.Permissions}, at)
		}); err != nil {
			return fail(r.Line, "role %q: %v", r.Name, err)
		}
	}
	if k := cs.Kit; k != nil {
		var ids []string
		for _, s := range k.Kit.Specs(cs.Platforms[0]) {
			ids = append(ids, "kit-"+slug(string(s.Kind))+"-"+slug(s.Name))
		}
		if err := w.decideCommunity(func() ([]domain.Event, error) {
			return c.DecideApplyStarterKit(domain.ApplyStarterKit{Kit: k.Kit, Platform: cs.Platforms[0], CreatorID: k.Creator, PolicyIDs: ids}, at)
		}); err != nil {
			return fail(k.Line, "starter kit %s: %v", k.Path, err)
		}
	}
	for _, u := range cs.Users {
		for _, r := range u.Roles {
			if err := w.decideCommunity(func() ([]domain.Event, error) {
				return c.DecideAddUserRole(domain.AddUserRole{Role: r, UserIDs: []string{u.ID}}, at)
			}); err != nil {
				return fail(u.Line, "user %s: role %q: %v", u.ID, r, err)
			}
		}
	}
	for _, ps := range f.Policies {
		spec := ps.Spec
		if w.opts.SeedDir != "" && ps.SeedFile != "" {
			path := filepath.Join(w.opts.SeedDir, ps.SeedFile)
			data, err := os.ReadFile(path)
			if err != nil {
				return fail(ps.Line, "policy %s: seed file: %v", ps.ID, err)
			}
			if spec, err = domain.ParsePolicyFile(data); err != nil {
				return fail(ps.Line, "policy %s: seed file %s: %v", ps.ID, path, err)
			}
			spec.Priority = ps.Priority
		}
		if err := w.decideCommunity(func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicyOf(ps.ID, spec), f.Start)
		}); err != nil {
			return fail(ps.Line, "policy %s: %v", ps.ID, err)
		}
	}
	return nil
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (w *world) decideCommunity(decide func() ([]domain.Event, error)) error {
	evs, err := decide()
	if err != nil {
		return err
	}
	return w.commit(domain.CommunityStream(w.f.Community.ID), w.community.Version, evs, w.community.Apply)
}

// commit appends events to a stream expecting it at version expected, and applies each to
// its aggregate (apply may be nil when the loop already did).
func (w *world) commit(stream string, expected int64, evs []domain.Event, apply func(domain.Event)) error {
	if len(evs) == 0 {
		return nil
	}
	data := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		typ, ver, raw, err := domain.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		v := expected + int64(i) + 1
		data[i] = eventstore.EventData{
			ID:   uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("%s/%d", stream, v))),
			Type: typ, SchemaVersion: ver, Data: raw,
		}
	}
	if _, err := w.store.Append(w.ctx, stream, eventstore.Exact(expected), data); err != nil {
		return fmt.Errorf("harness: %w", err)
	}
	for _, e := range evs {
		if apply != nil {
			apply(e)
		}
	}
	return w.sync()
}

// sync adds the events appended to the store since the last sync to the case's log.
func (w *world) sync() error {
	for {
		recs, err := w.store.ReadAll(w.ctx, w.pos, 1000)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			e, err := domain.Unmarshal(r.Type, r.SchemaVersion, r.Data)
			if err != nil {
				return fmt.Errorf("decode %s v%d: %w", r.Stream, r.Version, err)
			}
			w.log = append(w.log, entry{stream: r.Stream, version: r.Version, event: e})
			w.pos = r.Position
		}
	}
}

// noCompiler passes all code: the harness's own evaluators (in tests) check none.
type noCompiler struct{}

func (noCompiler) Compile(context.Context, domain.PolicyCode) ([]*policy.EvalError, error) {
	return nil, nil
}

// meta is the metadata of the next command the case gives the engine.
func (w *world) meta() engine.Meta {
	w.steps++
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("policytest/%s/%d", w.f.Community.ID, w.steps)))
	return engine.Meta{CausationID: id, CorrelationID: id}
}

// flush prints the events appended since the last flush (verbose runs only), once the
// streams they belong to are known, so that proposals are named by action and policy.
func (w *world) flush() {
	if w.verbose == nil {
		w.printed = len(w.log)
		return
	}
	for ; w.printed < len(w.log); w.printed++ {
		fmt.Fprintf(w.verbose, "    %s\n", w.describeEntry(w.log[w.printed]))
	}
}

func (w *world) readStream(stream string) ([]domain.Event, error) {
	var out []domain.Event
	from := int64(1)
	for {
		recs, err := w.store.ReadStream(w.ctx, stream, eventstore.Forward, from, 1000)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			e, err := domain.Unmarshal(r.Type, r.SchemaVersion, r.Data)
			if err != nil {
				return nil, fmt.Errorf("decode %s v%d: %w", stream, r.Version, err)
			}
			out = append(out, e)
		}
		if len(recs) < 1000 {
			return out, nil
		}
		from += int64(len(recs))
	}
}

func (w *world) foldProposal(id string) (*domain.Proposal, error) {
	evs, err := w.readStream(domain.ProposalStream(id))
	if err != nil {
		return nil, err
	}
	return domain.NewProposalFromEvents(evs), nil
}

func (w *world) foldAll() (*domain.Community, map[string]*domain.ActionRecord, map[string]*domain.Proposal, error) {
	evs, err := w.readStream(domain.CommunityStream(w.community.ID))
	if err != nil {
		return nil, nil, nil, err
	}
	c := domain.NewCommunityFromEvents(evs)
	actions := map[string]*domain.ActionRecord{}
	proposals := map[string]*domain.Proposal{}
	ids := map[string]bool{}
	for id := range w.proposals {
		ids[id] = true
	}
	for _, id := range w.actionOrder {
		evs, err := w.readStream(domain.ActionStream(id))
		if err != nil {
			return nil, nil, nil, err
		}
		r := domain.NewActionRecordFromEvents(evs)
		actions[id] = r
		for _, pid := range r.ProposalIDs {
			ids[pid] = true
		}
	}
	for id := range ids {
		p, err := w.foldProposal(id)
		if err != nil {
			return nil, nil, nil, err
		}
		if p.Opened() {
			proposals[id] = p
		}
	}
	return c, actions, proposals, nil
}

// verifyState folds every aggregate from the store and compares it with the state the loop
// kept; then it continues from the folded state.
func (w *world) verifyState() error {
	c, actions, proposals, err := w.foldAll()
	if err != nil {
		return err
	}
	if d := jsonDiff(w.community, c); d != "" {
		return fmt.Errorf("harness: the community folded from the store differs from the loop's: %s", d)
	}
	for id, r := range w.actions {
		if d := jsonDiff(r, actions[id]); d != "" {
			return fmt.Errorf("harness: action %s folded from the store differs from the loop's: %s", id, d)
		}
	}
	for id, p := range w.proposals {
		if d := jsonDiff(p, proposals[id]); d != "" {
			return fmt.Errorf("harness: proposal %s folded from the store differs from the loop's: %s", w.proposalLabel(id), d)
		}
	}
	w.community, w.actions, w.proposals = c, actions, proposals
	return nil
}

// jsonDiff returns "" when a and b encode to the same JSON, else the first differing line.
func jsonDiff(a, b any) string {
	x, err1 := json.MarshalIndent(a, "", " ")
	y, err2 := json.MarshalIndent(b, "", " ")
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("cannot encode: %v %v", err1, err2)
	}
	if string(x) == string(y) {
		return ""
	}
	xl, yl := strings.Split(string(x), "\n"), strings.Split(string(y), "\n")
	for i := 0; i < len(xl) && i < len(yl); i++ {
		if xl[i] != yl[i] {
			return fmt.Sprintf("line %d: loop has %s, store has %s", i+1, strings.TrimSpace(xl[i]), strings.TrimSpace(yl[i]))
		}
	}
	return fmt.Sprintf("loop state has %d lines, store state %d", len(xl), len(yl))
}

// actionOf builds the action of a step, its kind and platform taken from its type.
func (w *world) actionOf(a *ActionStep) (domain.Action, error) {
	return domain.Action{
		ID: a.ID, CommunityID: w.community.ID, Type: a.Type, Platform: a.Platform, InitiatorID: a.Initiator,
		Fields: a.Fields, Reversible: a.Reversible, ExternalID: a.ExternalID, ProposedAt: w.now,
	}.Normalized()
}

// run performs one step; a failed step returns its error, a failed expectation an
// *expectError.
func (w *world) run(st *Step) error {
	defer w.flush()
	switch st.Kind {
	case StepAction:
		return w.propose(st.Action)
	case StepVote:
		return w.vote(st.Vote)
	case StepAnswer, StepEffectResult:
		return w.result(st.Result)
	case StepCloseVote:
		return w.closeVote(*st.Close)
	case StepAdvance:
		return w.advance(st.Advance)
	case StepExpect:
		return w.expect(st.Expect)
	}
	return fmt.Errorf("unknown step %q", st.Kind)
}

// engineStep gives the engine one command (decide records and decides it through the
// engine, as the server does) and applies what it appended to the aggregates; a proposal the
// engine opened, and target, come due an interval later.
func (w *world) engineStep(target string, decide func() error) error {
	from := len(w.log)
	err := decide()
	if serr := w.sync(); serr != nil {
		return errors.Join(err, serr)
	}
	for _, en := range w.log[from:] {
		id := domain.StreamID(en.stream)
		switch domain.StreamCategory(en.stream) {
		case domain.CategoryCommunity:
			w.community.Apply(en.event)
		case domain.CategoryAction:
			r := w.actions[id]
			if r == nil {
				r = &domain.ActionRecord{}
				w.actions[id] = r
				w.actionOrder = append(w.actionOrder, id)
			}
			r.Apply(en.event)
		case domain.CategoryProposal:
			p := w.proposals[id]
			if p == nil {
				p = &domain.Proposal{}
				w.proposals[id] = p
				w.due[id] = w.now.Add(w.interval)
			}
			p.Apply(en.event)
		}
	}
	if err != nil {
		return err
	}
	if target != "" {
		w.due[target] = w.now.Add(w.interval)
	}
	return nil
}

func (w *world) propose(s *ActionStep) error {
	a, err := w.actionOf(s)
	if err != nil {
		return err
	}
	return w.engineStep("", func() error {
		if _, err := w.recorder.ProposeAction(w.ctx, bus.ProposeAction{Action: a}, w.meta()); err != nil {
			return err
		}
		_, err := w.eng.HandleActionProposed(w.ctx, a.CommunityID, a.ID, w.meta())
		return err
	})
}

// pick finds the proposal a step or expectation refers to.
func (w *world) pick(r Ref) (*domain.ActionRecord, *domain.Proposal, error) {
	rec, err := w.pickAction(r)
	if err != nil {
		return nil, nil, err
	}
	props := w.proposalsOf(rec.Action.ID)
	if r.Policy != "" {
		for _, p := range props {
			if p.PolicyID == r.Policy {
				return rec, p, nil
			}
		}
		return rec, nil, fmt.Errorf("action %s has no proposal of policy %s (proposals: %s)", rec.Action.ID, r.Policy, policiesOf(props))
	}
	if g := rec.GoverningProposalID; g != "" {
		if p, ok := w.proposals[g]; ok {
			return rec, p, nil
		}
	}
	switch len(props) {
	case 0:
		return rec, nil, fmt.Errorf("action %s has no proposal (status %s: %s)", rec.Action.ID, rec.Status, rec.Reason)
	case 1:
		return rec, props[0], nil
	}
	return rec, nil, fmt.Errorf("action %s has proposals of several policies (%s): name one with `policy`", rec.Action.ID, policiesOf(props))
}

func (w *world) pickAction(r Ref) (*domain.ActionRecord, error) {
	id := r.Action
	if id == "" {
		if len(w.actionOrder) == 0 {
			return nil, errors.New("no action has been proposed yet")
		}
		id = w.actionOrder[len(w.actionOrder)-1]
	}
	rec, ok := w.actions[id]
	if !ok {
		return nil, fmt.Errorf("action %s has not been proposed", id)
	}
	return rec, nil
}

// proposalsOf lists the proposals of an action, by policy id.
func (w *world) proposalsOf(actionID string) []*domain.Proposal {
	var out []*domain.Proposal
	for _, p := range w.proposals {
		if p.ActionID == actionID {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PolicyID < out[j].PolicyID })
	return out
}

func policiesOf(ps []*domain.Proposal) string {
	if len(ps) == 0 {
		return "none"
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.PolicyID)
	}
	return strings.Join(ids, ", ")
}

func (w *world) vote(s *VoteStep) error {
	_, p, err := w.pick(s.Ref)
	if err != nil {
		return err
	}
	v := domain.Vote{UserID: s.User, Kind: s.Kind, Boolean: s.Boolean, Choice: s.Choice, Number: s.Number}
	return w.engineStep(p.ID, func() error {
		rec, err := w.recorder.CastVote(w.ctx, bus.CastVote{CommunityID: w.community.ID, ProposalID: p.ID, Vote: v}, w.meta())
		if err != nil || !rec.Changed {
			return err
		}
		return w.recheck(p.ID)
	})
}

// result reports a platform's result for the one pending effect that matches the step.
func (w *world) result(s *ResultStep) error {
	rec, err := w.pickAction(s.Ref)
	if err != nil {
		return err
	}
	type cand struct {
		p   *domain.Proposal // nil: an effect of the action itself
		eff domain.Effect
	}
	var cands, pending []cand
	consider := func(p *domain.Proposal, effs map[string]domain.Effect) {
		for _, e := range effs {
			if e.Done() {
				continue
			}
			pending = append(pending, cand{p, e})
			if e.Method != s.Method || (s.Platform != "" && e.Platform != s.Platform) ||
				(s.Purpose != "" && e.Purpose != s.Purpose) || !subset(s.Args, e.Args) {
				continue
			}
			cands = append(cands, cand{p, e})
		}
	}
	if s.Policy == "" {
		consider(nil, rec.Effects)
		for _, p := range w.proposalsOf(rec.Action.ID) {
			consider(p, p.Effects)
		}
	} else {
		_, p, err := w.pick(s.Ref)
		if err != nil {
			return err
		}
		consider(p, p.Effects)
	}
	describe := func(cs []cand) string {
		if len(cs) == 0 {
			return "none"
		}
		var out []string
		for _, c := range cs {
			out = append(out, formatEffect(c.eff.Platform, c.eff.Method, c.eff.Purpose, c.eff.Args))
		}
		sort.Strings(out)
		return strings.Join(out, "; ")
	}
	switch len(cands) {
	case 0:
		return fmt.Errorf("no pending effect of action %s matches %s (pending: %s)", rec.Action.ID, s.Method, describe(pending))
	case 1:
	default:
		return fmt.Errorf("%d pending effects of action %s match %s: add `policy` or `args` to pick one (%s)", len(cands), rec.Action.ID, s.Method, describe(cands))
	}
	c := cands[0]
	cmd := bus.RecordEffectResult{CommunityID: w.community.ID, ActionID: rec.Action.ID, EffectID: c.eff.ID, Result: s.Result, Error: s.Error}
	if c.p == nil {
		return w.engineStep("", func() error {
			_, err := w.eng.RecordEffectResult(w.ctx, cmd, w.meta())
			return err
		})
	}
	cmd.ProposalID = c.p.ID
	return w.engineStep(c.p.ID, func() error {
		wake, err := w.eng.RecordEffect(w.ctx, cmd, w.meta())
		if err != nil || !wake {
			return err
		}
		return w.recheck(c.p.ID)
	})
}

// closeVote records that the platform closed the proposal's vote (a Loomio poll reached its
// closing time, say), and re-checks the proposal, as the engine does for any news about it.
func (w *world) closeVote(r Ref) error {
	_, p, err := w.pick(r)
	if err != nil {
		return err
	}
	evs, err := p.DecideCloseVote(domain.CloseVote{}, w.now)
	if err != nil {
		return err
	}
	if err := w.commit(domain.ProposalStream(p.ID), p.Version, evs, p.Apply); err != nil {
		return err
	}
	return w.engineStep(p.ID, func() error { return w.recheck(p.ID) })
}

// advance moves the clock by d, re-checking every open proposal each time it comes due on
// the way (every recheck interval after its last check), in due order.
func (w *world) advance(d time.Duration) error {
	target := w.now.Add(d)
	for {
		id, at, ok := w.nextDue(target)
		if !ok {
			break
		}
		w.now = at
		w.checks++
		if err := w.engineStep(id, func() error { return w.recheck(id) }); err != nil {
			return fmt.Errorf("re-check of %s at %s: %w", w.proposalLabel(id), w.elapsed(w.now), err)
		}
	}
	w.now = target
	return nil
}

// recheck has the engine check a proposal again, as a vote, an answer or the schedule has
// the server's engine do.
func (w *world) recheck(id string) error {
	_, err := w.eng.Recheck(w.ctx, bus.RecheckProposal{CommunityID: w.community.ID, ProposalID: id}, w.meta())
	return err
}

// nextDue returns the open proposal due first, no later than limit.
func (w *world) nextDue(limit time.Time) (string, time.Time, bool) {
	var (
		best   string
		bestAt time.Time
	)
	for id, at := range w.due {
		p, ok := w.proposals[id]
		if !ok || p.Status != domain.StatusProposed {
			delete(w.due, id)
			continue
		}
		if at.After(limit) {
			continue
		}
		if best == "" || at.Before(bestAt) || (at.Equal(bestAt) && id < best) {
			best, bestAt = id, at
		}
	}
	return best, bestAt, best != ""
}

func (w *world) elapsed(t time.Time) string {
	d := t.Sub(w.start)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return sign + formatDuration(d)
}

// formatDuration prints days as "d": 4d0h0m30s reads better than 96h0m30s.
func formatDuration(d time.Duration) string {
	if d < 24*time.Hour {
		return d.String()
	}
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	if rest == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%s", days, rest)
}
