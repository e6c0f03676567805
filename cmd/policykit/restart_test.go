package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKeepRunningStartsAFailedComponentAgain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		keepRunning(ctx, discardLogger(), "test", func(ctx context.Context) error {
			runs++
			if runs == 3 {
				cancel() // the third run lasts until shutdown
				<-ctx.Done()
				return ctx.Err()
			}
			return errors.New("database away")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("keepRunning did not return after its context ended")
	}
	if runs != 3 {
		t.Fatalf("%d runs, want 3", runs)
	}
}

// The projections stop on a database fault they cannot retry (here their table gone for a
// while, as in a botched manual fix); the server starts them again with backoff, and once the
// table is back the read models catch up, instead of the server stopping for good.
func TestProjectionsStartAgainAfterAFault(t *testing.T) {
	cfg := testConfig(t)
	app, stop := startApp(t, cfg)
	defer stop()
	ctx := context.Background()
	first := mustAppendCommunity(t, app.Store(), "Before")
	waitFor(t, "the first community projected", func() bool { return communityProjected(t, app, first) })

	if _, err := app.Pool().Exec(ctx, `ALTER TABLE communities RENAME TO communities_away`); err != nil {
		t.Fatal(err)
	}
	second := mustAppendCommunity(t, app.Store(), "During")
	time.Sleep(time.Second) // the projections meet the missing table and stop
	if _, err := app.Pool().Exec(ctx, `ALTER TABLE communities_away RENAME TO communities`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the community recorded during the fault projected", func() bool { return communityProjected(t, app, second) })
}

func communityProjected(t *testing.T, app *App, id string) bool {
	t.Helper()
	var n int
	if err := app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM communities WHERE id = $1`, id).Scan(&n); err != nil {
		return false
	}
	return n == 1
}
