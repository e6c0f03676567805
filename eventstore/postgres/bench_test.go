package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
)

// Run with: go test -run='^$' -bench=. -benchtime=2s ./eventstore/postgres/
//
// Every benchmark reports events/s. BenchmarkRawInsert is the physical baseline for
// BenchmarkAppend: the same rows (same columns, same payload) into a table of the same shape
// and indexes as events, written with plain INSERTs in autocommit mode, without the stream
// lock, the checks and the notification.

const benchWriters = 8

// benchPayload is a realistic event body of about 300 bytes.
func benchPayload(tb testing.TB) json.RawMessage {
	b, err := json.Marshal(map[string]any{
		"community_id": uuid.NewString(),
		"proposal_id":  uuid.NewString(),
		"author_id":    uuid.NewString(),
		"title":        "Adopt a two-week voting window for policy changes",
		"policy":       "simple-majority",
		"quorum":       0.25,
		"window_days":  14,
		"tags":         []string{"governance", "voting"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 250 || len(b) > 350 {
		tb.Fatalf("payload is %d bytes, want about 300", len(b))
	}
	return b
}

func benchEvents(n int, payload json.RawMessage) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{
			ID:            uuid.New(),
			Type:          "ProposalSubmitted",
			SchemaVersion: 1,
			Data:          payload,
			CausationID:   uuid.New(),
			CorrelationID: uuid.New(),
		}
	}
	return out
}

const rawTableSQL = `CREATE TABLE raw_events (
	global_position bigserial   NOT NULL,
	transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
	id              uuid        PRIMARY KEY,
	stream          text        NOT NULL,
	version         bigint      NOT NULL,
	type            text        NOT NULL,
	schema_version  int         NOT NULL,
	data            jsonb       NOT NULL,
	recorded_at     timestamptz NOT NULL DEFAULT now(),
	causation_id    uuid        NULL,
	correlation_id  uuid        NULL,
	UNIQUE (stream, version)
);
CREATE INDEX ON raw_events (transaction_id, global_position);`

func newBenchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	pool := newTestPool(b, 2*benchWriters)
	if _, err := pool.Exec(context.Background(), rawTableSQL); err != nil {
		b.Fatal(err)
	}
	return pool
}

// rawInsertSQL is a multi-row INSERT of n events.
func rawInsertSQL(n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO raw_events (id, stream, version, type, schema_version, data, causation_id, correlation_id) VALUES ")
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		p := 8*i + 1
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p, p+1, p+2, p+3, p+4, p+5, p+6, p+7)
	}
	return sb.String()
}

func rawInsertArgs(stream string, version int64, events []eventstore.EventData) []any {
	args := make([]any, 0, 8*len(events))
	for i, e := range events {
		args = append(args, pgUUID(e.ID), stream, version+int64(i)+1, e.Type, int32(e.SchemaVersion),
			e.Data, pgUUID(e.CausationID), pgUUID(e.CorrelationID))
	}
	return args
}

// writeFunc appends batch to stream, which is at version.
type writeFunc func(ctx context.Context, stream string, version int64, batch []eventstore.EventData) error

// runWrites runs the three write benchmarks (batch=1, batch=100, writers=8) with write.
func runWrites(b *testing.B, write writeFunc) {
	payload := benchPayload(b)
	var run atomic.Int64 // each run of a sub-benchmark writes to streams of its own
	single := func(batchSize int) func(*testing.B) {
		return func(b *testing.B) {
			ctx := context.Background()
			stream := fmt.Sprintf("bench-%d-%d", batchSize, run.Add(1))
			b.ResetTimer()
			for i := range b.N {
				if err := write(ctx, stream, int64(i*batchSize), benchEvents(batchSize, payload)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
		}
	}
	b.Run("batch=1", single(1))
	b.Run("batch=100", single(100))
	b.Run(fmt.Sprintf("writers=%d", benchWriters), func(b *testing.B) {
		ctx := context.Background()
		r := run.Add(1)
		var (
			next atomic.Int64
			wg   sync.WaitGroup
			errs = make(chan error, benchWriters)
		)
		b.ResetTimer()
		for w := range benchWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := fmt.Sprintf("bench-w%d-%d", w, r)
				for version := int64(0); next.Add(1) <= int64(b.N); version++ {
					if err := write(ctx, stream, version, benchEvents(1, payload)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func BenchmarkAppend(b *testing.B) {
	s := New(newBenchPool(b))
	runWrites(b, func(ctx context.Context, stream string, version int64, batch []eventstore.EventData) error {
		_, err := s.Append(ctx, stream, eventstore.Exact(version), batch)
		return err
	})
}

// BenchmarkAppendNotifyInTransaction is BenchmarkAppend with WithNotifyInTransaction, to
// show what the NOTIFY at commit costs concurrent writers.
func BenchmarkAppendNotifyInTransaction(b *testing.B) {
	s := New(newBenchPool(b), WithNotifyInTransaction())
	runWrites(b, func(ctx context.Context, stream string, version int64, batch []eventstore.EventData) error {
		_, err := s.Append(ctx, stream, eventstore.Exact(version), batch)
		return err
	})
}

func BenchmarkRawInsert(b *testing.B) {
	pool := newBenchPool(b)
	var (
		mu   sync.Mutex
		sqls = map[int]string{}
	)
	runWrites(b, func(ctx context.Context, stream string, version int64, batch []eventstore.EventData) error {
		mu.Lock()
		sql, ok := sqls[len(batch)]
		if !ok {
			sql = rawInsertSQL(len(batch))
			sqls[len(batch)] = sql
		}
		mu.Unlock()
		_, err := pool.Exec(ctx, sql, rawInsertArgs(stream, version, batch)...)
		return err
	})
}

func BenchmarkReadAll(b *testing.B) {
	const (
		total = 100_000
		page  = 1000
	)
	ctx := context.Background()
	pool := newBenchPool(b)
	s := New(pool)
	payload := benchPayload(b)
	for i := range total / page {
		if _, err := s.Append(ctx, fmt.Sprintf("fill-%d", i%10), eventstore.Any(), benchEvents(page, payload)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("events=%dk/page=%d", total/1000, page), func(b *testing.B) {
		pos := eventstore.Start
		n := 0
		b.ResetTimer()
		for range b.N {
			events, err := s.ReadAll(ctx, pos, page)
			if err != nil {
				b.Fatal(err)
			}
			if len(events) < page { // end of the log: start over
				pos = eventstore.Start
			} else {
				pos = events[len(events)-1].Position
			}
			n += len(events)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
}
