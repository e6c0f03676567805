package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/storetest"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// newTestPool returns a pool of up to maxConns connections on a fresh, migrated database.
func newTestPool(tb testing.TB, maxConns int32) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := Migrate(context.Background(), pool); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return pool
}

// drains counts the times a subscription has read everything it could read.
type drains struct {
	n    atomic.Int64
	tick chan struct{}
}

// newTestStore returns a Store on a fresh database, with a drain counter hooked in.
func newTestStore(tb testing.TB, opts ...Option) (*Store, *pgxpool.Pool, *drains) {
	tb.Helper()
	pool := newTestPool(tb, 16)
	d := &drains{tick: make(chan struct{}, 1)}
	s := New(pool, opts...)
	s.afterDrain = func(eventstore.Position) {
		d.n.Add(1)
		select {
		case d.tick <- struct{}{}:
		default:
		}
	}
	return s, pool, d
}

// waitDrains waits until the subscription has drained k more times than when called: it
// has then read the log after everything that happened before the call.
func (d *drains) waitDrains(tb testing.TB, k int64) {
	tb.Helper()
	target := d.n.Load() + k
	deadline := time.After(storetest.WaitTimeout)
	for d.n.Load() < target {
		select {
		case <-d.tick:
		case <-deadline:
			tb.Fatalf("subscription drained %d times, waiting for %d", d.n.Load(), target)
		}
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s, _, _ := newTestStore(t, WithPollInterval(100*time.Millisecond), WithBatchSize(4))
		return s
	})
}

// TestContractDefaults runs the suite once more with the default options.
func TestContractDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return New(newTestPool(t, 16))
	})
}

// TestContractNotifications: with polling practically off, live subscriptions depend on
// notifications, sent after the commit (default) or at it.
func TestContractNotifications(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for name, opts := range map[string][]Option{
		"AfterCommit":   {WithPollInterval(time.Hour)},
		"InTransaction": {WithPollInterval(time.Hour), WithNotifyInTransaction()},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) eventstore.Store {
				return New(newTestPool(t, 16), opts...)
			})
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := newTestPool(t, 8) // migrated once
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	s := New(pool)
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), storetest.NewEvents(2, "A")); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate with data: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil || n != 2 {
		t.Fatalf("events after Migrate: %d, %v", n, err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewPool(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Migrate(ctx, pool); err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		}()
	}
	wg.Wait()
	migrations, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM eventstore_schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Fatalf("%d migrations recorded, want %d", n, len(migrations))
	}
}

// heldAppend appends events to stream inside tx, as Append does in autocommit mode, and
// returns tx's transaction id.
func heldAppend(t *testing.T, tx pgx.Tx, stream string, events []eventstore.EventData) uint64 {
	t.Helper()
	ctx := context.Background()
	var next int64
	var dup bool
	if err := tx.QueryRow(ctx, appendSQL, appendArgs(stream, eventstore.NoStream(), events, true)...).Scan(&next, &dup); err != nil {
		t.Fatalf("append in transaction: %v", err)
	}
	var xid int64
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&xid); err != nil {
		t.Fatal(err)
	}
	return uint64(xid)
}

func idSet(ids ...[]uuid.UUID) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	for _, l := range ids {
		for _, id := range l {
			out[id] = true
		}
	}
	return out
}

func eventIDs(events []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func dataIDs(events []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// TestGapHeldTransaction: an append whose transaction stays open draws a lower global
// position than appends that commit meanwhile. A reader must not move past it while it is
// open (or it would never see it), and must deliver it, and everything else, exactly once
// after it commits.
func TestGapHeldTransaction(t *testing.T) {
	ctx := context.Background()
	s, pool, drained := newTestStore(t, WithPollInterval(20*time.Millisecond), WithBatchSize(7))

	before := storetest.NewEvents(3, "Before")
	if _, err := s.Append(ctx, "before", eventstore.NoStream(), before); err != nil {
		t.Fatal(err)
	}
	c := storetest.StartCollector(t, s, eventstore.Start, nil)
	c.WaitFor(len(before))

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	held := storetest.NewEvents(2, "Held")
	heldXID := heldAppend(t, tx, "held", held)

	// Other writers append and commit while the transaction is open.
	const writers, appends = 5, 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		later []uuid.UUID
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range appends {
				evs := storetest.NewEvents(1, "Later")
				if _, err := s.Append(ctx, fmt.Sprintf("later-%d", w), eventstore.Exact(int64(i)), evs); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				later = append(later, evs[0].ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// They are committed and readable by stream, and numbered after the held events...
	for w := range writers {
		got, err := s.ReadStream(ctx, fmt.Sprintf("later-%d", w), eventstore.Forward, 1, 100)
		if err != nil || len(got) != appends {
			t.Fatalf("ReadStream(later-%d) = %d events, %v", w, len(got), err)
		}
	}
	var visible int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events WHERE stream = 'held'").Scan(&visible); err != nil || visible != 0 {
		t.Fatalf("held events visible outside their transaction: %d, %v", visible, err)
	}
	var heldMax, laterMin int64
	if err := tx.QueryRow(ctx, `SELECT
		(SELECT max(global_position) FROM events WHERE stream = 'held'),
		(SELECT min(global_position) FROM events WHERE stream LIKE 'later-%')`).Scan(&heldMax, &laterMin); err != nil {
		t.Fatal(err)
	}
	if heldMax >= laterMin {
		t.Fatalf("held events end at global position %d, later ones start at %d: no gap to test", heldMax, laterMin)
	}

	// ...so neither ReadAll nor the subscription may pass the held transaction.
	got, err := s.ReadAll(ctx, eventstore.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		if e.Position.Commit >= heldXID {
			t.Fatalf("ReadAll returned %s at %s while transaction %d is open", e.Stream, e.Position, heldXID)
		}
	}
	drained.waitDrains(t, 3)
	for _, e := range c.Events() {
		if e.Position.Commit >= heldXID {
			t.Fatalf("subscription delivered %s at %s while transaction %d is open", e.Stream, e.Position, heldXID)
		}
	}
	if n := len(c.Events()); n != len(before) {
		t.Fatalf("subscription delivered %d events while the transaction is open, want %d", n, len(before))
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := len(before) + len(held) + len(later)
	c.WaitFor(want)
	drained.waitDrains(t, 2)
	delivered := c.Events()
	if len(delivered) != want {
		t.Fatalf("subscription delivered %d events, want %d", len(delivered), want)
	}
	if gotSet, wantSet := idSet(eventIDs(delivered)), idSet(dataIDs(before), dataIDs(held), later); !reflect.DeepEqual(gotSet, wantSet) {
		t.Fatalf("delivered ids differ from appended ids")
	}
	// The held events come right after the ones committed before: their transaction is older.
	if !reflect.DeepEqual(eventIDs(delivered[len(before):len(before)+len(held)]), dataIDs(held)) {
		t.Fatalf("held events not delivered right after the earlier ones")
	}
	all := storetest.ReadAllEventually(t, s, eventstore.Start, 5, want)
	if !reflect.DeepEqual(eventIDs(all), eventIDs(delivered)) {
		t.Fatalf("ReadAll order differs from subscription order")
	}
}

// TestGapRandomCommitOrder: transactions that append, stay open and then commit (or roll
// back) in random order, while another writer keeps appending; every committed event is
// delivered exactly once, in increasing position order, and no rolled back one.
func TestGapRandomCommitOrder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	ctx := context.Background()
	s, pool, drained := newTestStore(t, WithPollInterval(20*time.Millisecond), WithBatchSize(5))
	c := storetest.StartCollector(t, s, eventstore.Start, nil)

	// A background writer that never stops until told to.
	var (
		bgMu    sync.Mutex
		bgIDs   []uuid.UUID
		bgStop  = make(chan struct{})
		bgDone  = make(chan struct{})
		bgCount atomic.Int64
	)
	go func() {
		defer close(bgDone)
		for i := 0; ; i++ {
			select {
			case <-bgStop:
				return
			default:
			}
			evs := storetest.NewEvents(1+i%3, "Background")
			if _, err := s.Append(ctx, fmt.Sprintf("bg-%d", i%4), eventstore.Any(), evs); err != nil {
				t.Errorf("background append: %v", err)
				return
			}
			bgMu.Lock()
			bgIDs = append(bgIDs, dataIDs(evs)...)
			bgMu.Unlock()
			bgCount.Add(1)
		}
	}()
	waitBackground := func(k int64) {
		target := bgCount.Load() + k
		for bgCount.Load() < target {
			select {
			case <-bgDone:
				t.Fatal("background writer stopped")
			case <-time.After(time.Millisecond):
			}
		}
	}

	const held = 8
	type heldTx struct {
		tx       pgx.Tx
		ids      []uuid.UUID
		rollback bool
	}
	txs := make([]heldTx, held)
	for i := range txs {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		evs := storetest.NewEvents(1+rng.IntN(3), "Held")
		heldAppend(t, tx, fmt.Sprintf("held-%d", i), evs)
		txs[i] = heldTx{tx: tx, ids: dataIDs(evs), rollback: i == 3}
		waitBackground(2)
	}
	var committed [][]uuid.UUID
	for _, i := range rng.Perm(held) {
		h := txs[i]
		if h.rollback {
			if err := h.tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := h.tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			committed = append(committed, h.ids)
		}
		waitBackground(1)
		drained.waitDrains(t, 1)
	}
	close(bgStop)
	<-bgDone
	if t.Failed() {
		return
	}

	bgMu.Lock()
	wantSet := idSet(append(committed, bgIDs)...)
	bgMu.Unlock()
	c.WaitFor(len(wantSet))
	drained.waitDrains(t, 2)
	delivered := c.Events()
	if len(delivered) != len(wantSet) {
		t.Fatalf("delivered %d events, want %d", len(delivered), len(wantSet))
	}
	if !reflect.DeepEqual(idSet(eventIDs(delivered)), wantSet) {
		t.Fatalf("delivered ids differ from committed ids")
	}
	sorted := sort.SliceIsSorted(delivered, func(i, j int) bool { return delivered[i].Position.Less(delivered[j].Position) })
	if !sorted {
		t.Fatalf("delivered events are not in position order")
	}
}

// TestSubscribeReconnectsListener: with polling practically off, live delivery depends on
// the LISTEN connection, which must come back after the server kills it.
func TestSubscribeReconnectsListener(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newTestStore(t, WithPollInterval(time.Hour), WithLogger(slog.New(slog.DiscardHandler)))
	c := storetest.StartCollector(t, s, eventstore.Start, nil)

	listener := func(not int32) int32 {
		t.Helper()
		deadline := time.Now().Add(storetest.WaitTimeout)
		for time.Now().Before(deadline) {
			var pid int32
			err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND query = $1 AND pid <> $2`,
				"LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize(), not).Scan(&pid)
			if err == nil {
				return pid
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no listening connection")
		return 0
	}
	pid := listener(0)
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), storetest.NewEvents(1, "A")); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(1)

	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	listener(pid)
	if _, err := s.Append(ctx, "s", eventstore.Exact(1), storetest.NewEvents(1, "B")); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(2)
}

// TestNotifierWakesSubscribers: appends made while another is in flight leave their
// notifications to the coalescing notifier; with polling practically off, the subscriber
// still gets every event, one by one and in bursts.
func TestNotifierWakesSubscribers(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t, WithPollInterval(time.Hour))
	// Pretend another append is always in flight, so that no append notifies by itself.
	s.inflight.Add(1)
	c := storetest.StartCollector(t, s, eventstore.Start, nil)
	for i := range 5 {
		if _, err := s.Append(ctx, "one-by-one", eventstore.Exact(int64(i)), storetest.NewEvents(1, "A")); err != nil {
			t.Fatal(err)
		}
		c.WaitFor(i + 1)
	}
	const writers, appends = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range appends {
				if _, err := s.Append(ctx, fmt.Sprintf("w-%d", w), eventstore.Exact(int64(i)), storetest.NewEvents(1, "A")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.WaitFor(5 + writers*appends)
}

// TestSubscribeRetriesReadErrors: read errors do not end a subscription; ctx does.
func TestSubscribeRetriesReadErrors(t *testing.T) {
	ctx := context.Background()
	s, pool, drained := newTestStore(t, WithPollInterval(20*time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), storetest.NewEvents(1, "A")); err != nil {
		t.Fatal(err)
	}
	// Hide the table: reads fail until it is back.
	if _, err := pool.Exec(ctx, "ALTER TABLE events RENAME TO events_hidden"); err != nil {
		t.Fatal(err)
	}
	c := storetest.StartCollector(t, s, eventstore.Start, nil)
	select {
	case <-c.Done():
		t.Fatalf("Subscribe returned on a read error: %v", c.Stop())
	case <-time.After(200 * time.Millisecond):
	}
	if n := drained.n.Load(); n != 0 {
		t.Fatalf("subscription drained %d times without a table", n)
	}
	if _, err := pool.Exec(ctx, "ALTER TABLE events_hidden RENAME TO events"); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(1)
	if err := c.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe returned %v, want context.Canceled", err)
	}
}

func TestErrorsKeepPostgresError(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t)
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), storetest.NewEvents(1, "A")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx, "s", eventstore.NoStream(), storetest.NewEvents(1, "A"))
	var pgErr *pgconn.PgError
	if !errors.Is(err, eventstore.ErrConcurrency) || !errors.As(err, &pgErr) || pgErr.Code != codeConcurrency {
		t.Fatalf("error %v: want ErrConcurrency wrapping a PgError %s", err, codeConcurrency)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  *pgconn.PgError
		want error
	}{
		{&pgconn.PgError{Code: codeConcurrency}, eventstore.ErrConcurrency},
		{&pgconn.PgError{Code: codeIdempotency}, eventstore.ErrIdempotency},
		{&pgconn.PgError{Code: codeNoEvents}, eventstore.ErrInvalid},
		{&pgconn.PgError{Code: "23505", ConstraintName: "events_pkey"}, eventstore.ErrIdempotency},
		{&pgconn.PgError{Code: "23505", ConstraintName: "events_stream_version_key"}, eventstore.ErrConcurrency},
		{&pgconn.PgError{Code: "22P05"}, eventstore.ErrInvalid},
		{&pgconn.PgError{Code: "40001"}, nil},
	} {
		got := classify(fmt.Errorf("wrapped: %w", tc.err))
		for _, sentinel := range []error{eventstore.ErrConcurrency, eventstore.ErrIdempotency, eventstore.ErrInvalid} {
			if errors.Is(got, sentinel) != (sentinel == tc.want) {
				t.Errorf("classify(%s %s) = %v, want %v", tc.err.Code, tc.err.ConstraintName, got, tc.want)
			}
		}
		var pgErr *pgconn.PgError
		if !errors.As(got, &pgErr) {
			t.Errorf("classify(%s) lost the PgError", tc.err.Code)
		}
	}
}

// ReadAllSettled waits for events an open transaction holds back, where ReadAll returns
// nothing: a rebuild or an export reaches the end of the log as it stands.
func TestReadAllSettledWaitsForHeldEvents(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newTestStore(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	heldAppend(t, tx, "held", storetest.NewEvents(1, "Held"))
	if _, err := s.Append(ctx, "later", eventstore.NoStream(), storetest.NewEvents(1, "Later")); err != nil {
		t.Fatal(err)
	}
	if evs, err := s.ReadAll(ctx, eventstore.Start, 10); err != nil || len(evs) != 0 {
		t.Fatalf("ReadAll while held: %d events, %v", len(evs), err)
	}
	got := make(chan []eventstore.RecordedEvent, 1)
	go func() {
		evs, err := eventstore.ReadAllSettled(ctx, s, eventstore.Start, 10)
		if err != nil {
			t.Error(err)
		}
		got <- evs
	}()
	select {
	case evs := <-got:
		t.Fatalf("ReadAllSettled returned %d events while they were held back", len(evs))
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-got:
		if len(evs) != 2 {
			t.Fatalf("ReadAllSettled returned %d events, want both", len(evs))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ReadAllSettled did not return after the transaction committed")
	}
}

// A long transaction that writes no events, such as a read model's batch, holds the log
// back only until it says it appends none.
func TestNonAppendingTransactionsDoNotHoldTheLogBack(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newTestStore(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE scratch (n int)`); err != nil {
		t.Fatal(err)
	}
	open := func(name string) pgx.Tx {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		if name != "" {
			if _, err := tx.Exec(ctx, `SELECT set_config('application_name', $1, true)`, name); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO scratch VALUES (1)`); err != nil { // it holds a transaction id
			t.Fatal(err)
		}
		return tx
	}
	readable := func() int {
		evs, err := s.ReadAll(ctx, eventstore.Start, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	readModels := open(NonAppending)
	if _, err := s.Append(ctx, "first", eventstore.NoStream(), storetest.NewEvents(1, "First")); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions in the cluster hold the log back too, for a moment each.
	for deadline := time.Now().Add(20 * time.Second); readable() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("beside an open non-appending transaction ReadAll never returned the event appended after it began")
		}
	}

	other := open("")
	if _, err := s.Append(ctx, "second", eventstore.NoStream(), storetest.NewEvents(1, "Second")); err != nil {
		t.Fatal(err)
	}
	if n := readable(); n != 1 {
		t.Fatalf("beside an open transaction that may append, ReadAll returned %d events, want the 1 before it", n)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); readable() != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("after the other transaction ended ReadAll never returned both events")
		}
	}
	if err := readModels.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
