package discord

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
)

// VotePost is a vote message the adapter posted: its buttons' clicks are votes on
// ProposalID, by Users only when given.
type VotePost struct {
	GuildID, ChannelID, MessageID string
	CommunityID, ProposalID       string
	Kind                          string // domain.VoteBoolean or domain.VoteChoice
	Text                          string
	Options, Users                []string
	Closed                        bool
}

// State is the adapter's memory: its vote messages, and the changes it is making itself.
// Implementations are safe for concurrent use.
type State interface {
	SaveVote(ctx context.Context, v VotePost) error
	// Vote returns the vote message, ok false when it is not one of ours.
	Vote(ctx context.Context, channelID, messageID string) (VotePost, bool, error)
	// VotesOf returns the vote messages of a proposal.
	VotesOf(ctx context.Context, communityID, proposalID string) ([]VotePost, error)
	// CloseVote marks a vote message closed (its result shown); first reports whether it was
	// open, so that one process edits it.
	CloseVote(ctx context.Context, channelID, messageID string) (first bool, err error)
	// Expect notes a change the adapter is about to make, for ttl; Take reports whether one
	// was expected and forgets it.
	Expect(ctx context.Context, guildID, key string, ttl time.Duration) error
	Take(ctx context.Context, guildID, key string) (bool, error)
}

// NewMemoryState returns an empty State in memory.
func NewMemoryState() *MemoryState {
	return &MemoryState{votes: map[[2]string]VotePost{}, expected: map[[2]string]time.Time{}}
}

var _ State = (*MemoryState)(nil)

// MemoryState is State in memory (tests, single-process demos).
type MemoryState struct {
	mu       sync.Mutex
	votes    map[[2]string]VotePost
	expected map[[2]string]time.Time
}

func (m *MemoryState) SaveVote(_ context.Context, v VotePost) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.votes[[2]string{v.ChannelID, v.MessageID}] = v
	return nil
}

func (m *MemoryState) Vote(_ context.Context, channelID, messageID string) (VotePost, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.votes[[2]string{channelID, messageID}]
	return v, ok, nil
}

func (m *MemoryState) VotesOf(_ context.Context, communityID, proposalID string) ([]VotePost, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []VotePost
	for _, v := range m.votes {
		if v.CommunityID == communityID && v.ProposalID == proposalID {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b VotePost) int { return compare(a.MessageID, b.MessageID) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *MemoryState) CloseVote(_ context.Context, channelID, messageID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{channelID, messageID}
	v, ok := m.votes[k]
	if !ok || v.Closed {
		return false, nil
	}
	v.Closed = true
	m.votes[k] = v
	return true, nil
}

func (m *MemoryState) Expect(_ context.Context, guildID, key string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expected[[2]string{guildID, key}] = time.Now().Add(ttl)
	return nil
}

func (m *MemoryState) Take(_ context.Context, guildID, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{guildID, key}
	until, ok := m.expected[k]
	delete(m.expected, k)
	return ok && time.Now().Before(until), nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables (platform.Migrate) and the adapter's own (discord_*).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "discord_schema_migrations", migrations, "migrations")
	return err
}

var _ State = PostgresState{}

// PostgresState keeps the adapter's State in Postgres, shared by its processes and kept
// across restarts.
type PostgresState struct{ Pool *pgxpool.Pool }

func (s PostgresState) SaveVote(ctx context.Context, v VotePost) error {
	opts, _ := json.Marshal(nonNil(v.Options))
	users, _ := json.Marshal(nonNil(v.Users))
	_, err := s.Pool.Exec(ctx, `INSERT INTO discord_votes (channel_id, message_id, guild_id, community_id, proposal_id, kind, text, options, users)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (channel_id, message_id) DO NOTHING`,
		v.ChannelID, v.MessageID, v.GuildID, v.CommunityID, v.ProposalID, v.Kind, v.Text, opts, users)
	if err != nil {
		return fmt.Errorf("discord: save vote %s: %w", v.MessageID, err)
	}
	return nil
}

const voteColumns = `channel_id, message_id, guild_id, community_id, proposal_id, kind, text, options, users, closed`

func scanVote(row pgx.Row) (VotePost, error) {
	var v VotePost
	var opts, users []byte
	if err := row.Scan(&v.ChannelID, &v.MessageID, &v.GuildID, &v.CommunityID, &v.ProposalID, &v.Kind, &v.Text, &opts, &users, &v.Closed); err != nil {
		return v, err
	}
	_ = json.Unmarshal(opts, &v.Options)
	_ = json.Unmarshal(users, &v.Users)
	return v, nil
}

func (s PostgresState) Vote(ctx context.Context, channelID, messageID string) (VotePost, bool, error) {
	v, err := scanVote(s.Pool.QueryRow(ctx, `SELECT `+voteColumns+` FROM discord_votes WHERE channel_id = $1 AND message_id = $2`, channelID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return VotePost{}, false, nil
	}
	if err != nil {
		return VotePost{}, false, fmt.Errorf("discord: vote %s: %w", messageID, err)
	}
	return v, true, nil
}

func (s PostgresState) VotesOf(ctx context.Context, communityID, proposalID string) ([]VotePost, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+voteColumns+` FROM discord_votes WHERE community_id = $1 AND proposal_id = $2 ORDER BY message_id`,
		communityID, proposalID)
	if err != nil {
		return nil, fmt.Errorf("discord: votes of %s: %w", proposalID, err)
	}
	defer rows.Close()
	var out []VotePost
	for rows.Next() {
		v, err := scanVote(rows)
		if err != nil {
			return nil, fmt.Errorf("discord: votes of %s: %w", proposalID, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s PostgresState) CloseVote(ctx context.Context, channelID, messageID string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE discord_votes SET closed = true WHERE channel_id = $1 AND message_id = $2 AND NOT closed`, channelID, messageID)
	if err != nil {
		return false, fmt.Errorf("discord: close vote %s: %w", messageID, err)
	}
	return tag.RowsAffected() == 1, nil
}

func (s PostgresState) Expect(ctx context.Context, guildID, key string, ttl time.Duration) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO discord_expected (guild_id, key, until) VALUES ($1, $2, now() + $3::interval)
		ON CONFLICT (guild_id, key) DO UPDATE SET until = excluded.until`, guildID, key, fmt.Sprintf("%d milliseconds", ttl.Milliseconds()))
	if err != nil {
		return fmt.Errorf("discord: expect %s: %w", key, err)
	}
	return nil
}

func (s PostgresState) Take(ctx context.Context, guildID, key string) (bool, error) {
	var live bool
	err := s.Pool.QueryRow(ctx, `DELETE FROM discord_expected WHERE guild_id = $1 AND key = $2 RETURNING until > now()`, guildID, key).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discord: take %s: %w", key, err)
	}
	return live, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
