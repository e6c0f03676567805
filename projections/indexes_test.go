package projections

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// indexDefs returns the definition of every index of the projectors' tables, by name.
func indexDefs(tb testing.TB, pool *pgxpool.Pool) map[string]string {
	tb.Helper()
	var tables []string
	for _, p := range All() {
		tables = append(tables, p.Tables()...)
	}
	rows, err := pool.Query(context.Background(), `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1)`, tables)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			tb.Fatal(err)
		}
		out[name] = def
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func mustEqualIndexes(tb testing.TB, what string, got, want map[string]string) {
	tb.Helper()
	for name, def := range want {
		if got[name] != def {
			tb.Errorf("%s: index %s is %q, want %q", what, name, got[name], def)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			tb.Errorf("%s: unexpected index %s", what, name)
		}
	}
}

// TestReplayDropsSecondaryIndexesAndBuildsThemAgain replays with a runner whose batches
// look at the indexes: the secondary ones are gone (and recorded) while the log is applied,
// the primary keys and unique indexes stay, and every index is back, the same, at the end.
func TestReplayDropsSecondaryIndexesAndBuildsThemAgain(t *testing.T) {
	pool, store := newTestDB(t)
	ctx := context.Background()
	b := newLogBuilder(t, store)
	writeScenario(b)
	waitReadable(t, pool)
	before := indexDefs(t, pool)
	for _, name := range []string{"proposals_due", "proposals_community_status", "effects_pending", "actions_pending", "evaluation_logs_community_time"} {
		if before[name] == "" {
			t.Fatalf("index %s is missing before the replay", name)
		}
	}

	r := NewRunner(store, pool, 7, nil, All()...)
	var during map[string]string
	recorded := 0
	r.afterBatch = func(ctx context.Context, n int) error {
		if during == nil {
			during = indexDefs(t, pool)
			recorded = mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`)
		}
		return nil
	}
	mustReplay(t, r, pool)
	if during == nil {
		t.Fatal("no batch was applied")
	}
	for _, name := range []string{"proposals_pkey", "proposal_ballots_pkey", "community_events_pkey", "policy_versions_history", "effects_pkey"} {
		if during[name] == "" {
			t.Errorf("index %s was dropped during the replay", name)
		}
	}
	dropped := 0
	for name := range before {
		if _, ok := during[name]; !ok {
			dropped++
		}
	}
	if dropped == 0 || dropped != recorded {
		t.Errorf("%d indexes dropped during the replay, %d recorded", dropped, recorded)
	}
	for _, name := range []string{"proposals_due", "proposals_community_status", "effects_pending", "evaluation_logs_community_time"} {
		if _, ok := during[name]; ok {
			t.Errorf("index %s was kept during the replay", name)
		}
	}
	mustEqualIndexes(t, "after the replay", indexDefs(t, pool), before)
	if n := mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`); n != 0 {
		t.Errorf("%d dropped indexes still recorded after the replay", n)
	}

	// Live catch-up never drops an index.
	live := NewRunner(store, pool, 7, nil, All()...)
	if err := live.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	live.afterBatch = func(ctx context.Context, n int) error {
		if n := mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`); n != 0 {
			t.Errorf("catch-up recorded %d dropped indexes", n)
		}
		mustEqualIndexes(t, "during catch-up", indexDefs(t, pool), before)
		live.afterBatch = nil
		return nil
	}
	mustCatchUp(t, live, pool)
}

// TestReplayThatFailsBuildsTheIndexes ends a replay with an error midway: Replay builds the
// dropped indexes before it returns.
func TestReplayThatFailsBuildsTheIndexes(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	writeScenario(b)
	waitReadable(t, pool)
	before := indexDefs(t, pool)
	r := NewRunner(store, pool, 7, nil, All()...)
	batches := 0
	r.afterBatch = func(ctx context.Context, n int) error {
		if batches++; batches == 3 {
			return errCrash
		}
		return nil
	}
	if _, err := r.Replay(context.Background(), nil); !errors.Is(err, errCrash) {
		t.Fatalf("replay = %v, want the crash", err)
	}
	mustEqualIndexes(t, "after the failed replay", indexDefs(t, pool), before)
	if n := mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`); n != 0 {
		t.Errorf("%d dropped indexes still recorded", n)
	}
}

// crashDBEnv names the database a child test process replays into and dies during.
const crashDBEnv = "PROJECTIONS_REPLAY_CRASH_DB"

// TestReplayCrashLeavesIndexesToTheNextRunner kills a process in the middle of a replay (a
// child process exits from inside a batch transaction): the secondary indexes stay dropped
// and recorded. A new runner builds them again before it catches up, and the tables end as
// live catch-up left them.
func TestReplayCrashLeavesIndexesToTheNextRunner(t *testing.T) {
	if url := os.Getenv(crashDBEnv); url != "" {
		replayAndDie(t, url)
		return
	}
	pool, url := pgtest.NewPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool)
	b := newLogBuilder(t, store)
	writeScenario(b)
	waitReadable(t, pool)
	before := indexDefs(t, pool)
	mustCatchUp(t, NewRunner(store, pool, 7, nil, All()...), pool)
	live := dump(t, pool)
	if live["vote_history"] == "[]" {
		t.Fatal("the live projection is empty")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestReplayCrashLeavesIndexesToTheNextRunner$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+url)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("the replaying process did not die in its third batch: %v\n%s", err, out)
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`); n == 0 {
		t.Fatal("no dropped index recorded after the crash")
	}
	for _, name := range []string{"proposals_due", "effects_pending"} {
		if _, ok := indexDefs(t, pool)[name]; ok {
			t.Errorf("index %s exists after the crash", name)
		}
	}
	if n := mustCount(t, pool, `SELECT count(*) FROM community_events`); n == 0 || n > 14 {
		t.Errorf("community_events has %d rows after the crash, want those of the two batches committed", n)
	}

	mustCatchUp(t, NewRunner(store, pool, 7, nil, All()...), pool)
	mustEqualIndexes(t, "after the next runner", indexDefs(t, pool), before)
	if n := mustCount(t, pool, `SELECT count(*) FROM projection_dropped_indexes`); n != 0 {
		t.Errorf("%d dropped indexes still recorded", n)
	}
	mustEqualDumps(t, "resumed after a crashed replay vs live", dump(t, pool), live)
}

// replayAndDie is the child process of TestReplayCrashLeavesIndexesToTheNextRunner.
func replayAndDie(t *testing.T, url string) {
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(postgres.New(pool), pool, 7, nil, All()...)
	batches := 0
	r.afterBatch = func(ctx context.Context, n int) error {
		if batches++; batches == 3 {
			os.Exit(3)
		}
		return nil
	}
	_, err = r.Replay(context.Background(), nil)
	t.Fatalf("replay returned %v without dying", err)
}
