package projections

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the read-model tables.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "projections_schema_migrations", migrations, "migrations")
	return err
}
