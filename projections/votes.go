package projections

import (
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/policykit-go/policykit/domain"
)

// votesProjector keeps each user's current vote on each proposal in votes (a revote
// replaces it) and every vote cast in vote_history (one row per VoteCast, keyed by the
// event id).
type votesProjector struct{}

func (votesProjector) Name() string { return "votes" }

func (votesProjector) Tables() []string { return []string{"votes", "vote_history"} }

// upsertVotes sets users' current votes, one row per proposal and user.
var upsertVotes = &Statement{Columns: 10, SQL: `INSERT INTO votes
		(proposal_id, user_id, community_id, username, kind, boolean_value, choice, number_value, cast_at, event_id)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::bigint[],
		$9::timestamptz[], $10::uuid[])
	ON CONFLICT (proposal_id, user_id) DO UPDATE SET community_id = EXCLUDED.community_id, username = EXCLUDED.username,
		kind = EXCLUDED.kind, boolean_value = EXCLUDED.boolean_value, choice = EXCLUDED.choice,
		number_value = EXCLUDED.number_value, cast_at = EXCLUDED.cast_at, event_id = EXCLUDED.event_id`}

// voteHistory receives every vote cast, by COPY: rows are unique by proposal and stream
// version, and nothing else in the projector touches them.
var voteHistory = &CopyTarget{Table: "vote_history", Columns: []string{
	"proposal_id", "stream_version", "event_id", "community_id", "user_id", "username", "kind", "boolean_value", "choice",
	"number_value", "cast_at",
}}

func (vp votesProjector) Project(q Queue, ev Envelope) error {
	return vp.ProjectBatch(q, []Envelope{ev})
}

// ProjectBatch copies every vote into vote_history and upserts each user's last vote of the
// batch into votes (a revote within the batch replaces the vote before it is written).
func (votesProjector) ProjectBatch(q Queue, evs []Envelope) error {
	current := map[string][]any{}
	var order []string
	for _, ev := range evs {
		e, ok := ev.Event.(domain.VoteCast)
		if !ok {
			continue
		}
		v := e.Vote
		b, choice, number := voteValues(v)
		id := eventID(ev)
		key := e.ProposalID + "\x00" + v.UserID
		if _, seen := current[key]; !seen {
			order = append(order, key)
		}
		current[key] = []any{e.ProposalID, v.UserID, e.CommunityID, v.Username, v.Kind, b, choice, number, v.At, id}
		q.Copy(voteHistory, e.ProposalID, ev.Version, id, e.CommunityID, v.UserID, v.Username, v.Kind, b, choice, number, v.At)
	}
	for _, key := range order {
		q.Row(upsertVotes, key, current[key]...)
	}
	return nil
}

// voteValues returns the value columns of a vote: only the one of its kind is set.
func voteValues(v domain.Vote) (pgtype.Bool, pgtype.Text, pgtype.Int8) {
	return pgtype.Bool{Bool: v.Boolean, Valid: v.Kind == domain.VoteBoolean},
		pgtype.Text{String: v.Choice, Valid: v.Kind == domain.VoteChoice},
		pgtype.Int8{Int64: int64(v.Number), Valid: v.Kind == domain.VoteNumber}
}
