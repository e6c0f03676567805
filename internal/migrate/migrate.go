// Package migrate applies numbered SQL files (0001_name.sql, 0002_name.sql, ...) from an
// embedded file system to a Postgres database, once each, in order. Several packages own
// their schema this way (the event store, the projections); each records what it applied in
// its own table, so they migrate independently.
package migrate

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Apply runs the migrations in dir of fsys that table does not list yet. Each migration runs
// in its own transaction under an advisory lock, so concurrent processes calling Apply at once
// apply each file exactly once. It returns the number of migrations applied.
func Apply(ctx context.Context, pool *pgxpool.Pool, table string, fsys fs.FS, dir string) (int, error) {
	files, err := list(fsys, dir)
	if err != nil {
		return 0, err
	}
	ident := pgx.Identifier{table}.Sanitize()
	lockKey := lockKeyFor(table)
	applied := 0
	for _, f := range files {
		sql, err := fs.ReadFile(fsys, path.Join(dir, f.name))
		if err != nil {
			return applied, fmt.Errorf("migrate %s: read %s: %w", table, f.name, err)
		}
		done := false
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
				return err
			}
			// Under the lock: two processes creating the table at once would collide.
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+` (
				version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+ident+` WHERE version = $1)`, f.version).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil
			}
			// No arguments: pgx sends it with the simple protocol, so it may hold many statements.
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+ident+` (version, name) VALUES ($1, $2)`, f.version, f.name); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %s: %w", table, f.name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

type file struct {
	version int
	name    string
}

func list(fsys fs.FS, dir string) ([]file, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: list %s: %w", dir, err)
	}
	var files []file
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrate: %s: name must start with a positive number and '_'", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		files = append(files, file{version: v, name: e.Name()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}

func lockKeyFor(table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("policykit-migrate:" + table))
	return int64(h.Sum64() >> 1)
}
