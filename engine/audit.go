package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
func Verify(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, progress func(done, total int)) (AuditReport, error) {
	log, err := readAll(ctx, store)
	if err != nil {
		return AuditReport{}, err
	}
	decisions := groupDecisions(log)
	rep := AuditReport{Events: len(log), Decisions: len(decisions)}
	states := newFolds()
	next := 0 // log index up to which states are folded
	for i, d := range decisions {
		if err := ctx.Err(); err != nil { // the caller left: the rest is not wanted
			return rep, err
		}
		first := d.Events[0]
		for next < len(log) && log[next].Position.Less(first.Position) {
			states.apply(log[next])
			next++
		}
		if m, err := verifyOne(ctx, loop, states, d); err != nil {
			return rep, err
		} else if m != nil {
			rep.Mismatches = append(rep.Mismatches, *m)
		}
		if progress != nil {
			progress(i+1, len(decisions))
		}
	}
	return rep, nil
}

func readAll(ctx context.Context, store eventstore.Store) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for ev, err := range eventstore.All(ctx, store, eventstore.Start) {
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// groupDecisions finds the loop's decisions: runs of events with one causation id that
// touch a proposal or settle an action. Set-up commands (a community created, an action
// recorded) are not decisions of the loop.
func groupDecisions(log []eventstore.RecordedEvent) []Decision {
	var out []Decision
	for i := 0; i < len(log); {
		j := i + 1
		for j < len(log) && log[j].CausationID == log[i].CausationID && log[i].CausationID != uuid.Nil {
			j++
		}
		group := log[i:j]
		i = j
		kind := decisionKind(group)
		if kind == "" {
			continue
		}
		e, _ := domain.Unmarshal(group[0].Type, group[0].SchemaVersion, group[0].Data)
		at := group[0].RecordedAt
		if e != nil {
			at = e.Meta().At
		}
		out = append(out, Decision{Cause: group[0].CausationID, At: at, Kind: kind, Events: group})
	}
	return out
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

// folds keeps every stream's raw events seen so far, to build the state before a decision.
type folds struct {
	streams map[string][]domain.Event
}

func newFolds() *folds { return &folds{streams: map[string][]domain.Event{}} }

func (f *folds) apply(ev eventstore.RecordedEvent) {
	e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		e = &domain.UnknownEvent{Type: ev.Type, SchemaVersion: ev.SchemaVersion, Data: ev.Data}
	}
	f.streams[ev.Stream] = append(f.streams[ev.Stream], e)
}

func (f *folds) community(id string) *domain.Community {
	return domain.NewCommunityFromEvents(f.streams[domain.CommunityStream(id)])
}

func (f *folds) action(id string) *domain.ActionRecord {
	return domain.NewActionRecordFromEvents(f.streams[domain.ActionStream(id)])
}

func (f *folds) proposal(id string) *domain.Proposal {
	return domain.NewProposalFromEvents(f.streams[domain.ProposalStream(id)])
}

func verifyOne(ctx context.Context, loop *evaluation.Loop, f *folds, d Decision) (*Mismatch, error) {
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
	c := f.community(communityID)
	var p *domain.Proposal
	if proposalID != "" {
		p = f.proposal(proposalID)
		if p.Opened() && actionID == "" {
			actionID = p.ActionID
		}
	}
	var rec *domain.ActionRecord
	if actionID != "" {
		rec = f.action(actionID)
	}
	// Every entry point records a vote or an effect's result in a step of its own (the
	// recorder), and the engine checks the proposal in the next step, under a cause of its
	// own: each is its own group here. A group holding both is a log written before every
	// entry point recorded through the recorder (the CLI's vote and the scenario harness
	// decided a vote with its check in one step), re-run as that one step.
	checked := false
	for _, ev := range d.Events {
		checked = checked || ev.Type == domain.EventProposalEvaluated
	}
	var out evaluation.Outcome
	var err error
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
