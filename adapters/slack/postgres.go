package slack

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables (platform.Migrate) and the adapter's own (slack_*), and
// copies what earlier versions kept in slack_effects, slack_effect_claims and
// slack_seen_events into the kit's tables.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "slack_schema_migrations", migrations, "migrations")
	return err
}

var _ State = PostgresState{}

// PostgresState keeps the adapter's State in Postgres, so that a restart still recognises
// its vote buttons and its own renames.
type PostgresState struct{ Pool *pgxpool.Pool }

func (s PostgresState) SaveVote(ctx context.Context, v VotePost) error {
	opts, _ := json.Marshal(nonNil(v.Options))
	users, _ := json.Marshal(nonNil(v.Users))
	_, err := s.Pool.Exec(ctx, `INSERT INTO slack_votes (team_id, channel, ts, community_id, proposal_id, kind, options, users)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (team_id, channel, ts) DO UPDATE SET community_id = excluded.community_id, proposal_id = excluded.proposal_id,
			kind = excluded.kind, options = excluded.options, users = excluded.users`,
		v.TeamID, v.Channel, v.TS, v.CommunityID, v.ProposalID, v.Kind, opts, users)
	if err != nil {
		return fmt.Errorf("slack: save vote %s: %w", v.TS, err)
	}
	return nil
}

func (s PostgresState) Vote(ctx context.Context, teamID, channel, ts string) (VotePost, bool, error) {
	v := VotePost{TeamID: teamID, Channel: channel, TS: ts}
	var opts, users []byte
	err := s.Pool.QueryRow(ctx, `SELECT community_id, proposal_id, kind, options, users FROM slack_votes
		WHERE team_id = $1 AND channel = $2 AND ts = $3`, teamID, channel, ts).Scan(&v.CommunityID, &v.ProposalID, &v.Kind, &opts, &users)
	if errors.Is(err, pgx.ErrNoRows) {
		return VotePost{}, false, nil
	}
	if err != nil {
		return VotePost{}, false, fmt.Errorf("slack: vote %s: %w", ts, err)
	}
	if err := json.Unmarshal(opts, &v.Options); err != nil {
		return VotePost{}, false, err
	}
	if err := json.Unmarshal(users, &v.Users); err != nil {
		return VotePost{}, false, err
	}
	return v, true, nil
}

func (s PostgresState) SetChannelName(ctx context.Context, teamID, channel, name string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO slack_channel_names (team_id, channel, name) VALUES ($1, $2, $3)
		ON CONFLICT (team_id, channel) DO UPDATE SET name = excluded.name`, teamID, channel, name)
	return err
}

func (s PostgresState) ChannelName(ctx context.Context, teamID, channel string) (string, error) {
	var name string
	err := s.Pool.QueryRow(ctx, `SELECT name FROM slack_channel_names WHERE team_id = $1 AND channel = $2`, teamID, channel).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return name, err
}

func (s PostgresState) ExpectRename(ctx context.Context, teamID, channel, name string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO slack_own_renames (team_id, channel, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, teamID, channel, name)
	return err
}

func (s PostgresState) TakeRename(ctx context.Context, teamID, channel, name string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM slack_own_renames WHERE team_id = $1 AND channel = $2 AND name = $3`, teamID, channel, name)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
