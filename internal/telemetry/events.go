package telemetry

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// outcomes names the decision each decision event records.
var outcomes = map[string]string{
	domain.EventProposalPassed:        "passed",
	domain.EventProposalFailed:        "failed",
	domain.EventActionExecuted:        "executed",
	domain.EventActionRejected:        "rejected",
	domain.EventActionReverted:        "reverted",
	domain.EventActionGoverned:        "governed",
	domain.EventActionExecutionFailed: "execution_failed",
	domain.EventActionFilterErrored:   "filter_errored",
}

// ObserveEvents counts the decisions among events of the log, read in log order once each
// (the engine's forwarder calls it with what it publishes), and times the decisions that a
// vote caused: from the vote's recording to the proposal's passed or failed event.
func (m *Metrics) ObserveEvents(evs []eventstore.RecordedEvent) {
	if m == nil {
		return
	}
	for _, ev := range evs {
		switch ev.Type {
		case domain.EventVoteCast:
			m.votes.add(ev)
		case domain.EventProposalPassed, domain.EventProposalFailed:
			if at, ok := m.votes.decided(ev); ok {
				m.voteToDecision.Observe(max(ev.RecordedAt.Sub(at), 0).Seconds())
			}
		}
		if o, ok := outcomes[ev.Type]; ok {
			m.decisions.WithLabelValues(o).Inc()
		}
	}
}

// votesSeen holds the votes recorded on open proposals, by stream, until their decision.
type votesSeen struct {
	mu      sync.Mutex
	streams map[string][]seenVote
	order   []string // streams in the order first seen, to forget the oldest
}

type seenVote struct {
	id, cause uuid.UUID
	at        time.Time
}

// maxVotedProposals bounds the open proposals whose votes are kept.
const maxVotedProposals = 10000

// maxVotesPerProposal bounds the votes kept per proposal: the latest ones, which are the
// ones a decision follows.
const maxVotesPerProposal = 64

func (v *votesSeen) add(ev eventstore.RecordedEvent) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.streams == nil {
		v.streams = map[string][]seenVote{}
	}
	votes, ok := v.streams[ev.Stream]
	if !ok {
		if len(v.order) >= maxVotedProposals {
			delete(v.streams, v.order[0])
			v.order = v.order[1:]
		}
		v.order = append(v.order, ev.Stream)
	}
	if len(votes) >= maxVotesPerProposal {
		votes = votes[1:]
	}
	v.streams[ev.Stream] = append(votes, seenVote{id: ev.ID, cause: ev.CausationID, at: ev.RecordedAt})
}

// decided forgets the votes of the decided proposal and returns when the vote that caused
// the decision was recorded, if one did: the engine checks a proposal a vote woke under a
// causation id derived from the vote's message or event (engine.RecheckCausation), or, a
// lone vote, in the step that records it, under the vote's own.
func (v *votesSeen) decided(ev eventstore.RecordedEvent) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	votes := v.streams[ev.Stream]
	delete(v.streams, ev.Stream)
	for i, s := range v.order {
		if s == ev.Stream {
			v.order = append(v.order[:i:i], v.order[i+1:]...)
			break
		}
	}
	for i := len(votes) - 1; i >= 0; i-- {
		w := votes[i]
		// A lone vote is checked in the step that records it, under its own cause.
		if ev.CausationID == w.cause || ev.CausationID == engine.RecheckCausation(w.cause) || ev.CausationID == engine.RecheckCausation(w.id) {
			return w.at, true
		}
	}
	return time.Time{}, false
}
