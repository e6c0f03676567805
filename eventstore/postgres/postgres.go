// Package postgres is the Postgres backend of eventstore.Store (Postgres 13 or newer).
//
// # Schema
//
// Migrate creates the table events and the functions eventstore_append and
// eventstore_version_mismatch. An append that expects no stream or an exact version (nearly
// all of them) is one INSERT in autocommit mode, checked by the unique indexes of events (see
// fastpath.go). Any other append, and one that this INSERT rejects, is one call of
// eventstore_append: it takes the stream's advisory lock, checks idempotency and the expected
// version and inserts the batch, or tells a duplicate from a conflict.
//
// # Notifications
//
// Subscribers wake on notifications of the channel policykit_events (NotifyChannel). The
// simplest way is a NOTIFY inside the appending transaction, delivered at commit, but
// Postgres serializes the commits of all notifying transactions of the cluster:
// PreCommit_Notify takes a global lock that is held through the commit's WAL flush, so
// concurrent notifying appends cannot share flushes and writers stop scaling. So Append
// notifies inside its transaction only when no other Append of the same Store is in flight;
// otherwise it leaves the NOTIFY to a background notifier that sends one right after the
// commit, coalescing bursts. Either way every append is followed by a NOTIFY that is
// delivered after its commit, and Append itself takes one round trip.
// WithNotifyInTransaction makes every append notify inside its transaction. SQL callers of
// eventstore_append notify at commit by default (its p_notify parameter).
//
// # Global order without gaps
//
// global_position is a bigserial, assigned when a row is inserted. Transactions commit in
// another order than they draw numbers, so a reader that pages by global_position alone can
// pass over a row that commits later with a lower number, and never see it. This package
// instead orders the global log by (transaction_id, global_position), where transaction_id is
// the appending transaction's xid8, and ReadAll returns only rows whose transaction_id is
// below the xmin of the reading statement's snapshot. Every transaction below xmin has ended,
// so that prefix of the order is final: a row can neither appear in it later nor move. A
// reader that pages with the Position of the last row it got never skips and never repeats
// an event. The price is latency: while any transaction of the Postgres cluster that holds a
// transaction id stays open (in any database), newer events are held back until it ends.
//
// Transactions that never append events need not hold the log back, and the longest ones
// here never do: the read models' batches, which write thousands of rows while events are
// appended beside them. Such a transaction says so by setting its application_name to
// NonAppending (SET LOCAL, first thing), and readers leave the transaction ids of sessions
// that show that name out of the snapshot's xmin. A transaction that shows the name must
// never append an event: a reader could pass over its rows.
//
// Positions are Position{Commit: transaction_id, Seq: global_position}.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
)

// NotifyChannel is the channel subscribers LISTEN on. Appends notify it with an empty payload;
// see the package documentation.
const NotifyChannel = "policykit_events"

// SQLSTATEs raised by eventstore_append.
const (
	codeConcurrency = "PK001" // the stream does not match the expected version
	codeIdempotency = "PK002" // the batch's first id was appended before, with other events
	codeNoEvents    = "PK003" // an empty batch

	codeUniqueViolation = "23505"
)

const (
	defaultPollInterval = time.Second
	defaultBatchSize    = 500
	minRetryDelay       = 10 * time.Millisecond
	maxRetryDelay       = 5 * time.Second
	// maxHeldDelay caps the polling interval while committed events are held back by an open
	// transaction (ours or any other of the cluster), which usually ends within milliseconds.
	// Events held back by an open transaction are usually released within milliseconds
	// (transactions here are short), so look again soon.
	minHeldDelay = time.Millisecond
	maxHeldDelay = 50 * time.Millisecond
)

var (
	_ eventstore.Store      = (*Store)(nil)
	_ eventstore.HeldReader = (*Store)(nil)
)

// Store is the Postgres event store. It is safe for concurrent use. Create it with New on a
// database that Migrate has brought up to date.
type Store struct {
	pool         *pgxpool.Pool
	pollInterval time.Duration
	batchSize    int
	logger       *slog.Logger

	notifyInTx bool // always notify inside the appending transaction
	notifier   *notifier
	inflight   atomic.Int64 // appends in flight

	// afterDrain, when set (by tests), runs each time Subscribe has read all it can read.
	afterDrain func(eventstore.Position)
}

// Option configures a Store.
type Option func(*Store)

// WithPollInterval sets how often a live subscription reads the log when no notification
// woke it (default 1s). Polling is the safety net for events that become readable without a
// notification of their own, when an unrelated transaction that held back the snapshot's
// xmin ends. Values <= 0 are ignored.
func WithPollInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.pollInterval = d
		}
	}
}

// WithBatchSize sets the largest batch Subscribe reads and hands to its handler (default
// 500). Values <= 0 are ignored.
func WithBatchSize(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.batchSize = n
		}
	}
}

// WithLogger sets the logger for problems the store recovers from by itself: a subscription's
// failed read or lost LISTEN connection (Warn), a failed notification (Debug). The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithNotifyInTransaction makes every append NOTIFY inside its own transaction, so that the
// notification is delivered exactly at commit, also when other appends are in flight. This
// costs write throughput with concurrent writers; see the package documentation.
func WithNotifyInTransaction() Option {
	return func(s *Store) { s.notifyInTx = true }
}

// New returns a Store on pool, which must allow one connection per concurrent Append or
// read, plus one per running Subscribe: each Subscribe takes a connection out of the pool
// (pgxpool's Hijack, so the pool may open a replacement) to LISTEN on, and closes it when it
// returns.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{
		pool:         pool,
		pollInterval: defaultPollInterval,
		batchSize:    defaultBatchSize,
		logger:       slog.Default(),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.notifier = &notifier{pool: pool, logger: s.logger}
	return s
}

const appendSQL = `SELECT next_version, duplicate FROM eventstore_append($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// eventColumns are the columns of events as the append statements take them: one array a
// column, an element an event.
type eventColumns struct {
	ids, causations, correlations []pgtype.UUID
	types                         []string
	schemaVersions                []int32
	datas                         []json.RawMessage
}

func newEventColumns(n int) *eventColumns {
	return &eventColumns{ids: make([]pgtype.UUID, 0, n), causations: make([]pgtype.UUID, 0, n), correlations: make([]pgtype.UUID, 0, n),
		types: make([]string, 0, n), schemaVersions: make([]int32, 0, n), datas: make([]json.RawMessage, 0, n)}
}

func (c *eventColumns) add(e eventstore.EventData) {
	c.ids = append(c.ids, pgUUID(e.ID))
	c.types = append(c.types, e.Type)
	c.schemaVersions = append(c.schemaVersions, schemaVersion(e.SchemaVersion))
	c.datas = append(c.datas, e.Data)
	c.causations = append(c.causations, pgUUID(e.CausationID))
	c.correlations = append(c.correlations, pgUUID(e.CorrelationID))
}

// appendArgs returns the arguments of appendSQL for events that eventstore.PrepareAppend
// accepted. notify makes the function NOTIFY inside the transaction.
func appendArgs(stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData, notify bool) []any {
	c := newEventColumns(len(events))
	for _, e := range events {
		c.add(e)
	}
	return []any{stream, expected.Code(), c.ids, c.types, c.schemaVersions, c.datas, c.causations, c.correlations, notify}
}

// appendPartsArgs are the arguments of fastAppendPartsSQL: the events of every part in the
// parts' order, each with its stream and version, then each part's stream and expected
// version, and whether to notify in the transaction.
func appendPartsArgs(parts []eventstore.StreamAppend, notify bool) []any {
	n := 0
	for _, a := range parts {
		n += len(a.Events)
	}
	c := newEventColumns(n)
	streams := make([]string, 0, n)
	versions := make([]int64, 0, n)
	partStreams := make([]string, len(parts))
	expected := make([]int64, len(parts))
	for i, a := range parts {
		partStreams[i], expected[i] = a.Stream, a.Expected.Code()
		for j, e := range a.Events {
			c.add(e)
			streams = append(streams, a.Stream)
			versions = append(versions, expected[i]+int64(j)+1)
		}
	}
	return []any{c.ids, streams, versions, c.types, c.schemaVersions, c.datas, c.causations, c.correlations, partStreams, expected, notify}
}

func schemaVersion(v int) int32 { return int32(min(v, math.MaxInt32)) }

// pgUUID maps uuid.Nil to SQL NULL.
func pgUUID(id uuid.UUID) pgtype.UUID {
	return pgtype.UUID{Bytes: id, Valid: id != uuid.Nil}
}

// Append adds events to the end of stream atomically, in one round trip when nothing is in
// the way; see eventstore.Store.
//
// Events get versions current+1, current+2, ... in slice order, and increasing global
// positions in the same order. An event whose ID is uuid.Nil gets a fresh random ID (so it
// is not idempotent). Errors wrap:
//   - eventstore.ErrInvalid when eventstore.PrepareAppend rejects the request or Postgres
//     rejects a value (for instance JSON that jsonb cannot hold); nothing is written;
//   - eventstore.ErrConcurrency when the stream does not match expected;
//   - eventstore.ErrIdempotency when some of the ids were appended before but not as this
//     very batch of this stream, or an id is used in another stream.
//
// When every id of the batch is already in the stream, in the same order at consecutive
// versions, Append writes nothing and returns the original result (the version of the
// batch's last event) with Duplicate set, whatever expected is. Errors from Postgres stay in
// the chain, for errors.As with *pgconn.PgError.
//
// An append expecting no stream or an exact version is one INSERT (see fastpath.go); a
// conflict, a duplicate, eventstore.Any and eventstore.StreamExists take a second round trip
// through eventstore_append.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	evs, err := eventstore.PrepareAppend(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	// Alone, notifying at commit is cheapest; with company, it would serialize the commits.
	notifyInTx := s.inflight.Add(1) == 1 || s.notifyInTx
	defer s.inflight.Add(-1)
	res, err := s.append(ctx, stream, expected, evs, notifyInTx)
	if err != nil {
		if !notifyInTx && !isPgError(err) {
			// The outcome is unknown (connection lost, ctx ended): the append may have
			// committed, and a spare notification costs little.
			s.notifier.notify()
		}
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, classify(err))
	}
	if !res.Duplicate && !notifyInTx {
		s.notifier.notify()
	}
	return res, nil
}

// append writes evs through the fast path when expected allows it, and through
// eventstore_append when it does not or when the fast path fails with a Postgres error (which
// wrote nothing). Any other error leaves the outcome unknown and is returned.
func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData, notify bool) (eventstore.AppendResult, error) {
	if fast(expected) {
		sql, args := fastAppend(stream, expected, evs, notify)
		tag, err := s.pool.Exec(ctx, sql, args...)
		switch {
		case err == nil && tag.RowsAffected() == int64(len(evs)):
			return eventstore.AppendResult{NextExpectedVersion: expected.Code() + int64(len(evs))}, nil
		case err != nil && !isPgError(err):
			return eventstore.AppendResult{}, err
		}
	}
	var res eventstore.AppendResult
	var err error
	for attempts := 1; ; attempts++ {
		err = s.pool.QueryRow(ctx, appendSQL, appendArgs(stream, expected, evs, notify)...).
			Scan(&res.NextExpectedVersion, &res.Duplicate)
		if !retryChecked(err, attempts) {
			break
		}
	}
	return res, err
}

// AppendMulti appends to several streams in one transaction; see eventstore.Store. The
// parts are written in the order given, which is their order in the log, after the streams'
// locks (the ones eventstore_append takes) are taken in one order, so that two multi-stream
// appends never wait for each other crosswise. When every part expects no stream or an exact
// version, the locks and the parts' fast-path INSERTs (see fastpath.go) go to Postgres at
// once, in one implicit transaction: one round trip. Otherwise, or when that transaction
// fails with a Postgres error, the parts are appended through eventstore_append in a
// transaction of their own, also in one round trip.
func (s *Store) AppendMulti(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	parts, err := eventstore.PrepareAppendMulti(appends)
	if err != nil {
		return nil, err
	}
	notifyInTx := s.inflight.Add(1) == 1 || s.notifyInTx
	defer s.inflight.Add(-1)

	results, err := s.appendMultiFast(ctx, parts, notifyInTx)
	if err == nil && results != nil {
		if !notifyInTx {
			s.notifier.notify()
		}
		return results, nil
	}
	if err != nil && !isPgError(err) {
		if !notifyInTx {
			s.notifier.notify() // the outcome of the commit is unknown
		}
		return nil, err
	}

	var wrote bool
	for attempts := 1; ; attempts++ {
		results, wrote, err = s.appendMultiChecked(ctx, parts)
		if !retryChecked(err, attempts) {
			break
		}
	}
	if err != nil {
		if !isPgError(err) {
			s.notifier.notify() // the outcome of the commit is unknown
		}
		return nil, err
	}
	if wrote {
		s.notifier.notify()
	}
	return results, nil
}

// streamNames returns the parts' streams, the argument of lockStreamsSQL.
func streamNames(parts []eventstore.StreamAppend) []string {
	streams := make([]string, len(parts))
	for i, a := range parts {
		streams[i] = a.Stream
	}
	return streams
}

// appendMultiFast sends the streams' locks and the parts' events, in order, as one
// fast-path INSERT (fastAppendPartsSQL) in one pipeline, which Postgres runs as one implicit
// transaction. It returns nil results and no error when some part cannot take the fast path.
func (s *Store) appendMultiFast(ctx context.Context, parts []eventstore.StreamAppend, notify bool) ([]eventstore.AppendResult, error) {
	for _, a := range parts {
		if !fast(a.Expected) {
			return nil, nil
		}
	}
	var b pgx.Batch
	if len(parts) > 1 {
		b.Queue(lockStreamsSQL, streamNames(parts))
		b.Queue(fastAppendPartsSQL, appendPartsArgs(parts, notify)...)
	} else {
		sql, args := fastAppend(parts[0].Stream, parts[0].Expected, parts[0].Events, notify)
		b.Queue(sql, args...)
	}
	br := s.pool.SendBatch(ctx, &b)
	if len(parts) > 1 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the transaction is rolled back; err says why
			return nil, fmt.Errorf("lock streams: %w", err)
		}
	}
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("append %d streams: %w", len(parts), err)
	}
	// The implicit transaction commits at the end of the pipeline, which Close waits for.
	if err := br.Close(); err != nil {
		return nil, err
	}
	results := make([]eventstore.AppendResult, len(parts))
	for i, a := range parts {
		results[i] = eventstore.AppendResult{NextExpectedVersion: a.Expected.Code() + int64(len(a.Events))}
	}
	return results, nil
}

// appendMultiChecked appends the parts, in order, through eventstore_append in one
// transaction. wrote tells whether some part was not a duplicate.
func (s *Store) appendMultiChecked(ctx context.Context, parts []eventstore.StreamAppend) (results []eventstore.AppendResult, wrote bool, err error) {
	results = make([]eventstore.AppendResult, len(parts))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		wrote = false
		b := &pgx.Batch{}
		if len(parts) > 1 {
			b.Queue(lockStreamsSQL, streamNames(parts))
		}
		for _, a := range parts {
			b.Queue(appendSQL, appendArgs(a.Stream, a.Expected, a.Events, false)...)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if len(parts) > 1 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("lock streams: %w", err)
			}
		}
		for i, a := range parts {
			var res eventstore.AppendResult
			if err := br.QueryRow().Scan(&res.NextExpectedVersion, &res.Duplicate); err != nil {
				return fmt.Errorf("append %s: %w", a.Stream, classify(err))
			}
			results[i] = res
			wrote = wrote || !res.Duplicate
		}
		return br.Close()
	})
	return results, wrote, err
}

// KeepsPartOrder tells that AppendMulti writes its parts to the log in the order given, in
// one commit (see eventstore.OrderedAppender).
func (s *Store) KeepsPartOrder() bool { return true }

// lockStreamsSQL takes the append locks of streams (the ones eventstore_append takes) in the
// order of their keys.
const lockStreamsSQL = `SELECT count(pg_advisory_xact_lock(7262, k))
	FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest($1::text[]) AS s ORDER BY 1) AS keys`

// classify wraps the store's sentinel errors around the Postgres errors that mean them,
// keeping the original error in the chain.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch {
	case pgErr.Code == codeConcurrency:
		return fmt.Errorf("%w: %w", eventstore.ErrConcurrency, err)
	case pgErr.Code == codeIdempotency:
		return fmt.Errorf("%w: %w", eventstore.ErrIdempotency, err)
	case pgErr.Code == codeNoEvents:
		return fmt.Errorf("%w: %w", eventstore.ErrInvalid, err)
	case pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == "events_pkey":
		// An id that exists, but is not the batch's first (or was committed by a concurrent
		// append to another stream after the check).
		return fmt.Errorf("%w: %w", eventstore.ErrIdempotency, err)
	case pgErr.Code == codeUniqueViolation:
		// (stream, version) or streams_pkey: another writer got there first. The stream
		// lock makes this unexpected, but it means the same.
		return fmt.Errorf("%w: %w", eventstore.ErrConcurrency, err)
	case len(pgErr.Code) == 5 && pgErr.Code[:2] == "22":
		// Class 22, data exception: a value Postgres cannot store (bad encoding, \u0000 in
		// jsonb, a number out of range).
		return fmt.Errorf("%w: %w", eventstore.ErrInvalid, err)
	}
	return err
}

// NonAppending is the application_name by which a transaction that never appends events
// keeps from holding back the global log while it is open (see the package documentation).
// Set it with SET LOCAL as the transaction's first statement.
const NonAppending = "policykit non-appending"

const selectColumns = `SELECT transaction_id::text::bigint AS commit_xid, global_position, id, stream, version, type,
	schema_version, data, recorded_at, causation_id, correlation_id FROM events `

const (
	readForwardSQL  = selectColumns + `WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3`
	readBackwardSQL = selectColumns + `WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT $3`

	// readableBelowSQL is the xmin of the statement's own snapshot, without the transactions
	// of sessions that declare they append no events (NonAppending). A transaction that ended
	// since the snapshot was taken cannot be told apart any more, and is counted: the bound
	// may come out lower than it could, never higher.
	// The sessions' list is read once, and only when some transaction is open.
	readableBelowSQL = `(SELECT coalesce(
	    (SELECT min(x) FROM pg_snapshot_xip(s) AS x
	      WHERE x::xid NOT IN (SELECT a.backend_xid FROM pg_stat_get_activity(NULL) AS a
	        WHERE a.application_name = '` + NonAppending + `' AND a.backend_xid IS NOT NULL)),
	    pg_snapshot_xmax(s))
	  FROM pg_current_snapshot() AS s)`

	// The scalar subquery evaluates the bound once, from the statement's own snapshot.
	readAllSQL = selectColumns + `WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
	  AND transaction_id < ` + readableBelowSQL + `
	ORDER BY transaction_id, global_position
	LIMIT $3`

	// pendingSQL tells whether committed events after a position exist that ReadAll does not
	// return yet, because a transaction below them is still open. It looks for the first such
	// event in log order rather than for any (EXISTS): planned for any position (the generic
	// plan of a prepared statement, or before the table is analyzed), EXISTS expects many
	// events after it and scans the whole table, where the first in order is one step of the
	// index, however long the log.
	pendingSQL = `SELECT count(*) > 0 FROM (SELECT 1 FROM events
	  WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)
	  ORDER BY transaction_id, global_position LIMIT 1) AS next`
)

// ReadStream returns up to limit events of stream starting at version from (inclusive); see
// eventstore.Store. Forward with from < 1 starts at version 1; Backward with from <= 0 starts
// at the last event. It reads committed events whatever their position in the global log.
// limit must be positive, otherwise the error wraps eventstore.ErrInvalid.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read stream %s: %w: limit %d is not positive", stream, eventstore.ErrInvalid, limit)
	}
	var query string
	switch dir {
	case eventstore.Forward:
		query = readForwardSQL
		from = max(from, 1)
	case eventstore.Backward:
		query = readBackwardSQL
		if from <= 0 {
			from = math.MaxInt64
		}
	default:
		return nil, fmt.Errorf("read stream %s: %w: unknown direction %d", stream, eventstore.ErrInvalid, dir)
	}
	events, err := s.query(ctx, limit, query, stream, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, classify(err))
	}
	return events, nil
}

// ReadAll returns up to limit events strictly after position after, ordered by Position
// (transaction id, then global position), and only events whose transactions are below the
// snapshot's xmin, so that their order is final; see the package documentation. limit must
// be positive, otherwise the error wraps eventstore.ErrInvalid.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read all: %w: limit %d is not positive", eventstore.ErrInvalid, limit)
	}
	events, err := s.query(ctx, limit, readAllSQL, formatCommit(after.Commit), after.Seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read all after %s: %w", after, classify(err))
	}
	return events, nil
}

func (s *Store) query(ctx context.Context, sizeHint int, sql string, args ...any) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Reads ask for pages far longer than most streams (an action has a handful of events):
	// room for the whole page, zeroed, would cost more than the read.
	out := make([]eventstore.RecordedEvent, 0, min(sizeHint, 16))
	for rows.Next() {
		var (
			e           eventstore.RecordedEvent
			commit      int64
			schema      int32
			causation   pgtype.UUID
			correlation pgtype.UUID
			id          pgtype.UUID
			data        []byte
		)
		// data as []byte: scanned into json.RawMessage, pgx would run it through
		// json.Unmarshal, validating what jsonb has validated already.
		if err := rows.Scan(&commit, &e.GlobalPosition, &id, &e.Stream, &e.Version, &e.Type,
			&schema, &data, &e.RecordedAt, &causation, &correlation); err != nil {
			return nil, err
		}
		e.Data = data
		e.ID = id.Bytes
		e.Position = eventstore.Position{Commit: uint64(commit), Seq: e.GlobalPosition}
		e.SchemaVersion = int(schema)
		if causation.Valid {
			e.CausationID = causation.Bytes
		}
		if correlation.Valid {
			e.CorrelationID = correlation.Bytes
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// formatCommit renders a Position.Commit for a $n::text::xid8 parameter: xid8 has no binary
// mapping in pgx, and its values exceed int64 only in theory.
func formatCommit(c uint64) string { return strconv.FormatUint(c, 10) }
