package loomio

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
)

// Poll is a Loomio poll the adapter started for a proposal.
type Poll struct {
	CommunityID string
	PollID      string // Loomio's id of the poll
	Key         string // its key, as its URL (/p/{key}) names it
	ProposalID  string
	URL         string
	Closed      bool // its close was reported to the engine
}

// Store keeps the polls the adapter started, so that the webhook's events and the polling of
// open polls find their proposal, also after a restart and in another process.
// Implementations are safe for concurrent use.
type Store interface {
	SavePoll(ctx context.Context, p Poll) error
	// PollByKey returns the community's poll with the key (or id); ok false when unknown.
	PollByKey(ctx context.Context, communityID, keyOrID string) (Poll, bool, error)
	// OpenPolls returns the polls whose close was not reported yet.
	OpenPolls(ctx context.Context) ([]Poll, error)
	// MarkClosed records that the poll's close was reported (or that its proposal is decided).
	MarkClosed(ctx context.Context, communityID, pollID string) error
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables (platform.Migrate) and the adapter's own (loomio_*).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "loomio_schema_migrations", migrations, "migrations")
	return err
}

var _ Store = (*MemoryStore)(nil)

// MemoryStore is a Store in memory; its zero value is empty.
type MemoryStore struct {
	mu    sync.Mutex
	polls []Poll
}

func (m *MemoryStore) SavePoll(_ context.Context, p Poll) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, q := range m.polls {
		if q.CommunityID == p.CommunityID && q.PollID == p.PollID {
			m.polls[i] = p
			return nil
		}
	}
	m.polls = append(m.polls, p)
	return nil
}

func (m *MemoryStore) PollByKey(_ context.Context, communityID, keyOrID string) (Poll, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.polls {
		if p.CommunityID == communityID && (p.Key == keyOrID || p.PollID == keyOrID) {
			return p, true, nil
		}
	}
	return Poll{}, false, nil
}

func (m *MemoryStore) OpenPolls(context.Context) ([]Poll, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Poll
	for _, p := range m.polls {
		if !p.Closed {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *MemoryStore) MarkClosed(_ context.Context, communityID, pollID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.polls {
		if p.CommunityID == communityID && p.PollID == pollID {
			m.polls[i].Closed = true
		}
	}
	return nil
}

var _ Store = PostgresStore{}

// PostgresStore keeps the polls in loomio_polls.
type PostgresStore struct{ Pool *pgxpool.Pool }

func (s PostgresStore) SavePoll(ctx context.Context, p Poll) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO loomio_polls (community_id, poll_id, poll_key, proposal_id, url, closed)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (community_id, poll_id) DO UPDATE SET poll_key = excluded.poll_key, proposal_id = excluded.proposal_id,
			url = excluded.url, closed = loomio_polls.closed OR excluded.closed`,
		p.CommunityID, p.PollID, p.Key, p.ProposalID, p.URL, p.Closed)
	if err != nil {
		return fmt.Errorf("loomio: save poll %s: %w", p.PollID, err)
	}
	return nil
}

func (s PostgresStore) PollByKey(ctx context.Context, communityID, keyOrID string) (Poll, bool, error) {
	p := Poll{CommunityID: communityID}
	err := s.Pool.QueryRow(ctx, `SELECT poll_id, poll_key, proposal_id, url, closed FROM loomio_polls
		WHERE community_id = $1 AND (poll_key = $2 OR poll_id = $2) LIMIT 1`, communityID, keyOrID).
		Scan(&p.PollID, &p.Key, &p.ProposalID, &p.URL, &p.Closed)
	if errors.Is(err, pgx.ErrNoRows) {
		return Poll{}, false, nil
	}
	if err != nil {
		return Poll{}, false, fmt.Errorf("loomio: poll %s: %w", keyOrID, err)
	}
	return p, true, nil
}

func (s PostgresStore) OpenPolls(ctx context.Context) ([]Poll, error) {
	rows, err := s.Pool.Query(ctx, `SELECT community_id, poll_id, poll_key, proposal_id, url FROM loomio_polls
		WHERE NOT closed ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("loomio: open polls: %w", err)
	}
	defer rows.Close()
	var out []Poll
	for rows.Next() {
		var p Poll
		if err := rows.Scan(&p.CommunityID, &p.PollID, &p.Key, &p.ProposalID, &p.URL); err != nil {
			return nil, fmt.Errorf("loomio: open polls: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s PostgresStore) MarkClosed(ctx context.Context, communityID, pollID string) error {
	if _, err := s.Pool.Exec(ctx, `UPDATE loomio_polls SET closed = true WHERE community_id = $1 AND poll_id = $2`,
		communityID, pollID); err != nil {
		return fmt.Errorf("loomio: mark poll %s closed: %w", pollID, err)
	}
	return nil
}
