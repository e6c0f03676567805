package bus_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/bus/bustest"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func TestPostgres(t *testing.T) {
	dbURL := pgtest.NewDatabase(t) // skips, or fails under CI=true, without Postgres
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// Every active subscription holds a connection while it works through a batch.
	pcfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	bustest.Run(t, func(t *testing.T, group string) *bus.Bus {
		cfg := testConfig(bus.TransportPostgres, group, "")
		cfg.Postgres = pool
		return mustOpen(t, cfg)
	})
}
