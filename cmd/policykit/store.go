package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/kurrent"
	"github.com/policykit-go/policykit/eventstore/postgres"
)

// The event store backends (POLICYKIT_EVENTSTORE). Whichever holds the log, the read models,
// checkpoints, accounts and the Postgres bus stay in the Postgres database.
const (
	EventStorePostgres  = "postgres"
	EventStoreKurrentDB = "kurrentdb"
)

// validateEventStore reports what is wrong with the event store settings.
func (c Config) validateEventStore() []error {
	switch c.EventStore {
	case "", EventStorePostgres:
		return nil
	case EventStoreKurrentDB:
		if c.KurrentDBURL == "" {
			return []error{fmt.Errorf("POLICYKIT_KURRENTDB_URL: required with POLICYKIT_EVENTSTORE=kurrentdb, e.g. esdb://127.0.0.1:2113?tls=false")}
		}
		// The parser's message can quote the string, password and all: it is not repeated.
		if _, err := esdb.ParseConnectionString(c.KurrentDBURL); err != nil {
			return []error{fmt.Errorf("POLICYKIT_KURRENTDB_URL: not a KurrentDB connection string (want esdb://host:port?tls=false or esdb+discover://...)")}
		}
		return nil
	default:
		return []error{fmt.Errorf("POLICYKIT_EVENTSTORE %q: want postgres or kurrentdb", c.EventStore)}
	}
}

// newEventStore builds the configured event store on pool (Postgres) or by connecting to
// KurrentDB, and returns what closes it.
func newEventStore(ctx context.Context, cfg *Config, pool *pgxpool.Pool, logger *slog.Logger) (eventstore.Store, func(), error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "eventstore")
	if cfg.EventStore != EventStoreKurrentDB {
		return postgres.New(pool, postgres.WithLogger(logger)), func() {}, nil
	}
	s, err := kurrent.Open(ctx, cfg.KurrentDBURL, kurrent.WithLogger(logger))
	if err != nil {
		return nil, nil, fmt.Errorf("event store: %w", err)
	}
	return s, func() { _ = s.Close() }, nil
}
