package postgres

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

// migrationFiles holds the schema, one file per version, named NNNN_description.sql.
// Applied migrations are never edited; changes go into a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the database behind pool to the newest event store schema. Each migration
// runs in its own transaction under an advisory lock and is recorded in
// eventstore_schema_migrations, so Migrate may be called any number of times, also by several
// processes at once: each migration is applied exactly once and every call returns only when
// the schema is complete.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "eventstore_schema_migrations", migrationFiles, "migrations")
	return err
}
