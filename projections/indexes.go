package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore/postgres"
)

// A replay writes every row of its tables again, and keeping each secondary index up to
// date row by row costs more than the rows themselves (an update that changes an indexed
// column adds an entry to every index of the table). So Replay drops them after the TRUNCATE
// and builds each once, in bulk, when the log has been applied. Only indexes that nothing
// of the projectors' writes needs are dropped: not primary keys, unique indexes (ON CONFLICT
// arbiters) nor indexes of constraints. Live catch-up never drops any.
//
// Each dropped index is recorded in projection_dropped_indexes in the transaction that drops
// it, so that one lost to a crash mid-replay is built again by the next runner: restoreIndexes
// runs at the end of Replay, before CatchUp and Run, and in Migrate.

// secondaryIndexesSQL lists the droppable indexes of the tables $1.
const secondaryIndexesSQL = `SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid)
	FROM pg_index i
	WHERE i.indrelid = ANY (ARRAY(SELECT to_regclass(t) FROM unnest($1::text[]) AS t))
		AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion AND i.indisvalid
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
	ORDER BY 1`

// dropSecondaryIndexes records and drops the droppable indexes of tables in tx.
func dropSecondaryIndexes(ctx context.Context, tx pgx.Tx, tables []string) error {
	rows, err := tx.Query(ctx, secondaryIndexesSQL, tables)
	if err != nil {
		return fmt.Errorf("list secondary indexes: %w", err)
	}
	type index struct{ name, table, def string }
	idx, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (index, error) {
		var i index
		err := row.Scan(&i.name, &i.table, &i.def)
		return i, err
	})
	if err != nil {
		return fmt.Errorf("list secondary indexes: %w", err)
	}
	for _, i := range idx {
		// A record of an index that exists is stale (the index was built by hand since): the
		// definition at hand replaces it.
		if _, err := tx.Exec(ctx, `INSERT INTO projection_dropped_indexes (name, table_name, definition, dropped_at)
			VALUES ($1, $2, $3, now())
			ON CONFLICT (name) DO UPDATE SET table_name = EXCLUDED.table_name, definition = EXCLUDED.definition,
				dropped_at = EXCLUDED.dropped_at`, i.name, i.table, i.def); err != nil {
			return fmt.Errorf("record index %s: %w", i.name, err)
		}
		// The name comes from regclass output, quoted where it needs to be.
		if _, err := tx.Exec(ctx, `DROP INDEX `+i.name); err != nil {
			return fmt.Errorf("drop index %s: %w", i.name, err)
		}
	}
	return nil
}

// restoreIndexes builds every index that a replay dropped and has not built again, and
// forgets them, in one transaction. The rows are locked first, so that of two runners
// restoring at once the second finds nothing left to do. A schema from before the record
// (migration 0008) has nothing to restore.
func restoreIndexes(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Building indexes takes a while and appends no events (see batchTx).
		if _, err := tx.Exec(ctx, `SELECT set_config('application_name', $1, true)`, postgres.NonAppending); err != nil {
			return err
		}
		var recorded bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('projection_dropped_indexes') IS NOT NULL`).Scan(&recorded); err != nil || !recorded {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT name, definition FROM projection_dropped_indexes ORDER BY name FOR UPDATE`)
		if err != nil {
			return err
		}
		defs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([2]string, error) {
			var d [2]string
			err := row.Scan(&d[0], &d[1])
			return d, err
		})
		if err != nil || len(defs) == 0 {
			return err
		}
		// A bulk build sorts the table once; the default memory for it is small. The commit
		// need not wait for its WAL: a server crash that loses it loses the deletions of the
		// records with it, and the indexes are built again.
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		for _, d := range defs {
			if _, err := tx.Exec(ctx, ifNotExists(d[1])); err != nil {
				return fmt.Errorf("create index %s: %w", d[0], err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM projection_dropped_indexes WHERE name = $1`, d[0]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore dropped indexes: %w", err)
	}
	return nil
}

// ifNotExists turns pg_get_indexdef's "CREATE [UNIQUE] INDEX name ON ..." into a statement
// that leaves an index of that name in place (built meanwhile by another runner).
func ifNotExists(def string) string {
	const kw = " INDEX "
	i := strings.Index(def, kw)
	if i < 0 {
		return def
	}
	return def[:i+len(kw)] + "IF NOT EXISTS " + def[i+len(kw):]
}
