package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles holds the schema, one file per version, named NNNN_description.sql.
// Applied migrations are never edited; changes go into a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the pg_advisory_xact_lock key that serializes Migrate calls on one
// database ("policykit" in ASCII).
const migrateLockKey int64 = 0x706f6c6963796b69

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS eventstore_schema_migrations (
	version    int         PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate brings the database behind pool to the newest event store schema. Each migration
// runs in its own transaction under a transaction-scoped advisory lock and is recorded in
// eventstore_schema_migrations, so Migrate may be called any number of times, also by several
// processes at once: each migration is applied exactly once and every call returns only when
// the schema is complete.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	migrations, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("eventstore migrate: %w", err)
	}
	for _, m := range migrations {
		if err := applyMigration(ctx, pool, m); err != nil {
			return fmt.Errorf("eventstore migrate %s: %w", m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, pool *pgxpool.Pool, m migration) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("create eventstore_schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRow(ctx,
			"SELECT EXISTS (SELECT 1 FROM eventstore_schema_migrations WHERE version = $1)", m.version,
		).Scan(&applied); err != nil {
			return fmt.Errorf("check version: %w", err)
		}
		if applied {
			return nil
		}
		// No arguments: pgx sends it with the simple protocol, so it may hold many statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO eventstore_schema_migrations (version, applied_at) VALUES ($1, now())", m.version,
		); err != nil {
			return fmt.Errorf("record version: %w", err)
		}
		return nil
	})
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]migration, 0, len(names))
	seen := make(map[int]string, len(names))
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version %q", base, num)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, base, v)
		}
		seen[v] = base
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
