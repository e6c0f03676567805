package projections

import "github.com/policykit-go/policykit/domain"

// CommunityEventsProjector is the name of the projector that keeps community_events, the
// index of each community's events by log position: its checkpoint is how far the index
// covers the log (readers read the rest from the log).
const CommunityEventsProjector = "community_events"

// communityEventsProjector indexes the events of a community: those of its stream and of
// its actions' and proposals' streams whose decoded community id is the community's (the
// events the API's Community.events shows). Events without a community id, and events of
// other streams, are not indexed; undecodable events are not either (they are recorded as
// failures), as Community.events never showed them.
type communityEventsProjector struct{}

func (communityEventsProjector) Name() string { return CommunityEventsProjector }

func (communityEventsProjector) Tables() []string { return []string{"community_events"} }

// communityEvents receives the rows by COPY: an event has one log position, and nothing
// else in the projector touches the table.
var communityEvents = &CopyTarget{Table: "community_events", Columns: []string{
	"community_id", "commit_id", "seq", "stream", "stream_version", "event_type", "recorded_at",
}}

func (communityEventsProjector) Project(q Queue, ev Envelope) error {
	if ev.Event == nil {
		return nil
	}
	id := ev.Event.Meta().CommunityID
	if id == "" {
		return nil
	}
	if ev.Stream != domain.CommunityStream(id) {
		if cat := domain.StreamCategory(ev.Stream); cat != domain.CategoryAction && cat != domain.CategoryProposal {
			return nil
		}
	}
	q.Copy(communityEvents, id, int64(ev.Position.Commit), ev.Position.Seq, ev.Stream, ev.Version, ev.Type, ev.RecordedAt)
	return nil
}
