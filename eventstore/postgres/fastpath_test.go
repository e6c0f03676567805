package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/storetest"
	"github.com/policykit-go/policykit/internal/migrate"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// Appends to one stream that expect no stream or an exact version don't wait for
// eventstore_append's stream lock: the unique indexes check them, so concurrent writers
// serialize on nothing but the rows they write. (Multi-stream appends take the locks of their
// streams, so that two of them never wait for each other crosswise.)
func TestExactAppendsTakeNoStreamLock(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newTestStore(t)
	mustAppendPG(t, s, "locked", eventstore.NoStream(), storetest.NewEvents(1, "A"))

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	for _, stream := range []string{"locked", "other"} {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7262, hashtext($1))", stream); err != nil {
			t.Fatal(err)
		}
	}

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, err := s.Append(short, "locked", eventstore.Exact(1), storetest.NewEvents(2, "B")); err != nil || res.NextExpectedVersion != 3 {
		t.Fatalf("Append while the stream lock is held = %+v, %v", res, err)
	}
	res, err := s.AppendMulti(short, []eventstore.StreamAppend{
		{Stream: "locked", Expected: eventstore.Exact(3), Events: storetest.NewEvents(1, "D")},
	})
	if err != nil || res[0].NextExpectedVersion != 4 {
		t.Fatalf("AppendMulti of one stream while its lock is held = %+v, %v", res, err)
	}
	// A conflict is told apart under the lock, so it waits for it.
	waiting, cancelWaiting := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelWaiting()
	if _, err := s.Append(waiting, "locked", eventstore.Exact(1), storetest.NewEvents(1, "E")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("conflicting Append while the stream lock is held: %v, want to wait for the lock", err)
	}
}

// A multi-append in which one part was written before and another is new: the pipeline of
// fast-path INSERTs fails as a whole, and the parts go through eventstore_append, which
// writes the new part and reports the other as a duplicate.
func TestAppendMultiRetriedWithNewPart(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t)
	old := storetest.NewEvents(2, "Old")
	mustAppendPG(t, s, "a", eventstore.NoStream(), old)
	fresh := storetest.NewEvents(1, "New")
	res, err := s.AppendMulti(ctx, []eventstore.StreamAppend{
		{Stream: "b", Expected: eventstore.NoStream(), Events: fresh},
		{Stream: "a", Expected: eventstore.NoStream(), Events: old},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []eventstore.AppendResult{{NextExpectedVersion: 1}, {NextExpectedVersion: 2, Duplicate: true}}
	if len(res) != 2 || res[0] != want[0] || res[1] != want[1] {
		t.Fatalf("results = %+v, want %+v", res, want)
	}
	if got := mustReadStream(t, s, "b"); len(got) != 1 || got[0].ID != fresh[0].ID {
		t.Fatalf("stream b = %v", got)
	}
}

// Writers expecting exact versions (fast path) and writers expecting any version (through
// eventstore_append) on one stream at once: the fast path's INSERT can slip in between
// eventstore_append's read of the version and its insert. Every append of either kind must
// land at consecutive versions, and an append expecting any version never fails.
func TestFastAndCheckedAppendsRace(t *testing.T) {
	const (
		writers = 6
		appends = 25
	)
	ctx := context.Background()
	s, _, _ := newTestStore(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written = map[uuid.UUID]bool{}
	)
	for w := range writers {
		wg.Go(func() {
			for range appends {
				evs := storetest.NewEvents(1+w%2, fmt.Sprintf("W%d", w))
				if err := appendOnce(ctx, s, "shared", w%2 == 0, evs); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				for _, e := range evs {
					written[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got := mustReadStream(t, s, "shared")
	if len(got) != len(written) {
		t.Fatalf("stream holds %d events, %d were written", len(got), len(written))
	}
	for i, e := range got {
		if e.Version != int64(i+1) || !written[e.ID] {
			t.Fatalf("event %d: version %d, written %v", i, e.Version, written[e.ID])
		}
	}
}

// appendOnce appends evs with eventstore.Any, or with the version it reads, retrying on
// conflicts.
func appendOnce(ctx context.Context, s *Store, stream string, anyVersion bool, evs []eventstore.EventData) error {
	if anyVersion {
		_, err := s.Append(ctx, stream, eventstore.Any(), evs)
		return err
	}
	for {
		last, err := s.ReadStream(ctx, stream, eventstore.Backward, 0, 1)
		if err != nil {
			return err
		}
		var v int64
		if len(last) == 1 {
			v = last[0].Version
		}
		_, err = s.Append(ctx, stream, eventstore.Exact(v), evs)
		if !errors.Is(err, eventstore.ErrConcurrency) {
			return err
		}
	}
}

// A log written before the fast path existed (schema version 2) stays readable and
// appendable after Migrate: streams continue at their versions, and retries of batches
// written back then are duplicates.
func TestMigrateKeepsOlderLogAppendable(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewPool(t)
	if _, err := migrate.Apply(ctx, pool, "eventstore_schema_migrations", migrationsBefore(t, 3), "migrations"); err != nil {
		t.Fatal(err)
	}
	// Written as the store did at schema version 2: through eventstore_append.
	before := storetest.NewEvents(3, "Before")
	var next int64
	var dup bool
	if err := pool.QueryRow(ctx, appendSQL, appendArgs("old", eventstore.NoStream(), before, false)...).Scan(&next, &dup); err != nil || next != 3 {
		t.Fatalf("append at schema version 2: %d, %v", next, err)
	}

	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	if res, err := s.Append(ctx, "old", eventstore.NoStream(), before); err != nil || !res.Duplicate || res.NextExpectedVersion != 3 {
		t.Fatalf("retry of an old batch = %+v, %v; want a duplicate at version 3", res, err)
	}
	if _, err := s.Append(ctx, "old", eventstore.Exact(2), storetest.NewEvents(1, "Stale")); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("stale append to an old stream: %v, want ErrConcurrency", err)
	}
	after := storetest.NewEvents(2, "After")
	if res, err := s.Append(ctx, "old", eventstore.Exact(3), after); err != nil || res.NextExpectedVersion != 5 {
		t.Fatalf("append to an old stream = %+v, %v", res, err)
	}
	got := mustReadStream(t, s, "old")
	wantIDs := append(ids(before), ids(after)...)
	if len(got) != len(wantIDs) {
		t.Fatalf("old stream holds %d events, want %d", len(got), len(wantIDs))
	}
	for i, e := range got {
		if e.ID != wantIDs[i] || e.Version != int64(i+1) {
			t.Fatalf("event %d = %s at version %d, want %s at %d", i, e.ID, e.Version, wantIDs[i], i+1)
		}
	}
	all := storetest.ReadAllEventually(t, s, eventstore.Start, 2, 5)
	for i, e := range all {
		if e.ID != wantIDs[i] {
			t.Fatalf("ReadAll event %d = %s, want %s", i, e.ID, wantIDs[i])
		}
	}
}

// migrationsBefore returns the store's migrations numbered below version.
func migrationsBefore(t *testing.T, version int) fs.FS {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		var n int
		if _, err := fmt.Sscanf(path.Base(name), "%04d_", &n); err != nil {
			t.Fatal(err)
		}
		if n >= version {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: b}
	}
	return out
}

func mustAppendPG(t *testing.T, s *Store, stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData) {
	t.Helper()
	if _, err := s.Append(context.Background(), stream, expected, evs); err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
}

func mustReadStream(t *testing.T, s *Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, eventstore.Forward, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func ids(evs []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
