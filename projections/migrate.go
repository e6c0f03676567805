package projections

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the read-model tables. It first builds the indexes that a
// replay dropped and could not build again (see Runner.Replay), so that migrations find
// every index the earlier ones made.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := restoreIndexes(ctx, pool); err != nil {
		return fmt.Errorf("migrate read models: %w", err)
	}
	_, err := migrate.Apply(ctx, pool, "projections_schema_migrations", migrations, "migrations")
	return err
}
