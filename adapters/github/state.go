package github

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

// VoteIssue is an issue the adapter opened for a vote: its 👍 and 👎 reactions are votes on
// ProposalID, by Users only when given. Cast holds, per login, the id of the reaction last
// sent as that login's vote.
type VoteIssue struct {
	Owner, Repo             string
	Number                  int
	CommunityID, ProposalID string
	Users                   []string
	Cast                    map[string]int64
	Closed                  bool
}

// InstallationRecord is an installation of the App on an account (a user or organization).
type InstallationRecord struct {
	Owner          string
	InstallationID int64
	Installer      string
}

// State is the adapter's durable memory. Implementations are safe for concurrent use.
type State interface {
	SaveVote(ctx context.Context, v VoteIssue) error
	// OpenVotes lists the vote issues not closed.
	OpenVotes(ctx context.Context) ([]VoteIssue, error)
	// MarkCast records that login's vote was sent as reaction id.
	MarkCast(ctx context.Context, owner, repo string, number int, login string, reaction int64) error
	CloseVote(ctx context.Context, owner, repo string, number int) error
	SaveInstallation(ctx context.Context, in InstallationRecord) error
	// Installation returns the installation on owner, ok false when none is known.
	Installation(ctx context.Context, owner string) (InstallationRecord, bool, error)
	// DeleteInstallation records that installation id on owner was deleted: it is
	// forgotten as owner's installation, never saved again, and owner's vote issues are no
	// longer read.
	DeleteInstallation(ctx context.Context, owner string, id int64) error
	// InstallationDeleted reports whether installation id was deleted.
	InstallationDeleted(ctx context.Context, id int64) (bool, error)
}

// MemoryState is State in memory (tests, a single process without a database).
type MemoryState struct {
	mu      sync.Mutex
	votes   map[string]VoteIssue
	inst    map[string]InstallationRecord
	deleted map[int64]bool
}

var _ State = (*MemoryState)(nil)

func voteKey(owner, repo string, number int) string {
	return fmt.Sprintf("%s/%s#%d", owner, repo, number)
}

func (m *MemoryState) SaveVote(_ context.Context, v VoteIssue) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.votes == nil {
		m.votes = map[string]VoteIssue{}
	}
	v.Cast = maps.Clone(v.Cast)
	m.votes[voteKey(v.Owner, v.Repo, v.Number)] = v
	return nil
}

func (m *MemoryState) OpenVotes(context.Context) ([]VoteIssue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []VoteIssue
	for _, k := range slices.Sorted(maps.Keys(m.votes)) {
		if v := m.votes[k]; !v.Closed {
			v.Cast = maps.Clone(v.Cast)
			out = append(out, v)
		}
	}
	return out, nil
}

func (m *MemoryState) MarkCast(_ context.Context, owner, repo string, number int, login string, reaction int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := voteKey(owner, repo, number)
	v, ok := m.votes[k]
	if !ok {
		return nil
	}
	if v.Cast == nil {
		v.Cast = map[string]int64{}
	}
	v.Cast[login] = reaction
	m.votes[k] = v
	return nil
}

func (m *MemoryState) CloseVote(_ context.Context, owner, repo string, number int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := voteKey(owner, repo, number)
	if v, ok := m.votes[k]; ok {
		v.Closed = true
		m.votes[k] = v
	}
	return nil
}

func (m *MemoryState) SaveInstallation(_ context.Context, in InstallationRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted[in.InstallationID] {
		return nil
	}
	if m.inst == nil {
		m.inst = map[string]InstallationRecord{}
	}
	if old, ok := m.inst[in.Owner]; ok && in.Installer == "" && old.InstallationID == in.InstallationID {
		in.Installer = old.Installer
	}
	m.inst[in.Owner] = in
	return nil
}

func (m *MemoryState) Installation(_ context.Context, owner string) (InstallationRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in, ok := m.inst[owner]
	return in, ok, nil
}

func (m *MemoryState) DeleteInstallation(_ context.Context, owner string, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted == nil {
		m.deleted = map[int64]bool{}
	}
	m.deleted[id] = true
	if in, ok := m.inst[owner]; ok && in.InstallationID == id {
		delete(m.inst, owner)
	}
	for k, v := range m.votes {
		if v.Owner == owner {
			v.Closed = true
			m.votes[k] = v
		}
	}
	return nil
}

func (m *MemoryState) InstallationDeleted(_ context.Context, id int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleted[id], nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables and the adapter's.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "github_schema_migrations", migrations, "migrations")
	return err
}

// PostgresState keeps State in Postgres, shared by the adapter's processes.
type PostgresState struct{ Pool *pgxpool.Pool }

var _ State = PostgresState{}

func (s PostgresState) SaveVote(ctx context.Context, v VoteIssue) error {
	users, _ := json.Marshal(nonNil(v.Users))
	cast, _ := json.Marshal(v.Cast)
	if v.Cast == nil {
		cast = []byte("{}")
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO github_votes (owner, repo, number, community_id, proposal_id, users, cast_votes, closed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner, repo, number) DO UPDATE SET
community_id = EXCLUDED.community_id, proposal_id = EXCLUDED.proposal_id, users = EXCLUDED.users, closed = EXCLUDED.closed`,
		v.Owner, v.Repo, v.Number, v.CommunityID, v.ProposalID, users, cast, v.Closed)
	if err != nil {
		return fmt.Errorf("github: save vote issue: %w", err)
	}
	return nil
}

func (s PostgresState) OpenVotes(ctx context.Context) ([]VoteIssue, error) {
	rows, err := s.Pool.Query(ctx, `SELECT owner, repo, number, community_id, proposal_id, users, cast_votes FROM github_votes WHERE NOT closed ORDER BY owner, repo, number`)
	if err != nil {
		return nil, fmt.Errorf("github: open votes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (VoteIssue, error) {
		var v VoteIssue
		var users, cast []byte
		if err := r.Scan(&v.Owner, &v.Repo, &v.Number, &v.CommunityID, &v.ProposalID, &users, &cast); err != nil {
			return v, err
		}
		return v, errors.Join(json.Unmarshal(users, &v.Users), json.Unmarshal(cast, &v.Cast))
	})
	if err != nil {
		return nil, fmt.Errorf("github: open votes: %w", err)
	}
	return out, nil
}

func (s PostgresState) MarkCast(ctx context.Context, owner, repo string, number int, login string, reaction int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE github_votes SET cast_votes = cast_votes || jsonb_build_object($4::text, $5::bigint)
WHERE owner = $1 AND repo = $2 AND number = $3`, owner, repo, number, login, reaction)
	if err != nil {
		return fmt.Errorf("github: mark vote cast: %w", err)
	}
	return nil
}

func (s PostgresState) CloseVote(ctx context.Context, owner, repo string, number int) error {
	if _, err := s.Pool.Exec(ctx, `UPDATE github_votes SET closed = true WHERE owner = $1 AND repo = $2 AND number = $3`, owner, repo, number); err != nil {
		return fmt.Errorf("github: close vote: %w", err)
	}
	return nil
}

func (s PostgresState) SaveInstallation(ctx context.Context, in InstallationRecord) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO github_installations (owner, installation_id, installer)
SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM github_deleted_installations WHERE installation_id = $2)
ON CONFLICT (owner) DO UPDATE SET installation_id = EXCLUDED.installation_id,
installer = CASE WHEN EXCLUDED.installer = '' AND github_installations.installation_id = EXCLUDED.installation_id
THEN github_installations.installer ELSE EXCLUDED.installer END`, in.Owner, in.InstallationID, in.Installer)
	if err != nil {
		return fmt.Errorf("github: save installation: %w", err)
	}
	return nil
}

func (s PostgresState) Installation(ctx context.Context, owner string) (InstallationRecord, bool, error) {
	in := InstallationRecord{Owner: owner}
	err := s.Pool.QueryRow(ctx, `SELECT installation_id, installer FROM github_installations WHERE owner = $1`, owner).Scan(&in.InstallationID, &in.Installer)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, false, nil
	}
	if err != nil {
		return in, false, fmt.Errorf("github: installation of %s: %w", owner, err)
	}
	return in, true, nil
}

func (s PostgresState) DeleteInstallation(ctx context.Context, owner string, id int64) error {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO github_deleted_installations (installation_id, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, owner); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM github_installations WHERE owner = $1 AND installation_id = $2`, owner, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE github_votes SET closed = true WHERE owner = $1 AND NOT closed`, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("github: delete installation %d of %s: %w", id, owner, err)
	}
	return nil
}

func (s PostgresState) InstallationDeleted(ctx context.Context, id int64) (bool, error) {
	var deleted bool
	if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM github_deleted_installations WHERE installation_id = $1)`, id).Scan(&deleted); err != nil {
		return false, fmt.Errorf("github: installation %d: %w", id, err)
	}
	return deleted, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
