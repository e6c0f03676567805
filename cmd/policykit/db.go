package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// openPool connects to the configured database. When the server answers but the database
// does not exist yet and create is true, it is created first, so that a newcomer's first
// `policykit serve` against a local Postgres just works.
func openPool(ctx context.Context, dbURL string, create bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %w", redact(dbURL), err)
	}
	// The store, its listener, the projections, the engine's leader lock and (on the Postgres
	// bus) one connection per busy subscription share the pool: pgx's default (four, or the
	// number of CPUs) is too small for them, so it is raised unless the URL sets its own.
	if !setsPoolSize(dbURL) && cfg.MaxConns < defaultMaxConns {
		cfg.MaxConns = defaultMaxConns
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(dbURL), err)
	}
	err = pool.Ping(pingCtx)
	if err == nil {
		return pool, nil
	}
	pool.Close()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		if !create {
			return nil, fmt.Errorf("database %q does not exist on %s (policykit migrate or serve creates it): %w",
				cfg.ConnConfig.Database, redact(dbURL), ErrNoDatabase)
		}
		if cerr := createDatabase(pingCtx, dbURL, cfg.ConnConfig.Database); cerr != nil {
			return nil, cerr
		}
		return openPool(ctx, dbURL, false)
	}
	return nil, fmt.Errorf("cannot reach the database at %s (set POLICYKIT_DATABASE_URL or --database-url): %w", redact(dbURL), err)
}

// ErrNoDatabase: the database named by the URL does not exist, and the command does not
// create databases.
var ErrNoDatabase = errors.New("no such database")

// defaultMaxConns is the pool size when the database URL does not set pool_max_conns.
const defaultMaxConns = 40

// setsPoolSize tells whether a database URL (postgres://... or key=value DSN) sets
// pool_max_conns itself.
func setsPoolSize(dbURL string) bool {
	if u, err := url.Parse(dbURL); err == nil && u.Scheme != "" {
		return u.Query().Has("pool_max_conns")
	}
	for _, kv := range strings.Fields(dbURL) {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) == "pool_max_conns" {
			return true
		}
	}
	return false
}

func createDatabase(ctx context.Context, dbURL, name string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("database URL %s: %w", redact(dbURL), err)
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("cannot reach the database server at %s to create database %q: %w", redact(u.String()), name, err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile by another process
			return nil
		}
		return fmt.Errorf("create database %q on %s: %w", name, redact(u.String()), err)
	}
	return nil
}

// openDatabase checks the configuration, connects (creating the database when absent and
// create is set: only serve and migrate do) and brings the schema up to date: what every
// command that works on the database does first.
func openDatabase(ctx context.Context, cfg *Config, create bool) (*pgxpool.Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, create)
	if err != nil {
		return nil, err
	}
	if err := migrateAll(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
