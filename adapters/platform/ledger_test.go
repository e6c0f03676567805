package platform_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func mustMigratedPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, _ := pgtest.NewPool(tb)
	if err := platform.Migrate(context.Background(), pool); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// ledgers are the Ledger implementations the contract runs against.
func ledgers() map[string]func(t *testing.T) platform.Ledger {
	return map[string]func(t *testing.T) platform.Ledger{
		"memory": func(*testing.T) platform.Ledger { return platform.NewMemoryLedger() },
		"postgres": func(t *testing.T) platform.Ledger {
			return platform.PostgresLedger{Pool: mustMigratedPool(t), Platform: "test"}
		},
	}
}

// The Ledger contract, run against every implementation.
func TestLedgerContract(t *testing.T) {
	for name, mk := range ledgers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := mk(t)
			claim := func(key, holder string, ttl time.Duration) platform.Claim {
				t.Helper()
				cl, err := l.Claim(ctx, key, holder, ttl)
				if err != nil {
					t.Fatal(err)
				}
				return cl
			}

			if _, ok, err := l.Result(ctx, "k1"); err != nil || ok {
				t.Fatalf("empty ledger has k1 (%v)", err)
			}
			first, err := l.Complete(ctx, "k1", platform.Record{EffectID: "e1", CommunityID: "c1", Method: "initiate_vote", Purpose: "query",
				Result: map[string]any{"post_id": "1.1", "url": "u"}})
			if err != nil || first["post_id"] != "1.1" {
				t.Fatalf("complete: %v %v", first, err)
			}
			second, err := l.Complete(ctx, "k1", platform.Record{EffectID: "e1", Result: map[string]any{"post_id": "2.2"}})
			if err != nil || second["post_id"] != "1.1" {
				t.Fatalf("the first result must stand: %v %v", second, err)
			}
			if got, ok, err := l.Result(ctx, "k1"); err != nil || !ok || got["url"] != "u" {
				t.Fatalf("result k1 = %v %v %v", got, ok, err)
			}
			if cl := claim("k1", "h1", time.Minute); !cl.Done || cl.Claimed || cl.Result["post_id"] != "1.1" {
				t.Fatalf("a claim of a performed effect answered %+v", cl)
			}

			if cl := claim("k2", "h1", time.Minute); !cl.Claimed || cl.Done {
				t.Fatalf("first claim answered %+v", cl)
			}
			if cl := claim("k2", "h2", time.Minute); cl.Claimed || cl.Done {
				t.Fatalf("a live claim taken over: %+v", cl)
			}
			if cl := claim("k2", "h1", time.Minute); !cl.Claimed {
				t.Fatalf("the holder's renewal answered %+v", cl)
			}
			if err := l.Release(ctx, "k2", "h2"); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h2", time.Minute); cl.Claimed {
				t.Fatal("another holder released h1's claim")
			}
			if err := l.Release(ctx, "k2", "h1"); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h2", time.Minute); !cl.Claimed {
				t.Fatalf("a released key not claimed: %+v", cl)
			}
			if _, err := l.Complete(ctx, "k2", platform.Record{EffectID: "e2", Result: map[string]any{"ts": "3.3"}}); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h3", time.Minute); !cl.Done || cl.Result["ts"] != "3.3" {
				t.Fatalf("a claim after the result answered %+v", cl)
			}
			if _, err := l.Complete(ctx, "k-empty", platform.Record{EffectID: "e3"}); err != nil {
				t.Fatal(err)
			}
			if res, ok, _ := l.Result(ctx, "k-empty"); !ok || res == nil {
				t.Fatalf("an effect completed without a result has none: %v %v", res, ok)
			}
		})
	}
}

// A claim left by an attempt that crashed (never completed nor released) is taken over once
// it expires; a live one is not.
func TestLedgerCrashedClaimExpires(t *testing.T) {
	for name, mk := range ledgers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := mk(t)
			if cl, err := l.Claim(ctx, "k", "crashed", 0); err != nil || !cl.Claimed {
				t.Fatalf("claim answered %+v %v", cl, err)
			}
			if cl, err := l.Claim(ctx, "k", "next", time.Minute); err != nil || !cl.Claimed {
				t.Fatalf("an expired claim not taken over: %+v %v", cl, err)
			}
			if cl, err := l.Claim(ctx, "k", "crashed", time.Minute); err != nil || cl.Claimed {
				t.Fatalf("the taker's live claim taken back: %+v %v", cl, err)
			}
		})
	}
}

// Many attempts claim one key at once: exactly one holds it.
func TestLedgerClaimRace(t *testing.T) {
	for name, mk := range ledgers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := mk(t)
			var claimed atomic.Int32
			var wg sync.WaitGroup
			for i := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cl, err := l.Claim(ctx, "k", fmt.Sprint("h", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if cl.Claimed {
						claimed.Add(1)
					}
				}()
			}
			wg.Wait()
			if claimed.Load() != 1 {
				t.Fatalf("%d attempts claimed one key", claimed.Load())
			}
		})
	}
}

// Once performs an effect once however many deliveries of it arrive at the same time, and
// each answers the one result; a failed attempt is tried again by the next delivery; a
// crashed attempt's claim is taken over once expired.
func TestOncePerformsEachEffectOnce(t *testing.T) {
	for name, mk := range ledgers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := mk(t)
			var calls atomic.Int32
			perform := func(context.Context) (map[string]any, error) {
				n := calls.Add(1)
				return map[string]any{"n": float64(n)}, nil
			}
			opts := platform.OnceOptions{Poll: time.Millisecond}
			var wg sync.WaitGroup
			results := make(chan map[string]any, 16)
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := platform.Once(ctx, l, "e1", platform.Record{EffectID: "e1"}, opts, perform)
					if err != nil {
						t.Error(err)
					}
					results <- res
				}()
			}
			wg.Wait()
			close(results)
			if calls.Load() != 1 {
				t.Fatalf("performed %d times", calls.Load())
			}
			for res := range results {
				if res["n"] != float64(1) {
					t.Fatalf("a delivery answered %v", res)
				}
			}

			boom := errors.New("platform down")
			if _, err := platform.Once(ctx, l, "e2", platform.Record{EffectID: "e2"}, opts, func(context.Context) (map[string]any, error) {
				return nil, boom
			}); !errors.Is(err, boom) {
				t.Fatalf("failed attempt answered %v", err)
			}
			if res, err := platform.Once(ctx, l, "e2", platform.Record{EffectID: "e2"}, opts, perform); err != nil || res["n"] != float64(2) {
				t.Fatalf("the retry after a failure answered %v %v", res, err)
			}

			if cl, err := l.Claim(ctx, "e3", "crashed", 0); err != nil || !cl.Claimed {
				t.Fatalf("claim %+v %v", cl, err)
			}
			if res, err := platform.Once(ctx, l, "e3", platform.Record{EffectID: "e3"}, opts, perform); err != nil || res["n"] != float64(3) {
				t.Fatalf("after a crash answered %v %v", res, err)
			}
			if _, err := platform.Once(ctx, l, "", platform.Record{}, opts, perform); err == nil {
				t.Fatal("an effect without a key was performed")
			}
		})
	}
}

// Many Completes of one key at once (a claim that expired under a slow attempt, and the
// attempt that took it over): every one answers the same, first, result.
func TestLedgerCompleteRace(t *testing.T) {
	for name, mk := range ledgers() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := mk(t)
			got := make([]map[string]any, 16)
			var wg sync.WaitGroup
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := l.Complete(ctx, "k", platform.Record{EffectID: "e", Result: map[string]any{"n": fmt.Sprint(i)}})
					if err != nil {
						t.Error(err)
					}
					got[i] = res
				}()
			}
			wg.Wait()
			for _, res := range got {
				if res == nil || res["n"] != got[0]["n"] {
					t.Fatalf("completes answered %v", got)
				}
			}
		})
	}
}
