// Package projections folds the global event log into Postgres read models (the tables the
// GraphQL API and the CLI read). Tables are caches of the log: they can be dropped and rebuilt
// from position zero at any time with Replay.
//
// Each projector owns a set of tables and a checkpoint. The runner reads the log in batches
// and writes one batch per transaction, with every projector's statements pipelined in one
// round trip and each projector's checkpoint updated in that same transaction, so a crash
// anywhere leaves rows and checkpoint in agreement: the batch is either all there or not at
// all, and the next start resumes after the last committed batch.
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// Envelope is one event as a projector sees it: the stored record and its decoded form.
// Event is a *domain.UnknownEvent for types this build does not know; projectors ignore those.
type Envelope struct {
	eventstore.RecordedEvent
	Event domain.Event
}

// Queue collects a projector's writes for one batch. Projectors only write: statements are
// pipelined and run in order in the batch's transaction, so a read issued by a projector would
// not see the batch's own earlier writes. Write SQL that is correct when replayed in order
// (upserts, updates keyed by id).
type Queue interface {
	Queue(sql string, args ...any)
}

// Projector folds events into the tables it owns.
type Projector interface {
	// Name identifies the projector's checkpoint; changing it rebuilds the projector.
	Name() string
	// Tables lists the tables the projector owns; Replay empties them.
	Tables() []string
	// Project queues the writes for one event. Events arrive in log order, each exactly once
	// per committed batch.
	Project(q Queue, ev Envelope) error
}

// Runner keeps a set of projectors caught up with the log.
type Runner struct {
	store      eventstore.Store
	pool       *pgxpool.Pool
	projectors []Projector
	batch      int
	log        *slog.Logger
	// afterBatch, when set (tests), runs inside the batch transaction after the projectors'
	// writes and before the commit; an error aborts the batch as a crash would.
	afterBatch func(ctx context.Context, n int) error
}

// NewRunner returns a runner for projectors over store, writing to pool. batch bounds the
// number of events per transaction.
func NewRunner(store eventstore.Store, pool *pgxpool.Pool, batch int, logger *slog.Logger, projectors ...Projector) *Runner {
	if batch <= 0 {
		batch = 500
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, pool: pool, projectors: projectors, batch: batch, log: logger}
}

// Projectors returns the runner's projectors.
func (r *Runner) Projectors() []Projector { return r.projectors }

// Checkpoint returns the position after which the slowest projector resumes.
func (r *Runner) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	cps, err := r.checkpoints(ctx)
	if err != nil {
		return eventstore.Position{}, err
	}
	return minPosition(r.projectors, cps), nil
}

// Run follows the log from the slowest projector's checkpoint until ctx ends, first catching
// up, then live. It returns ctx's error on shutdown.
func (r *Runner) Run(ctx context.Context) error {
	from, err := r.Checkpoint(ctx)
	if err != nil {
		return err
	}
	r.log.Info("projections starting", "from", from.String(), "projectors", len(r.projectors))
	return r.store.Subscribe(ctx, from, func(ctx context.Context, evs []eventstore.RecordedEvent) error {
		for len(evs) > 0 {
			n := min(len(evs), r.batch)
			if err := r.applyWithRetry(ctx, evs[:n]); err != nil {
				return err
			}
			evs = evs[n:]
		}
		return nil
	})
}

// CatchUp applies every event committed so far and returns the number applied. progress,
// when not nil, is called after each batch with the running count.
func (r *Runner) CatchUp(ctx context.Context, progress func(applied int)) (int, error) {
	from, err := r.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		evs, err := r.store.ReadAll(ctx, from, r.batch)
		if err != nil {
			return total, fmt.Errorf("read log after %s: %w", from, err)
		}
		if len(evs) == 0 {
			return total, nil
		}
		if err := r.apply(ctx, evs); err != nil {
			return total, err
		}
		total += len(evs)
		from = evs[len(evs)-1].Position
		if progress != nil {
			progress(total)
		}
	}
}

// Replay empties every projector's tables and checkpoint in one transaction and rebuilds
// them from position zero.
func (r *Runner) Replay(ctx context.Context, progress func(applied int)) (int, error) {
	if err := r.Reset(ctx); err != nil {
		return 0, err
	}
	return r.CatchUp(ctx, progress)
}

// Reset empties every projector's tables and checkpoint.
func (r *Runner) Reset(ctx context.Context) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		for _, p := range r.projectors {
			for _, t := range p.Tables() {
				if _, err := tx.Exec(ctx, "TRUNCATE "+pgx.Identifier{t}.Sanitize()); err != nil {
					return fmt.Errorf("reset %s: truncate %s: %w", p.Name(), t, err)
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM projection_checkpoints WHERE name = $1`, p.Name()); err != nil {
				return fmt.Errorf("reset %s: checkpoint: %w", p.Name(), err)
			}
		}
		return nil
	})
}

func (r *Runner) applyWithRetry(ctx context.Context, evs []eventstore.RecordedEvent) error {
	backoff := 100 * time.Millisecond
	for {
		err := r.apply(ctx, evs)
		if err == nil || ctx.Err() != nil || errors.Is(err, errProjector) {
			return err
		}
		// A lost connection or a serialization failure: the batch rolled back whole, so
		// trying the same batch again is safe.
		r.log.Warn("projection batch failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

var errProjector = errors.New("projector failed")

// apply writes one batch: every projector's statements for the events it has not seen yet,
// and its checkpoint, in a single transaction.
func (r *Runner) apply(ctx context.Context, evs []eventstore.RecordedEvent) error {
	envs := make([]Envelope, len(evs))
	for i, ev := range evs {
		de, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			// A known type whose payload cannot be read is a corrupt log entry; stopping is
			// the only way not to build tables that silently disagree with the log.
			return fmt.Errorf("%w: decode event %s (%s) at %s: %v", errProjector, ev.ID, ev.Type, ev.Position, err)
		}
		envs[i] = Envelope{RecordedEvent: ev, Event: de}
	}
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		cps, err := loadCheckpoints(ctx, tx, true)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		q := batchQueue{b}
		last := evs[len(evs)-1].Position
		for _, p := range r.projectors {
			cp := cps[p.Name()]
			touched := false
			for _, env := range envs {
				if !cp.Less(env.Position) {
					continue // this projector already has it (it was ahead of the others)
				}
				if err := p.Project(q, env); err != nil {
					return fmt.Errorf("%w: %s at %s (%s): %v", errProjector, p.Name(), env.Position, env.Type, err)
				}
				touched = true
			}
			if touched {
				b.Queue(`INSERT INTO projection_checkpoints (name, commit_id, seq, updated_at) VALUES ($1, $2, $3, now())
					ON CONFLICT (name) DO UPDATE SET commit_id = EXCLUDED.commit_id, seq = EXCLUDED.seq, updated_at = now()`,
					p.Name(), int64(last.Commit), last.Seq)
			}
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("write projections at %s: %w", last, err)
			}
		}
		if r.afterBatch != nil {
			return r.afterBatch(ctx, len(evs))
		}
		return nil
	})
}

func (r *Runner) checkpoints(ctx context.Context) (map[string]eventstore.Position, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer conn.Release()
	return loadCheckpoints(ctx, conn, false)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadCheckpoints reads every checkpoint; lock serialises concurrent runners on one database
// so that two processes never apply the same batch twice.
func loadCheckpoints(ctx context.Context, q querier, lock bool) (map[string]eventstore.Position, error) {
	if lock {
		rows, err := q.Query(ctx, `SELECT pg_advisory_xact_lock(7262211)`)
		if err != nil {
			return nil, fmt.Errorf("lock projections: %w", err)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock projections: %w", err)
		}
	}
	rows, err := q.Query(ctx, `SELECT name, commit_id, seq FROM projection_checkpoints`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	cps := map[string]eventstore.Position{}
	for rows.Next() {
		var name string
		var commit, seq int64
		if err := rows.Scan(&name, &commit, &seq); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		cps[name] = eventstore.Position{Commit: uint64(commit), Seq: seq}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return cps, nil
}

func minPosition(ps []Projector, cps map[string]eventstore.Position) eventstore.Position {
	var out eventstore.Position
	for i, p := range ps {
		cp := cps[p.Name()]
		if i == 0 || cp.Less(out) {
			out = cp
		}
	}
	return out
}

// batchQueue adapts a pgx.Batch to Queue.
type batchQueue struct{ b *pgx.Batch }

func (q batchQueue) Queue(sql string, args ...any) { q.b.Queue(sql, args...) }
