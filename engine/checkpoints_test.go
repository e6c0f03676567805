package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// The leader's connection cut (its Postgres backend terminated, as a database restart or a
// network cut does) ends that turn of leading, and the process takes the lead again once the
// database answers, instead of giving it up for good.
func TestLeaderTakesTheLeadAgainAfterItsConnectionIsCut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	var turns atomic.Int32
	leading := make(chan struct{}, 8)
	done := make(chan error, 1)
	go func() {
		done <- engine.RunAsLeader(ctx, pool, "test", 50*time.Millisecond, func(ctx context.Context) error {
			turns.Add(1)
			leading <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	for turn := 1; turn <= 3; turn++ {
		select {
		case <-leading:
		case err := <-done:
			t.Fatalf("turn %d: RunAsLeader returned %v while its context lives", turn, err)
		case <-ctx.Done():
			t.Fatalf("turn %d: never leads again (%d turns)", turn, turns.Load())
		}
		if turn == 3 {
			break
		}
		// Cut the session that holds the advisory lock.
		// Only this test's database: other tests' leaders share the server.
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
			JOIN pg_database d ON d.oid = l.database
			WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() AND l.pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled && err != context.DeadlineExceeded {
		t.Fatalf("after its context ended RunAsLeader returned %v", err)
	}
}
