package reddit

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
)

// VoteComment is a vote comment the adapter posted: "+1" and "-1" replies to it are votes on
// ProposalID, by Users only when given. Cast holds each user's reply last sent as a vote.
type VoteComment struct {
	Comment, Article, Subreddit string
	CommunityID, ProposalID     string
	Users                       []string
	Cast                        map[string]string
}

// State is the adapter's durable memory: the polling cursors and the vote comments.
type State interface {
	Cursor(ctx context.Context, sub string) (string, error)
	SetCursor(ctx context.Context, sub, newest string) error
	SaveVote(ctx context.Context, v VoteComment) error
	OpenVotes(ctx context.Context) ([]VoteComment, error)
	MarkCast(ctx context.Context, comment, user, reply string) error
	CloseVote(ctx context.Context, comment string) error
}

// MemoryState is State in memory.
type MemoryState struct {
	mu      sync.Mutex
	cursors map[string]string
	votes   map[string]VoteComment
	closed  map[string]bool
}

var _ State = (*MemoryState)(nil)

func (m *MemoryState) Cursor(_ context.Context, sub string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[sub], nil
}

func (m *MemoryState) SetCursor(_ context.Context, sub, newest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cursors == nil {
		m.cursors = map[string]string{}
	}
	m.cursors[sub] = newest
	return nil
}

func (m *MemoryState) SaveVote(_ context.Context, v VoteComment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.votes == nil {
		m.votes, m.closed = map[string]VoteComment{}, map[string]bool{}
	}
	v.Cast = maps.Clone(v.Cast)
	m.votes[v.Comment] = v
	return nil
}

func (m *MemoryState) OpenVotes(context.Context) ([]VoteComment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []VoteComment
	for _, k := range slices.Sorted(maps.Keys(m.votes)) {
		if !m.closed[k] {
			v := m.votes[k]
			v.Cast = maps.Clone(v.Cast)
			out = append(out, v)
		}
	}
	return out, nil
}

func (m *MemoryState) MarkCast(_ context.Context, comment, user, reply string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.votes[comment]
	if !ok {
		return nil
	}
	if v.Cast == nil {
		v.Cast = map[string]string{}
	}
	v.Cast[user] = reply
	m.votes[comment] = v
	return nil
}

func (m *MemoryState) CloseVote(_ context.Context, comment string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed != nil {
		m.closed[comment] = true
	}
	return nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables and the adapter's.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "reddit_schema_migrations", migrations, "migrations")
	return err
}

// PostgresState keeps State in Postgres.
type PostgresState struct{ Pool *pgxpool.Pool }

var _ State = PostgresState{}

func (s PostgresState) Cursor(ctx context.Context, sub string) (string, error) {
	var c string
	err := s.Pool.QueryRow(ctx, `SELECT newest FROM reddit_cursors WHERE subreddit = $1`, sub).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reddit: cursor of r/%s: %w", sub, err)
	}
	return c, nil
}

func (s PostgresState) SetCursor(ctx context.Context, sub, newest string) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO reddit_cursors (subreddit, newest) VALUES ($1, $2) ON CONFLICT (subreddit) DO UPDATE SET newest = EXCLUDED.newest`, sub, newest)
	if err != nil {
		return fmt.Errorf("reddit: set cursor of r/%s: %w", sub, err)
	}
	return nil
}

func (s PostgresState) SaveVote(ctx context.Context, v VoteComment) error {
	users, _ := json.Marshal(v.Users)
	if v.Users == nil {
		users = []byte("[]")
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO reddit_votes (comment, article, subreddit, community_id, proposal_id, users) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (comment) DO NOTHING`, v.Comment, v.Article, v.Subreddit, v.CommunityID, v.ProposalID, users)
	if err != nil {
		return fmt.Errorf("reddit: save vote: %w", err)
	}
	return nil
}

func (s PostgresState) OpenVotes(ctx context.Context) ([]VoteComment, error) {
	rows, err := s.Pool.Query(ctx, `SELECT comment, article, subreddit, community_id, proposal_id, users, cast_votes FROM reddit_votes WHERE NOT closed ORDER BY comment`)
	if err != nil {
		return nil, fmt.Errorf("reddit: open votes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (VoteComment, error) {
		var v VoteComment
		var users, cast []byte
		if err := r.Scan(&v.Comment, &v.Article, &v.Subreddit, &v.CommunityID, &v.ProposalID, &users, &cast); err != nil {
			return v, err
		}
		return v, errors.Join(json.Unmarshal(users, &v.Users), json.Unmarshal(cast, &v.Cast))
	})
}

func (s PostgresState) MarkCast(ctx context.Context, comment, user, reply string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE reddit_votes SET cast_votes = cast_votes || jsonb_build_object($2::text, $3::text) WHERE comment = $1`, comment, user, reply)
	if err != nil {
		return fmt.Errorf("reddit: mark vote cast: %w", err)
	}
	return nil
}

func (s PostgresState) CloseVote(ctx context.Context, comment string) error {
	if _, err := s.Pool.Exec(ctx, `UPDATE reddit_votes SET closed = true WHERE comment = $1`, comment); err != nil {
		return fmt.Errorf("reddit: close vote: %w", err)
	}
	return nil
}
