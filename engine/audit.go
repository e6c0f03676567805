package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// Decision is one step of the evaluation loop as the log recorded it: the events one
// command or event caused, appended together.
type Decision struct {
	Cause  uuid.UUID
	At     time.Time
	Kind   string // "action", "vote", "effect", "process", "recheck"
	Events []eventstore.RecordedEvent
}

// Mismatch is a recorded decision that comes out differently when run again.
type Mismatch struct {
	Decision Decision
	Reason   string
	Want     []string // the recorded events, one line each
	Got      []string // the events the loop decides now
}

// AuditReport is the result of Verify.
type AuditReport struct {
	Events     int
	Decisions  int
	Mismatches []Mismatch
}

// Verify re-runs every decision recorded in the log with the same inputs: the community,
// action and proposal as they stood just before it, the same vote, effect result or answer,
// and the recorded clock. A decision that comes out differently is a mismatch. progress,
// when not nil, is called after each decision with the number done and the total.
//
// The log is streamed: each decision is re-run as soon as its events have been read, and
// only a bounded number of streams' events are kept (see streamCache), so memory does not
// grow with the log. The total given to progress comes from a first pass that only counts
// the decisions (made only when progress is not nil); it is raised to the number done when
// the log grew between the passes. Decisions appended while Verify runs are verified too,
// up to the end of the log when it gets there.
func Verify(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, progress func(done, total int)) (AuditReport, error) {
	total := 0
	if progress != nil {
		n, err := countDecisions(eventstore.All(ctx, store, eventstore.Start))
		if err != nil {
			return AuditReport{}, err
		}
		total = n
	}
	a := &auditor{loop: loop, states: newStreamCache(store, DefaultAuditStreams)}
	if progress != nil {
		a.progress = func(done int) { progress(done, max(total, done)) }
	}
	return a.run(ctx, eventstore.All(ctx, store, eventstore.Start))
}

// VerifyStreams re-runs the decisions recorded on some streams only, as Verify would over a
// log holding nothing but these streams' events: a proposal's decisions need the streams
// of the proposal, its action and its community. It reads those streams (ReadStream) and
// merges them in log order (MergeStreams), so its cost does not depend on the rest of the
// log. A decision that needs a stream not given sees that stream empty.
func VerifyStreams(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, streams ...string) (AuditReport, error) {
	// Every given stream is read from its first event and stays in the cache; with no
	// store to read from, any other stream is empty.
	a := &auditor{loop: loop, states: newStreamCache(nil, max(len(streams), 1))}
	return a.run(ctx, MergeStreams(ctx, store, streams...))
}

// DefaultAuditStreams is the number of streams whose events Verify keeps at once: a
// decision on a stream that was dropped reads it again from the store, up to the decision.
const DefaultAuditStreams = 1024

// auditor re-runs the decisions of an event sequence as it reads it: the events of one
// causation id form a group, which is re-run (when it is a decision of the loop) once the
// next group starts, against the states of the streams before it.
type auditor struct {
	loop     *evaluation.Loop
	states   *streamCache
	progress func(done int)
	rep      AuditReport
}

func (a *auditor) run(ctx context.Context, events iter.Seq2[eventstore.RecordedEvent, error]) (AuditReport, error) {
	var group []eventstore.RecordedEvent
	for ev, err := range events {
		if err != nil {
			return a.rep, err
		}
		a.rep.Events++
		if len(group) > 0 && !sameCause(group[0], ev) {
			if err := a.close(ctx, group); err != nil {
				return a.rep, err
			}
			group = nil // a mismatch keeps the group's events
		}
		group = append(group, ev)
	}
	if len(group) > 0 {
		if err := a.close(ctx, group); err != nil {
			return a.rep, err
		}
	}
	return a.rep, nil
}

// close re-runs a complete group when it is a decision, then folds its events into the
// streams' states.
func (a *auditor) close(ctx context.Context, group []eventstore.RecordedEvent) error {
	if d, ok := decisionOf(group); ok {
		if err := ctx.Err(); err != nil { // the caller left: the rest is not wanted
			return err
		}
		a.rep.Decisions++
		if m, err := verifyOne(ctx, a.loop, stateBefore{cache: a.states, d: d}, d); err != nil {
			return err
		} else if m != nil {
			a.rep.Mismatches = append(a.rep.Mismatches, *m)
		}
		if a.progress != nil {
			a.progress(a.rep.Decisions)
		}
	}
	for _, ev := range group {
		a.states.apply(ev)
	}
	return nil
}

// sameCause reports whether ev continues the group that starts with first: runs of events
// with one causation id (events with none are each a group of their own).
func sameCause(first, ev eventstore.RecordedEvent) bool {
	return ev.CausationID == first.CausationID && first.CausationID != uuid.Nil
}

// countDecisions counts the decisions of an event sequence without re-running them.
func countDecisions(events iter.Seq2[eventstore.RecordedEvent, error]) (int, error) {
	n := 0
	var group []eventstore.RecordedEvent
	for ev, err := range events {
		if err != nil {
			return 0, err
		}
		if len(group) > 0 && !sameCause(group[0], ev) {
			if decisionKind(group) != "" {
				n++
			}
			group = group[:0]
		}
		group = append(group, ev)
	}
	if len(group) > 0 && decisionKind(group) != "" {
		n++
	}
	return n, nil
}

// decisionOf tells whether a group of events with one cause is a decision of the loop, and
// which. Set-up commands (a community created, an action recorded) are not decisions of the
// loop.
func decisionOf(group []eventstore.RecordedEvent) (Decision, bool) {
	kind := decisionKind(group)
	if kind == "" {
		return Decision{}, false
	}
	e, _ := domain.Unmarshal(group[0].Type, group[0].SchemaVersion, group[0].Data)
	at := group[0].RecordedAt
	if e != nil {
		at = e.Meta().At
	}
	return Decision{Cause: group[0].CausationID, At: at, Kind: kind, Events: group}, true
}

func decisionKind(group []eventstore.RecordedEvent) string {
	loop := false
	for _, ev := range group {
		switch ev.Type {
		case domain.EventVoteCast:
			return "vote"
		case domain.EventEffectCompleted, domain.EventEffectFailed:
			return "effect"
		case domain.EventActionProposed:
			return "" // recording an action is a command, not a decision
		}
	}
	for _, ev := range group {
		if ev.Type == domain.EventGovernanceProcessUpdated {
			return "process" // recorded from the platform's update, as a vote is
		}
		if cat := domain.StreamCategory(ev.Stream); cat == domain.CategoryProposal || cat == domain.CategoryAction {
			loop = true
		}
	}
	if !loop {
		return ""
	}
	for _, ev := range group {
		if ev.Type == domain.EventActionGoverned || ev.Type == domain.EventProposalOpened || ev.Type == domain.EventActionFilterErrored {
			return "action"
		}
	}
	for _, ev := range group {
		if domain.StreamCategory(ev.Stream) == domain.CategoryProposal {
			return "recheck"
		}
	}
	return "action" // settled by the permission gate alone
}

func verifyOne(ctx context.Context, loop *evaluation.Loop, f stateBefore, d Decision) (*Mismatch, error) {
	var communityID, actionID, proposalID string
	var vote *domain.Vote
	var effect *domain.Event
	var process map[string]any
	for _, ev := range d.Events {
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return nil, fmt.Errorf("decision %s: %w", d.Cause, err)
		}
		m := e.Meta()
		if communityID == "" {
			communityID = m.CommunityID
		}
		switch domain.StreamCategory(ev.Stream) {
		case domain.CategoryAction:
			if actionID == "" {
				actionID = domain.StreamID(ev.Stream)
			}
		case domain.CategoryProposal:
			if proposalID == "" {
				proposalID = domain.StreamID(ev.Stream)
			}
		}
		switch e := e.(type) {
		case domain.VoteCast:
			if vote == nil {
				v := e.Vote
				vote = &v
			}
		case domain.EffectCompleted, domain.EffectFailed:
			if effect == nil {
				effect = &e
			}
		case domain.GovernanceProcessUpdated:
			if process == nil {
				process = e.Process
			}
		}
	}
	c, err := f.community(ctx, communityID)
	if err != nil {
		return nil, err
	}
	var p *domain.Proposal
	if proposalID != "" {
		if p, err = f.proposal(ctx, proposalID); err != nil {
			return nil, err
		}
		if p.Opened() && actionID == "" {
			actionID = p.ActionID
		}
	}
	var rec *domain.ActionRecord
	if actionID != "" {
		if rec, err = f.action(ctx, actionID); err != nil {
			return nil, err
		}
	}
	// Most entry points record a vote or an effect's result in a step of its own (the
	// recorder), and the engine checks the proposal in the next step, under a cause of its
	// own: each is its own group here. A group holding both is a vote recorded and checked
	// in one step (a lone vote on the in-process bus, and logs written before every entry
	// point recorded through the recorder), re-run as that one step.
	checked, legacy := false, false
	for _, ev := range d.Events {
		checked = checked || ev.Type == domain.EventProposalEvaluated
		if e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data); err == nil {
			if pe, ok := e.(domain.ProposalEvaluated); ok && pe.Block == domain.BlockCheck && pe.Result == domain.StatusProposed && pe.Recheck == "" {
				legacy = true
			}
		}
	}
	var out evaluation.Outcome
	switch {
	case d.Kind == "vote" && p != nil && p.Opened() && checked:
		out, err = loop.CastVote(ctx, c, rec, p, *vote, d.At)
	case d.Kind == "vote" && p != nil && p.Opened():
		out, err = loop.RecordVote(c, p, *vote, d.At)
	case d.Kind == "effect" && effect != nil:
		id, res, errText := effectResult(*effect)
		if p != nil && p.Opened() && checked {
			out, err = loop.EffectResult(ctx, c, rec, p, id, res, errText, d.At)
		} else if p != nil && p.Opened() {
			out, err = loop.RecordEffect(c, rec, p, id, res, errText, d.At)
		} else {
			out, err = loop.ActionEffectResult(ctx, c, rec, id, res, errText, d.At)
		}
	case d.Kind == "process" && p != nil && p.Opened():
		out, err = loop.RecordGovernanceProcess(c, p, process, d.At)
	case d.Kind == "recheck" && p != nil && p.Opened():
		out, err = loop.Recheck(ctx, c, rec, p, d.At)
	default:
		out, err = loop.ActionProposed(ctx, c, rec, d.At)
	}
	if err != nil {
		return &Mismatch{Decision: d, Reason: "deciding again failed: " + err.Error(), Want: lines(d.Events)}, nil
	}
	if legacy {
		withoutRecheck(out)
	}
	got, err := outcomeLines(out)
	if err != nil {
		return nil, err
	}
	want := lines(d.Events)
	if !equalLines(byStream(want), byStream(got)) {
		return &Mismatch{Decision: d, Reason: "the decision comes out differently", Want: want, Got: got}, nil
	}
	return nil, nil
}

// withoutRecheck clears what the loop says brings each check's next one: a decision recorded
// before checks said so (a PROPOSED check without it) is compared without it.
func withoutRecheck(out evaluation.Outcome) {
	for _, ch := range out.Changes {
		for i, e := range ch.Events {
			if pe, ok := e.(domain.ProposalEvaluated); ok {
				pe.Recheck = ""
				ch.Events[i] = pe
			}
		}
	}
}

func effectResult(e domain.Event) (string, map[string]any, string) {
	switch e := e.(type) {
	case domain.EffectCompleted:
		return e.EffectID, e.Result, ""
	case domain.EffectFailed:
		return e.EffectID, nil, e.Error
	}
	return "", nil, ""
}

// lines renders recorded events as "stream type json" with normalised JSON.
func lines(evs []eventstore.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Stream + " " + ev.Type + " " + normalJSON(ev.Data)
	}
	return out
}

func outcomeLines(o evaluation.Outcome) ([]string, error) {
	var out []string
	for _, ch := range o.Changes {
		for _, e := range ch.Events {
			typ, _, data, err := domain.Marshal(e)
			if err != nil {
				return nil, err
			}
			out = append(out, ch.Stream+" "+typ+" "+normalJSON(data))
		}
	}
	return out, nil
}

// normalJSON re-encodes JSON so that key order and spacing do not count (Postgres stores
// jsonb with its own key order).
func normalJSON(b []byte) string {
	var v any
	if err := domain.DecodeJSON(b, &v); err != nil {
		return string(b)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(b)
	}
	return string(out)
}

// byStream orders lines by stream, keeping each stream's own order: a multi-stream append
// is one atomic write, and backends may lay its streams out in any order.
func byStream(ls []string) []string {
	out := append([]string(nil), ls...)
	sort.SliceStable(out, func(i, j int) bool {
		si, _, _ := strings.Cut(out[i], " ")
		sj, _, _ := strings.Cut(out[j], " ")
		return si < sj
	})
	return out
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal([]byte(a[i]), []byte(b[i])) {
			return false
		}
	}
	return true
}
