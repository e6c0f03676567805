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
// An event that a projector cannot apply (its Project fails, or its statements fail on the
// event's data, or the event cannot be decoded) does not stop the runner: the batch is
// applied again projector by projector, each in a savepoint, and the failing projector's
// events one by one, so that only that projector skips only that event. The failure is
// logged and recorded in projection_failures; every other projector, and the failing one for
// every other event, goes on as before. Failures of the database itself (a lost connection,
// a missing table) still stop the runner, or are retried when they are transient.
//
// Throughput comes from writing sets of rows instead of events: projectors write
// high-volume events as rows of set-based statements (Queue.Row) or COPY (Queue.Copy), and
// the busiest fold a batch's events per row first (BatchProjector), so that a batch of
// thousands of events costs a few dozen statement executions. CatchUp also reads, decodes
// and projects the next batch while the current one is written (see readPages), and batch
// transactions commit without waiting for the WAL flush (see apply). Replay drops the
// tables' secondary indexes while it refills them and builds each once at the end.
package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
)

// Envelope is one event as a projector sees it: the stored record and its decoded form.
// Event is a *domain.UnknownEvent for types this build does not know; projectors ignore those.
type Envelope struct {
	eventstore.RecordedEvent
	Event domain.Event
	// undecodable is why a known type's payload could not be read; projectors never see
	// such an event, each records it as a failure.
	undecodable error
}

// Projector folds events into the tables it owns.
type Projector interface {
	// Name identifies the projector's checkpoint; changing it rebuilds the projector.
	Name() string
	// Tables lists the tables the projector owns; Replay empties them.
	Tables() []string
	// Project queues the writes for one event. Events arrive in log order, each exactly once
	// per committed batch. An error, or queued statements that fail on the event's data,
	// make the runner skip the event for this projector alone and record the failure.
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
	if err := restoreIndexes(ctx, r.pool); err != nil {
		return err
	}
	from, err := r.Checkpoint(ctx)
	if err != nil {
		return err
	}
	r.log.Info("projections starting", "from", from.String(), "projectors", len(r.projectors))
	return r.store.Subscribe(ctx, from, func(ctx context.Context, evs []eventstore.RecordedEvent) error {
		for len(evs) > 0 {
			n := min(len(evs), r.batch)
			envs := decode(evs[:n])
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
	if err := restoreIndexes(ctx, r.pool); err != nil {
		return 0, err
	}
	return r.catchUp(ctx, progress)
}

// catchUp is CatchUp without building the indexes a replay dropped.
func (r *Runner) catchUp(ctx context.Context, progress func(applied int)) (int, error) {
	cps, err := r.checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan page, 1)
	go r.readPages(ctx, cps, pages)
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
		if err := r.applyPrepared(ctx, p.envs, p.prepared); err != nil {
			return total, err
		}
		total += len(p.envs)
		if progress != nil {
			progress(total)
		}
	}
	return total, nil
}

// page is one batch read and decoded by readPages, with the projectors' writes for it, or
// the error that ended the reading.
type page struct {
	envs     []Envelope
	prepared []prepared // by projector
	err      error
}

// prepared is a projector's writes for the last n decodable events of a page, queued by
// readPages while the page before is written. They are the projector's writes for the batch
// when its checkpoint leaves it those n events, as it does unless another runner moved it.
type prepared struct {
	n int
	q *projectorQueue // nil when none were prepared
}

// readPages sends the decoded batches of the log after the slowest of the checkpoints cps
// until the end of the log as it stands (waiting for events an open transaction holds back),
// an error occurs or ctx ends, then closes pages.
//
// Each page comes with the projectors' writes for it, as they will be once the pages before
// it are applied: projecting a batch costs about as much CPU as sending it, and the reader
// does it while the writer waits for Postgres.
func (r *Runner) readPages(ctx context.Context, cps map[string]eventstore.Position, pages chan<- page) {
	defer close(pages)
	from := minPosition(r.projectors, cps)
	for {
		evs, err := eventstore.ReadAllSettled(ctx, r.store, from, r.batch)
		var envs []Envelope
		if err != nil {
			err = fmt.Errorf("read log after %s: %w", from, err)
		} else if len(evs) == 0 {
			return
		} else {
			envs = decode(evs)
			from = evs[len(evs)-1].Position
		}
		var ready []prepared
		if err == nil {
			ready = r.prepare(envs, cps)
		}
		select {
		case pages <- page{envs: envs, prepared: ready, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// prepare projects envs for each projector from its checkpoint in cps, and moves cps past
// envs, as applying them moves the checkpoints. A projector that fails is left to
// applyPrepared, which projects again and handles the failure.
func (r *Runner) prepare(envs []Envelope, cps map[string]eventstore.Position) []prepared {
	out := make([]prepared, len(r.projectors))
	last := envs[len(envs)-1].Position
	for i, p := range r.projectors {
		evs, _ := unseen(envs, cps[p.Name()])
		if len(evs) > 0 {
			if q, err := project(p, evs); err == nil {
				out[i] = prepared{n: len(evs), q: q}
			}
		}
		if cps[p.Name()].Less(last) {
			cps[p.Name()] = last
		}
	}
	return out
}

// decode unmarshals a batch of stored events. A known type whose payload cannot be read (a
// corrupt log entry) is kept with the reason, for the projectors to record as a failure.
func decode(evs []eventstore.RecordedEvent) []Envelope {
	envs := make([]Envelope, len(evs))
	for i, ev := range evs {
		envs[i] = Envelope{RecordedEvent: ev}
		de, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			envs[i].undecodable = fmt.Errorf("decode: %w", err)
			continue
		}
		envs[i].Event = de
	}
	return envs
}

// Replay empties every projector's tables and checkpoint in one transaction and rebuilds
// them from position zero. Events a projector cannot apply are skipped and recorded again
// (see Failures); they never end the rebuild.
//
// The tables' secondary indexes are dropped with the TRUNCATE and built once at the end (see
// dropSecondaryIndexes), also when the rebuild fails; one that a crash leaves dropped is
// built by the next CatchUp or Run.
func (r *Runner) Replay(ctx context.Context, progress func(applied int)) (int, error) {
	if err := r.reset(ctx, true); err != nil {
		return 0, err
	}
	n, err := r.catchUp(ctx, progress)
	// Even when ctx has ended: the tables are not to be left without their indexes.
	if rerr := restoreIndexes(context.WithoutCancel(ctx), r.pool); rerr != nil {
		return n, errors.Join(err, rerr)
	}
	return n, err
}

// Reset empties every projector's tables, checkpoint and recorded failures.
func (r *Runner) Reset(ctx context.Context) error {
	return r.reset(ctx, false)
}

// reset is Reset, dropping the tables' secondary indexes as well when dropIndexes is set.
func (r *Runner) reset(ctx context.Context, dropIndexes bool) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if dropIndexes {
			var tables []string
			for _, p := range r.projectors {
				tables = append(tables, p.Tables()...)
			}
			if err := dropSecondaryIndexes(ctx, tx, tables); err != nil {
				return fmt.Errorf("reset: %w", err)
			}
		}
		for _, p := range r.projectors {
			for _, t := range p.Tables() {
				if _, err := tx.Exec(ctx, "TRUNCATE "+pgx.Identifier{t}.Sanitize()); err != nil {
					return fmt.Errorf("reset %s: truncate %s: %w", p.Name(), t, err)
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM projection_checkpoints WHERE name = $1`, p.Name()); err != nil {
				return fmt.Errorf("reset %s: checkpoint: %w", p.Name(), err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM projection_failures WHERE projector = $1`, p.Name()); err != nil {
				return fmt.Errorf("reset %s: failures: %w", p.Name(), err)
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

// eventFault reports whether a failed write can be the fault of the events written rather
// than of the database: a projector's own error, or Postgres refusing the data (data
// exceptions such as a bad cast or a division by zero, and integrity constraint
// violations). Only such a failure is pinned on an event and skipped; any other (a missing
// table, bad SQL) would fail every event the same way, and stops the runner instead.
func eventFault(err error) bool {
	if errors.Is(err, errProjector) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23":
		return true
	}
	return false
}

// apply writes one batch: every projector's statements for the events it has not seen yet,
// and its checkpoint, in a single transaction. When the batch fails because of an event (see
// eventFault), it is applied again with each failing event skipped by the projectors that
// cannot apply it (applyIsolated).
func (r *Runner) apply(ctx context.Context, envs []Envelope) error {
	return r.applyPrepared(ctx, envs, nil)
}

// applyPrepared is apply with the projectors' writes that readPages prepared, if any.
func (r *Runner) applyPrepared(ctx context.Context, envs []Envelope, ready []prepared) error {
	err := r.applyTogether(ctx, envs, ready)
	if err == nil || ctx.Err() != nil || !eventFault(err) {
		return err
	}
	r.log.Warn("projection batch failed; applying it again projector by projector", "from", envs[0].Position.String(),
		"to", envs[len(envs)-1].Position.String(), "err", err)
	return r.applyIsolated(ctx, envs)
}

// batchTx begins a batch's transaction: it takes the runners' lock and reads the
// checkpoints.
//
// The transaction commits with synchronous_commit off: it does not wait for its WAL to reach
// the disk. A server crash can then lose the last batches committed, but only whole, with
// their checkpoints (rows and checkpoint are in the same transaction), so the runner simply
// applies them again; the event store's own transactions keep their durability.
func batchTx(ctx context.Context, tx pgx.Tx, b *pgx.Batch) (map[string]eventstore.Position, error) {
	cps, err := loadCheckpoints(ctx, tx, true)
	if err != nil {
		return nil, err
	}
	// A batch appends no events: it need not hold back the events appended while it writes
	// from the log's readers (the engine's forwarder among them), and says so before its
	// first write takes a transaction id.
	b.Queue(`SELECT set_config('application_name', $1, true)`, postgres.NonAppending)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	// Set-based statements have large row estimates (unnest, jsonb_each) that would make
	// Postgres JIT-compile them, which costs far more than running them.
	b.Queue(`SET LOCAL jit = off`)
	return cps, nil
}

// unseen splits the events of envs after a projector's checkpoint cp into those it
// applies and those that cannot be decoded.
func unseen(envs []Envelope, cp eventstore.Position) (evs, undecodable []Envelope) {
	for len(envs) > 0 && !cp.Less(envs[0].Position) {
		envs = envs[1:]
	}
	if !slices.ContainsFunc(envs, func(env Envelope) bool { return env.undecodable != nil }) {
		return envs, nil // the usual case, without a copy
	}
	for _, env := range envs {
		if env.undecodable != nil {
			undecodable = append(undecodable, env)
		} else {
			evs = append(evs, env)
		}
	}
	return evs, undecodable
}

// project queues p's writes for evs (in log order).
func project(p Projector, evs []Envelope) (*projectorQueue, error) {
	q := &projectorQueue{}
	if len(evs) == 0 {
		return q, nil
	}
	if bp, ok := p.(BatchProjector); ok {
		if err := bp.ProjectBatch(q, evs); err != nil {
			return nil, fmt.Errorf("%w: %s at %s: %v", errProjector, p.Name(), evs[len(evs)-1].Position, err)
		}
		return q, nil
	}
	for _, env := range evs {
		if err := p.Project(q, env); err != nil {
			return nil, fmt.Errorf("%w: %s at %s (%s): %v", errProjector, p.Name(), env.Position, env.Type, err)
		}
	}
	return q, nil
}

const saveCheckpointSQL = `INSERT INTO projection_checkpoints (name, commit_id, seq, updated_at) VALUES ($1, $2, $3, now())
	ON CONFLICT (name) DO UPDATE SET commit_id = EXCLUDED.commit_id, seq = EXCLUDED.seq, updated_at = now()`

const recordFailureSQL = `INSERT INTO projection_failures
		(projector, event_id, event_type, stream, stream_version, commit_id, seq, error, failed_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
	ON CONFLICT (projector, event_id) DO UPDATE SET error = EXCLUDED.error, failed_at = EXCLUDED.failed_at`

// failed logs that projector p skips env and queues its record in projection_failures.
func (r *Runner) failed(b *pgx.Batch, p Projector, env Envelope, err error) {
	r.log.Error("projector skips an event it cannot apply", "projector", p.Name(), "event_id", env.ID.String(),
		"type", env.Type, "stream", env.Stream, "version", env.Version, "position", env.Position.String(), "err", err)
	b.Queue(recordFailureSQL, p.Name(), pgtype.UUID{Bytes: env.ID, Valid: true}, env.Type, env.Stream, env.Version,
		int64(env.Position.Commit), env.Position.Seq, failureText(err))
}

// failureText is err's text as Postgres text accepts it (valid UTF-8 without NUL), so that
// recording a failure cannot fail on the failure's own message.
func failureText(err error) string {
	return strings.ToValidUTF8(strings.ReplaceAll(err.Error(), "\x00", ""), "\uFFFD")
}

// applyTogether writes the batch in one round trip: every projector's statements pipelined
// in one batch, then the COPYs. A projector's prepared writes (ready) are used when they are
// for the events it has not seen.
func (r *Runner) applyTogether(ctx context.Context, envs []Envelope, ready []prepared) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		cps, err := batchTx(ctx, tx, b)
		if err != nil {
			return err
		}
		last := envs[len(envs)-1].Position
		queues := make([]*projectorQueue, 0, len(r.projectors))
		for i, p := range r.projectors {
			evs, undecodable := unseen(envs, cps[p.Name()])
			if len(evs) == 0 && len(undecodable) == 0 {
				continue
			}
			var q *projectorQueue
			if i < len(ready) && ready[i].q != nil && ready[i].n == len(evs) {
				// Both are the last len(evs) decodable events of envs.
				q = ready[i].q
			} else if q, err = project(p, evs); err != nil {
				return err
			}
			if err := q.writeTo(b); err != nil {
				return fmt.Errorf("%w: %s: %v", errProjector, p.Name(), err)
			}
			queues = append(queues, q)
			for _, env := range undecodable {
				r.failed(b, p, env, env.undecodable)
			}
			b.Queue(saveCheckpointSQL, p.Name(), int64(last.Commit), last.Seq)
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

// applyIsolated writes the batch in one transaction as applyTogether does, but each
// projector's writes in a savepoint of their own; when a projector's writes fail because
// of an event, they are written again event by event, each in a savepoint, and the events
// that fail are skipped and recorded. Errors that are not an event's fault end the batch.
func (r *Runner) applyIsolated(ctx context.Context, envs []Envelope) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		cps, err := batchTx(ctx, tx, b)
		if err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		last := envs[len(envs)-1].Position
		for _, p := range r.projectors {
			evs, undecodable := unseen(envs, cps[p.Name()])
			if len(evs) == 0 && len(undecodable) == 0 {
				continue
			}
			b := &pgx.Batch{}
			for _, env := range undecodable {
				r.failed(b, p, env, env.undecodable)
			}
			err := writeInSavepoint(ctx, tx, p, evs)
			if err != nil && !eventFault(err) {
				return err
			}
			for i := 0; err != nil && i < len(evs); i++ {
				if err := writeInSavepoint(ctx, tx, p, evs[i:i+1]); err != nil {
					if !eventFault(err) {
						return err
					}
					r.failed(b, p, evs[i], err)
				}
			}
			b.Queue(saveCheckpointSQL, p.Name(), int64(last.Commit), last.Seq)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("%s: record failures and checkpoint at %s: %w", p.Name(), last, err)
			}
		}
		if r.afterBatch != nil {
			return r.afterBatch(ctx, len(envs))
		}
		return nil
	})
}

// writeInSavepoint writes p's writes for evs in a savepoint of tx, which is rolled back when
// they fail.
func writeInSavepoint(ctx context.Context, tx pgx.Tx, p Projector, evs []Envelope) error {
	q, err := project(p, evs)
	if err != nil {
		return err
	}
	if len(q.items) == 0 && len(q.order) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		b := &pgx.Batch{}
		if err := q.writeTo(b); err != nil {
			return fmt.Errorf("%w: %s: %v", errProjector, p.Name(), err)
		}
		if err := sp.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		if err := q.copyTo(ctx, sp); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		return nil
	})
}

// Failure is an event a projector skipped because it could not apply it.
type Failure struct {
	Projector string
	EventID   uuid.UUID
	Type      string
	Stream    string
	Version   int64
	Position  eventstore.Position
	Error     string
	FailedAt  time.Time
}

// Failures lists the events the runner's projectors skipped, in log order (and by
// projector), as recorded since their last reset.
func (r *Runner) Failures(ctx context.Context) ([]Failure, error) {
	names := make([]string, len(r.projectors))
	for i, p := range r.projectors {
		names[i] = p.Name()
	}
	rows, _ := r.pool.Query(ctx, `SELECT projector, event_id, event_type, stream, stream_version, commit_id, seq, error, failed_at
		FROM projection_failures WHERE projector = ANY($1) ORDER BY commit_id, seq, projector`, names)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Failure, error) {
		var f Failure
		var commit int64
		err := row.Scan(&f.Projector, &f.EventID, &f.Type, &f.Stream, &f.Version, &commit, &f.Position.Seq, &f.Error, &f.FailedAt)
		f.Position.Commit = uint64(commit)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("read projection failures: %w", err)
	}
	return out, nil
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
