package discourse

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

// VotePoll is a poll the adapter posted for a proposal's vote.
type VotePoll struct {
	CommunityID string
	PostID      int64
	ProposalID  string
	TopicID     int64
	PollName    string
	Kind        string   // domain.VoteBoolean (yes/no) or domain.VoteChoice
	Options     []string // the poll's options, in order
	OptionIDs   []string // Discourse's ids of Options, alike in order
	Users       []string // when given, the only members whose votes count
	Closed      bool
}

// State is the adapter's memory: its polls, and the topics and posts it made. Safe for
// concurrent use.
type State interface {
	SaveVote(ctx context.Context, v VotePoll) error
	// OpenVotes returns the polls not closed.
	OpenVotes(ctx context.Context) ([]VotePoll, error)
	CloseVote(ctx context.Context, communityID string, postID int64) error
	// MarkOurs notes a topic or post ("topic", "post") the adapter made; Ours reports it.
	MarkOurs(ctx context.Context, communityID, kind string, id int64) error
	Ours(ctx context.Context, communityID, kind string, id int64) (bool, error)
}

var _ State = (*MemoryState)(nil)

// MemoryState is State in memory; its zero value is empty.
type MemoryState struct {
	mu    sync.Mutex
	votes map[string]VotePoll
	ours  map[string]bool
}

func key(parts ...any) string { return fmt.Sprint(parts...) }

func (m *MemoryState) SaveVote(_ context.Context, v VotePoll) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.votes == nil {
		m.votes = map[string]VotePoll{}
	}
	m.votes[key(v.CommunityID, "/", v.PostID)] = v
	return nil
}

func (m *MemoryState) OpenVotes(context.Context) ([]VotePoll, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []VotePoll
	for _, v := range m.votes {
		if !v.Closed {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b VotePoll) int { return int(a.PostID - b.PostID) })
	return out, nil
}

func (m *MemoryState) CloseVote(_ context.Context, communityID string, postID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := key(communityID, "/", postID)
	if v, ok := m.votes[k]; ok {
		v.Closed = true
		m.votes[k] = v
	}
	return nil
}

func (m *MemoryState) MarkOurs(_ context.Context, communityID, kind string, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ours == nil {
		m.ours = map[string]bool{}
	}
	m.ours[key(communityID, "/", kind, "/", id)] = true
	return nil
}

func (m *MemoryState) Ours(_ context.Context, communityID, kind string, id int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ours[key(communityID, "/", kind, "/", id)], nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the adapter's tables (and the platform kit's).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := migrate.Apply(ctx, pool, "discourse_schema_migrations", migrations, "migrations"); err != nil {
		return fmt.Errorf("discourse: migrate: %w", err)
	}
	return nil
}

var _ State = PostgresState{}

// PostgresState is State in the adapter's tables, shared by its processes.
type PostgresState struct{ Pool *pgxpool.Pool }

func (p PostgresState) SaveVote(ctx context.Context, v VotePoll) error {
	_, err := p.Pool.Exec(ctx, `INSERT INTO discourse_votes (community_id, post_id, proposal_id, topic_id, poll_name, kind, options, option_ids, users, closed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (community_id, post_id) DO UPDATE SET options = excluded.options, option_ids = excluded.option_ids, users = excluded.users`,
		v.CommunityID, v.PostID, v.ProposalID, v.TopicID, v.PollName, v.Kind, nonNil(v.Options), nonNil(v.OptionIDs), nonNil(v.Users), v.Closed)
	if err != nil {
		return fmt.Errorf("discourse: save the poll of %s: %w", v.ProposalID, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (p PostgresState) OpenVotes(ctx context.Context) ([]VotePoll, error) {
	rows, err := p.Pool.Query(ctx, `SELECT community_id, post_id, proposal_id, topic_id, poll_name, kind, options, option_ids, users
		FROM discourse_votes WHERE NOT closed ORDER BY post_id`)
	if err != nil {
		return nil, fmt.Errorf("discourse: open polls: %w", err)
	}
	defer rows.Close()
	var out []VotePoll
	for rows.Next() {
		var v VotePoll
		if err := rows.Scan(&v.CommunityID, &v.PostID, &v.ProposalID, &v.TopicID, &v.PollName, &v.Kind, &v.Options, &v.OptionIDs, &v.Users); err != nil {
			return nil, fmt.Errorf("discourse: open polls: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (p PostgresState) CloseVote(ctx context.Context, communityID string, postID int64) error {
	_, err := p.Pool.Exec(ctx, `UPDATE discourse_votes SET closed = true WHERE community_id = $1 AND post_id = $2`, communityID, postID)
	if err != nil {
		return fmt.Errorf("discourse: close poll %d: %w", postID, err)
	}
	return nil
}

func (p PostgresState) MarkOurs(ctx context.Context, communityID, kind string, id int64) error {
	_, err := p.Pool.Exec(ctx, `INSERT INTO discourse_ours (community_id, kind, id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, communityID, kind, id)
	if err != nil {
		return fmt.Errorf("discourse: note %s %d: %w", kind, id, err)
	}
	return nil
}

func (p PostgresState) Ours(ctx context.Context, communityID, kind string, id int64) (bool, error) {
	var ok bool
	err := p.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM discourse_ours WHERE community_id = $1 AND kind = $2 AND id = $3)`, communityID, kind, id).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("discourse: %s %d: %w", kind, id, err)
	}
	return ok, nil
}
