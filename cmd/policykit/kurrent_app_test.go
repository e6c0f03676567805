package main

import (
	"context"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/kurrent"
	"github.com/policykit-go/policykit/eventstore/kurrent/kurrenttest"
)

// The whole App with its log in KurrentDB (the in-process server): the seed policies are
// decided end to end, the decisions are in KurrentDB and not in Postgres, the read models
// (in Postgres) follow, and the log commands read the same store.
func TestKurrentAppDecidesTheSeedPolicies(t *testing.T) {
	url := kurrenttest.Start(t)
	cfg := engineConfig(t, bus.TransportGoChannel)
	cfg.EventStore, cfg.KurrentDBURL = EventStoreKurrentDB, url
	app, stop := startApp(t, cfg)
	defer stop()
	if _, ok := app.Store().(*kurrent.Store); !ok {
		t.Fatalf("the App's store is %T, want the KurrentDB store", app.Store())
	}
	seedCommunity(t, app)
	driveSeedPolicies(t, app)

	ctx := context.Background()
	var inPostgres int64
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&inPostgres); err != nil {
		t.Fatal(err)
	}
	if inPostgres != 0 {
		t.Fatalf("%d events in the Postgres log, want none: the log is in KurrentDB", inPostgres)
	}
	var types []string
	for ev, err := range eventstore.All(ctx, app.Store(), eventstore.Start) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
	}
	if !strings.Contains(strings.Join(types, " "), "proposal.passed") {
		t.Fatalf("the KurrentDB log holds %v, want a passed proposal", types)
	}
	waitFor(t, "the passed proposals in their read model", func() bool {
		var n int
		err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM proposals WHERE status = 'PASSED'`).Scan(&n)
		return err == nil && n == 2
	})

	// The commands that read the log take the same settings from the environment.
	t.Setenv("POLICYKIT_EVENTSTORE", EventStoreKurrentDB)
	t.Setenv("POLICYKIT_KURRENTDB_URL", url)
	auditLog(t, cfg.DatabaseURL)
}

func TestKurrentConfigIsValidated(t *testing.T) {
	for _, tc := range []struct {
		store, url, want string
	}{
		{"kurrentdb", "", "POLICYKIT_KURRENTDB_URL: required"},
		{"kurrentdb", "http://x", "POLICYKIT_KURRENTDB_URL: not a KurrentDB connection string"},
		{"mongodb", "", `POLICYKIT_EVENTSTORE "mongodb"`},
	} {
		cfg := DefaultConfig()
		cfg.EventStore, cfg.KurrentDBURL = tc.store, tc.url
		cfg.HTTPAddr = "nowhere"
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "http addr") {
			t.Errorf("Validate(%s, %q) = %v, want %q among every problem", tc.store, tc.url, err, tc.want)
		}
	}
	cfg := DefaultConfig().FromEnv(func(k string) string {
		return map[string]string{"POLICYKIT_EVENTSTORE": "kurrentdb", "POLICYKIT_KURRENTDB_URL": "esdb://127.0.0.1:2113?tls=false"}[k]
	})
	if err := cfg.Validate(); err != nil || cfg.EventStore != EventStoreKurrentDB {
		t.Fatalf("kurrentdb from the environment: %+v, %v", cfg.EventStore, err)
	}
}
