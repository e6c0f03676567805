package projections

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/policykit-go/policykit/eventstore"
)

// TestPreparedWritesForOtherCheckpointsAreNotUsed gives a batch writes prepared for
// checkpoints the projectors have moved past (as another runner may have moved them): the
// runner projects the batch again from the real checkpoints, and nothing is applied twice
// (which would fail the batch on a duplicate key and send it down the slow path, logged).
func TestPreparedWritesForOtherCheckpointsAreNotUsed(t *testing.T) {
	pool, store := newTestDB(t)
	ctx := context.Background()
	b := newLogBuilder(t, store)
	writeScenario(b)
	waitReadable(t, pool)
	mustReplay(t, NewRunner(store, pool, 1000, nil, All()...), pool)
	want := dump(t, pool)

	evs, err := store.ReadAll(ctx, eventstore.Start, 60)
	if err != nil || len(evs) != 60 {
		t.Fatalf("read the first 60 events: %d, %v", len(evs), err)
	}
	envs := decode(evs)
	var logged bytes.Buffer
	r := NewRunner(store, pool, 1000, slog.New(slog.NewTextHandler(&logged, nil)), All()...)
	if err := r.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.apply(ctx, envs[:30]); err != nil {
		t.Fatal(err)
	}
	stale := r.prepare(envs, map[string]eventstore.Position{}) // as if nothing had been applied
	if err := r.applyPrepared(ctx, envs, stale); err != nil {
		t.Fatal(err)
	}
	if logged.Len() > 0 {
		t.Errorf("the batch did not apply at once:\n%s", logged.String())
	}
	mustCatchUp(t, r, pool)
	if f, err := r.Failures(ctx); err != nil || len(f) != 0 {
		t.Fatalf("failures = %v, %v; want none", f, err)
	}
	mustEqualDumps(t, "with stale prepared writes vs replay", dump(t, pool), want)
}
