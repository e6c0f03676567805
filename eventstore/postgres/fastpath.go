package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/policykit-go/policykit/eventstore"
)

// The fast path appends with one plain INSERT, for the expectations that name a version
// (eventstore.NoStream and eventstore.Exact), which are nearly all appends. It needs no lock
// and reads no more than one index entry, because the log's own unique indexes do the
// checking. The INSERT writes versions v+1..v+n for expected version v, and:
//   - the stream has an event at version v (unless v is 0), or the INSERT raises PK001 through
//     eventstore_version_mismatch: the stream is behind v;
//   - the unique index on (stream, version) rejects the batch when the stream is beyond v,
//     also when the event at v+1 is still being written by a transaction that has not
//     committed yet (the index waits for it);
//   - the primary key rejects the batch when an id is already in the log.
//
// Versions are consecutive from 1 in every stream, so "there is an event at v and none at
// v+1" is "the stream is at version v": a batch that gets written passed the same checks
// eventstore_append makes. Whatever went wrong otherwise, including the retry of a batch that
// was written before, which must come back as a duplicate and not as an error, the append is
// made again through eventstore_append, which tells the cases apart. Nothing was written by
// the failed INSERT: it runs in autocommit mode, or in the implicit transaction of a pipeline
// that fails as a whole.

// fastAppendOneSQL is the fast path for a batch of one event, with scalar parameters: $1
// stream, $2 expected version (>= 0), $3..$8 the event's columns, $9 notify in the
// transaction.
const fastAppendOneSQL = `INSERT INTO events (id, stream, version, type, schema_version, data, causation_id, correlation_id)
SELECT $3::uuid, $1::text, $2::bigint + 1, $4::text, $5::int, $6::jsonb, $7::uuid, $8::uuid
 WHERE ($2::bigint = 0
        OR EXISTS (SELECT FROM events WHERE stream = $1::text AND version = $2::bigint)
        OR eventstore_version_mismatch($1::text, $2::bigint))
   AND (NOT $9::boolean OR EXISTS (SELECT FROM pg_notify('policykit_events', '')))`

// fastAppendManySQL is the fast path for a batch of any size, with the events' columns as
// arrays in the order of appendArgs.
const fastAppendManySQL = `INSERT INTO events (id, stream, version, type, schema_version, data, causation_id, correlation_id)
SELECT u.id, $1::text, $2::bigint + u.ord, u.type, u.schema_version, u.data, u.causation, u.correlation
  FROM unnest($3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::uuid[], $8::uuid[])
       WITH ORDINALITY AS u(id, type, schema_version, data, causation, correlation, ord)
 WHERE ($2::bigint = 0
        OR EXISTS (SELECT FROM events WHERE stream = $1::text AND version = $2::bigint)
        OR eventstore_version_mismatch($1::text, $2::bigint))
   AND (NOT $9::boolean OR EXISTS (SELECT FROM pg_notify('policykit_events', '')))
 ORDER BY u.ord`

// fastAppendPartsSQL is the fast path of a multi-stream append: the events of every part in
// one INSERT, in the parts' order, each part's expected version checked as fastAppendManySQL
// checks one ($9 the parts' streams, $10 their expected versions).
const fastAppendPartsSQL = `INSERT INTO events (id, stream, version, type, schema_version, data, causation_id, correlation_id)
SELECT u.id, u.stream, u.version, u.type, u.schema_version, u.data, u.causation, u.correlation
  FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::jsonb[], $7::uuid[], $8::uuid[])
       WITH ORDINALITY AS u(id, stream, version, type, schema_version, data, causation, correlation, ord)
 WHERE NOT EXISTS (SELECT FROM unnest($9::text[], $10::bigint[]) AS p(stream, expected)
        WHERE NOT (p.expected = 0
                   OR EXISTS (SELECT FROM events WHERE stream = p.stream AND version = p.expected)
                   OR eventstore_version_mismatch(p.stream, p.expected)))
   AND (NOT $11::boolean OR EXISTS (SELECT FROM pg_notify('policykit_events', '')))
 ORDER BY u.ord`

// retryChecked reports whether an append through eventstore_append that failed with err,
// after attempts attempts, is worth another. A unique index rejects such an append when a
// concurrent fast-path append wrote the same version or id between eventstore_append's checks
// and its insert, and has committed since (the index waited for it). The next attempt sees
// that append: it is a duplicate or a conflict, which ends it, or it is appended after it.
// Only an append expecting any version (or any existing stream) can lose that race again, to
// the next fast-path append; each lost race means another append went through. An id that
// stays taken after one more look is no such race but a batch that reuses ids (see
// classify).
func retryChecked(err error, attempts int) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != codeUniqueViolation {
		return false
	}
	if pgErr.ConstraintName == "events_pkey" {
		return attempts < 2
	}
	return attempts < maxCheckedAttempts
}

// maxCheckedAttempts bounds the attempts of an append through eventstore_append that keeps
// losing races for its version to fast-path appends of the same stream.
const maxCheckedAttempts = 32

// fast reports whether appends with expected take the fast path.
func fast(expected eventstore.ExpectedVersion) bool {
	return expected.Code() >= 0
}

// fastAppend returns the statement and arguments of a fast-path append of events that
// eventstore.PrepareAppend accepted, to a stream for which fast(expected) holds.
func fastAppend(stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData, notify bool) (string, []any) {
	if len(events) == 1 {
		e := events[0]
		return fastAppendOneSQL, []any{stream, expected.Code(), pgUUID(e.ID), e.Type, schemaVersion(e.SchemaVersion),
			e.Data, pgUUID(e.CausationID), pgUUID(e.CorrelationID), notify}
	}
	return fastAppendManySQL, appendArgs(stream, expected, events, notify)
}

func isPgError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}
