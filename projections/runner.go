// Package projections folds the global event log into Postgres read models (the tables the
// GraphQL API and the CLI read). Tables are caches of the log: they can be dropped and rebuilt
// from position zero at any time with Replay.
//
// Each projector owns a set of tables and a checkpoint, and reads nothing but its own tables.
// The runner reads the log in batches and writes one batch per transaction, with every
// projector's statements pipelined in one round trip (plus one COPY per append-only table)
// and each projector's checkpoint updated in that same transaction, so a crash anywhere
// leaves rows and checkpoint in agreement: the batch is either all there or not at all, and
// the next start resumes after the last committed batch.
//
// Throughput comes from writing sets of rows instead of events: projectors write
// high-volume events as rows of set-based statements (Queue.Row) or COPY (Queue.Copy), and
// the busiest fold a batch's events per row first (BatchProjector), so that a batch of
// thousands of events costs a few dozen statement executions. CatchUp also reads and decodes
// the next batch while the current one is written, and batch transactions commit without
// waiting for the WAL flush (see apply).
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// BatchProjector is a Projector that can fold a whole batch before it writes, for instance
// to write each row once per batch however many of the batch's events change it. The runner
// calls ProjectBatch, with the events of the batch the projector has not seen yet (in log
// order), instead of calling Project for each. Project(q, ev) must have the effect of
// ProjectBatch(q, []Envelope{ev}), so that batches of any size give the same tables.
type BatchProjector interface {
	Projector
	ProjectBatch(q Queue, evs []Envelope) error
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

// DefaultBatch is the number of events per transaction when NewRunner is given none. Larger
// batches replay faster (each statement writes more rows) up to a few thousand events; but a
// batch transaction holds a transaction id while it writes, and the Postgres event store
// holds back events appended meanwhile from every subscriber until it ends.
const DefaultBatch = 2000

// NewRunner returns a runner for projectors over store, writing to pool. batch bounds the
// number of events per transaction (<= 0: DefaultBatch).
func NewRunner(store eventstore.Store, pool *pgxpool.Pool, batch int, logger *slog.Logger, projectors ...Projector) *Runner {
	if batch <= 0 {
		batch = DefaultBatch
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
			envs, err := decode(evs[:n])
			if err != nil {
				return err
			}
			if err := r.applyWithRetry(ctx, envs); err != nil {
				return err
			}
			evs = evs[n:]
		}
		return nil
	})
}

// CatchUp applies every event committed so far and returns the number applied. progress,
// when not nil, is called after each batch with the running count. The next batch is read
// and decoded while the current one is written.
//
// "Committed so far" is what the store's ReadAll returns: the Postgres store holds back
// events while an older transaction of the server is still open, so CatchUp may stop short
// of an event committed just before it was called.
func (r *Runner) CatchUp(ctx context.Context, progress func(applied int)) (int, error) {
	from, err := r.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan page, 1)
	go r.readPages(ctx, from, pages)
	defer func() {
		cancel()
		for range pages { // let the reader end
		}
	}()
	total := 0
	for p := range pages {
		if p.err != nil {
			return total, p.err
		}
		if err := r.apply(ctx, p.envs); err != nil {
			return total, err
		}
		total += len(p.envs)
		if progress != nil {
			progress(total)
		}
	}
	return total, nil
}

// page is one batch read and decoded by readPages, or the error that ended the reading.
type page struct {
	envs []Envelope
	err  error
}

// readPages sends the decoded batches of the log after from until the end of the log as it
// stands (waiting for events an open transaction holds back), an error occurs or ctx ends,
// then closes pages.
func (r *Runner) readPages(ctx context.Context, from eventstore.Position, pages chan<- page) {
	defer close(pages)
	for {
		evs, err := eventstore.ReadAllSettled(ctx, r.store, from, r.batch)
		var envs []Envelope
		if err != nil {
			err = fmt.Errorf("read log after %s: %w", from, err)
		} else if len(evs) == 0 {
			return
		} else {
			envs, err = decode(evs)
			from = evs[len(evs)-1].Position
		}
		select {
		case pages <- page{envs: envs, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// decode unmarshals a batch of stored events.
func decode(evs []eventstore.RecordedEvent) ([]Envelope, error) {
	envs := make([]Envelope, len(evs))
	for i, ev := range evs {
		de, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			// A known type whose payload cannot be read is a corrupt log entry; stopping is
			// the only way not to build tables that silently disagree with the log.
			return nil, fmt.Errorf("%w: decode event %s (%s) at %s: %v", errProjector, ev.ID, ev.Type, ev.Position, err)
		}
		envs[i] = Envelope{RecordedEvent: ev, Event: de}
	}
	return envs, nil
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

func (r *Runner) applyWithRetry(ctx context.Context, evs []Envelope) error {
	backoff := 100 * time.Millisecond
	for {
		err := r.apply(ctx, evs)
		if err == nil || ctx.Err() != nil || !transient(err) {
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

// transient reports whether a failed batch may succeed when tried again: Postgres errors
// of connection, transaction rollback (serialization failure, deadlock), insufficient
// resources and operator intervention (shutdown), and errors that are not from Postgres
// (a broken network). A projector's error and any other Postgres error (bad SQL, a
// constraint violated by a projector's statements) would fail again the same way.
func transient(err error) bool {
	if errors.Is(err, errProjector) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	if len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "08", "40", "53", "57":
		return true
	}
	return false
}

// apply writes one batch: every projector's statements for the events it has not seen yet,
// and its checkpoint, in a single transaction.
//
// The transaction commits with synchronous_commit off: it does not wait for its WAL to reach
// the disk. A server crash can then lose the last batches committed, but only whole, with
// their checkpoints (rows and checkpoint are in the same transaction), so the runner simply
// applies them again; the event store's own transactions keep their durability.
func (r *Runner) apply(ctx context.Context, envs []Envelope) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		cps, err := loadCheckpoints(ctx, tx, true)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL synchronous_commit = off`)
		// Set-based statements have large row estimates (unnest, jsonb_each) that would make
		// Postgres JIT-compile them, which costs far more than running them.
		b.Queue(`SET LOCAL jit = off`)
		last := envs[len(envs)-1].Position
		queues := make([]*projectorQueue, 0, len(r.projectors))
		for _, p := range r.projectors {
			cp := cps[p.Name()]
			// Skip what this projector already has (it was ahead of the others).
			unseen := envs
			for len(unseen) > 0 && !cp.Less(unseen[0].Position) {
				unseen = unseen[1:]
			}
			if len(unseen) == 0 {
				continue
			}
			q := &projectorQueue{}
			if bp, ok := p.(BatchProjector); ok {
				if err := bp.ProjectBatch(q, unseen); err != nil {
					return fmt.Errorf("%w: %s at %s: %v", errProjector, p.Name(), last, err)
				}
			} else {
				for _, env := range unseen {
					if err := p.Project(q, env); err != nil {
						return fmt.Errorf("%w: %s at %s (%s): %v", errProjector, p.Name(), env.Position, env.Type, err)
					}
				}
			}
			if err := q.writeTo(b); err != nil {
				return fmt.Errorf("%w: %s: %v", errProjector, p.Name(), err)
			}
			queues = append(queues, q)
			b.Queue(`INSERT INTO projection_checkpoints (name, commit_id, seq, updated_at) VALUES ($1, $2, $3, now())
				ON CONFLICT (name) DO UPDATE SET commit_id = EXCLUDED.commit_id, seq = EXCLUDED.seq, updated_at = now()`,
				p.Name(), int64(last.Commit), last.Seq)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("write projections at %s: %w", last, err)
		}
		for _, q := range queues {
			if err := q.copyTo(ctx, tx); err != nil {
				return fmt.Errorf("write projections at %s: %w", last, err)
			}
		}
		if r.afterBatch != nil {
			return r.afterBatch(ctx, len(envs))
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
