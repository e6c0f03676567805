package engine

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the engine's tables.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "engine_schema_migrations", migrations, "migrations")
	return err
}

// PostgresCheckpoints keeps named log positions in Postgres.
type PostgresCheckpoints struct{ Pool *pgxpool.Pool }

// Load returns the saved position (eventstore.Start when none is saved).
func (p PostgresCheckpoints) Load(ctx context.Context, name string) (eventstore.Position, error) {
	var commit, seq int64
	err := p.Pool.QueryRow(ctx, `SELECT commit_id, seq FROM engine_checkpoints WHERE name = $1`, name).Scan(&commit, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("load checkpoint %s: %w", name, err)
	}
	return eventstore.Position{Commit: uint64(commit), Seq: seq}, nil
}

// Save stores the position.
func (p PostgresCheckpoints) Save(ctx context.Context, name string, pos eventstore.Position) error {
	_, err := p.Pool.Exec(ctx, `INSERT INTO engine_checkpoints (name, commit_id, seq, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (name) DO UPDATE SET commit_id = EXCLUDED.commit_id, seq = EXCLUDED.seq, updated_at = now()`,
		name, int64(pos.Commit), pos.Seq)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// RunAsLeader runs fn while this process holds the Postgres advisory lock named name, so
// that among several engine processes on one database exactly one runs fn at a time. It
// waits for the lock, retrying every retry, until ctx ends; when the lock's connection is
// lost, fn's context is cancelled and the wait starts again.
func RunAsLeader(ctx context.Context, pool *pgxpool.Pool, name string, retry time.Duration, fn func(ctx context.Context) error) error {
	h := fnv.New64a()
	h.Write([]byte("policykit-leader:" + name))
	key := int64(h.Sum64() >> 1)
	for {
		err := leadOnce(ctx, pool, key, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, errNotLeader) && !errors.Is(err, errLostLead) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

var (
	errNotLeader = errors.New("not the leader")
	// errLostLead: the lock's connection stopped answering (the database restarted, or the
	// network between them broke), so another process may lead now; the lead is tried for
	// again rather than given up for good.
	errLostLead = errors.New("lost the leader lock's connection")
)

func leadOnce(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(ctx context.Context) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return errNotLeader // the database is away; try again later
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		return errNotLeader
	}
	leadCtx, cancel := context.WithCancel(ctx)
	var lost atomic.Bool
	pinged := make(chan struct{})
	go func() { // lose the lock's connection, lose the lead
		defer close(pinged)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-t.C:
				if err := conn.Ping(leadCtx); err != nil {
					lost.Store(leadCtx.Err() == nil)
					cancel()
					return
				}
			}
		}
	}()
	defer func() {
		cancel()
		<-pinged // the connection is the pinger's until it stops
		unlockCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		if _, err := conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(unlockCtx) // closing the session releases the lock
		}
	}()
	err = fn(leadCtx)
	if lost.Load() && ctx.Err() == nil {
		return fmt.Errorf("%w (%v)", errLostLead, err)
	}
	return err
}
