package slack

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the adapter's tables (slack_*).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "slack_schema_migrations", migrations, "migrations")
	return err
}

var _ State = PostgresState{}

// PostgresState keeps the adapter's State in Postgres, so that a restart performs nothing
// twice and still recognises its vote buttons.
type PostgresState struct{ Pool *pgxpool.Pool }

func (s PostgresState) Effect(ctx context.Context, key string) (map[string]any, bool, error) {
	var raw []byte
	err := s.Pool.QueryRow(ctx, `SELECT result FROM slack_effects WHERE idempotency_key = $1`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("slack effect %s: %w", key, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// ClaimEffect claims key in slack_effect_claims; expiry is measured on the database's clock,
// so that adapters on several hosts agree on it.
func (s PostgresState) ClaimEffect(ctx context.Context, key, holder string, ttl time.Duration) (EffectClaim, error) {
	if res, ok, err := s.Effect(ctx, key); err != nil || ok {
		return EffectClaim{Done: ok, Result: res}, err
	}
	err := s.Pool.QueryRow(ctx, `INSERT INTO slack_effect_claims (idempotency_key, holder, expires_at)
		VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (idempotency_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE slack_effect_claims.holder = excluded.holder OR slack_effect_claims.expires_at <= now()
		RETURNING holder`, key, holder, ttl.Seconds()).Scan(new(string))
	if errors.Is(err, pgx.ErrNoRows) {
		return EffectClaim{}, nil // another attempt's claim is live
	}
	if err != nil {
		return EffectClaim{}, fmt.Errorf("slack: claim effect %s: %w", key, err)
	}
	// The attempt that held the key may have stored its result (and dropped its claim) between
	// the look above and this claim; this second look, a later snapshot, sees it.
	res, ok, err := s.Effect(ctx, key)
	if err != nil || ok {
		if ok {
			err = s.ReleaseEffect(ctx, key, holder)
		}
		return EffectClaim{Done: ok, Result: res}, err
	}
	return EffectClaim{Claimed: true}, nil
}

func (s PostgresState) ReleaseEffect(ctx context.Context, key, holder string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM slack_effect_claims WHERE idempotency_key = $1 AND holder = $2`, key, holder)
	if err != nil {
		return fmt.Errorf("slack: release effect %s: %w", key, err)
	}
	return nil
}

// SaveEffect stores the result and drops the key's claim in one statement, so that an
// attempt claiming the key afterwards finds the result.
func (s PostgresState) SaveEffect(ctx context.Context, key string, rec EffectRecord) (map[string]any, error) {
	if rec.Result == nil {
		rec.Result = map[string]any{}
	}
	result, err := json.Marshal(rec.Result)
	if err != nil {
		return nil, err
	}
	var stored []byte
	err = s.Pool.QueryRow(ctx, `WITH ins AS (
		INSERT INTO slack_effects (idempotency_key, effect_id, community_id, method, purpose, result)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING result),
	released AS (DELETE FROM slack_effect_claims WHERE idempotency_key = $1)
		SELECT result FROM ins UNION ALL SELECT result FROM slack_effects WHERE idempotency_key = $1 LIMIT 1`,
		key, rec.EffectID, rec.CommunityID, rec.Method, rec.Purpose, result).Scan(&stored)
	if err != nil {
		return nil, fmt.Errorf("slack: record effect %s: %w", rec.EffectID, err)
	}
	var out map[string]any
	if err := json.Unmarshal(stored, &out); err != nil {
		return nil, err
	}
	return out, nil
}

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

func (s PostgresState) Seen(ctx context.Context, teamID, eventID string) (bool, error) {
	var seen bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM slack_seen_events WHERE team_id = $1 AND event_id = $2)`, teamID, eventID).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("slack: seen event %s: %w", eventID, err)
	}
	return seen, nil
}

func (s PostgresState) FirstSeen(ctx context.Context, teamID, eventID string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO slack_seen_events (team_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, teamID, eventID)
	if err != nil {
		return false, fmt.Errorf("slack: seen event %s: %w", eventID, err)
	}
	return tag.RowsAffected() > 0, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PostgresDirectory maps workspaces to communities and Slack members to community users by
// reading the engine's read models (community_platforms, community_users). It only reads.
type PostgresDirectory struct{ Pool *pgxpool.Pool }

var _ Directory = PostgresDirectory{}

// CommunityOfTeam returns the community whose slack platform has external id teamID.
func (d PostgresDirectory) CommunityOfTeam(ctx context.Context, teamID string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT community_id FROM community_platforms
		WHERE platform = 'slack' AND external_id = $1 AND active ORDER BY connected_at DESC LIMIT 1`, teamID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: team %q", ErrUnknownWorkspace, teamID)
	}
	return id, err
}

// TeamOfCommunity returns the Slack team id the community is connected to.
func (d PostgresDirectory) TeamOfCommunity(ctx context.Context, communityID string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT external_id FROM community_platforms
		WHERE platform = 'slack' AND community_id = $1 AND active`, communityID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && id == "") {
		return "", fmt.Errorf("%w: community %q", ErrUnknownWorkspace, communityID)
	}
	return id, err
}

// UserID returns the community user whose slack username is memberID ("" when unknown).
func (d PostgresDirectory) UserID(ctx context.Context, communityID, memberID string) (string, error) {
	var id string
	err := d.Pool.QueryRow(ctx, `SELECT id FROM community_users WHERE community_id = $1 AND platform = 'slack' AND username = $2`,
		communityID, memberID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// PostgresProposals reads proposals' statuses from the engine's read model (proposals). It
// only reads.
type PostgresProposals struct{ Pool *pgxpool.Pool }

var _ Proposals = PostgresProposals{}

// Status returns the proposal's status in the community, "" when the read model has no such
// proposal (yet).
func (p PostgresProposals) Status(ctx context.Context, communityID, proposalID string) (string, error) {
	var status string
	err := p.Pool.QueryRow(ctx, `SELECT status FROM proposals WHERE id = $1 AND community_id = $2`, proposalID, communityID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return status, err
}
