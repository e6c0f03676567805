package logplatform

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the Postgres ledger's table.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "log_platform_schema_migrations", migrations, "migrations")
	return err
}

// PostgresLedger keeps the log platform's record in Postgres.
type PostgresLedger struct{ Pool *pgxpool.Pool }

// Record inserts the effect unless its key is there, and returns the stored result.
func (l PostgresLedger) Record(ctx context.Context, req bus.EffectRequest, res map[string]any) (map[string]any, error) {
	args, err := json.Marshal(req.Args)
	if err != nil {
		return nil, err
	}
	result, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var stored []byte
	err = l.Pool.QueryRow(ctx, `WITH ins AS (
		INSERT INTO log_platform_effects (idempotency_key, effect_id, community_id, proposal_id, action_id, platform, method, purpose, args, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING result)
		SELECT result FROM ins UNION ALL SELECT result FROM log_platform_effects WHERE idempotency_key = $1 LIMIT 1`,
		req.IdempotencyKey, req.EffectID, req.CommunityID, req.ProposalID, req.ActionID, req.Platform, req.Method, req.Purpose, args, result).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent delivery inserted the key after this statement's snapshot was taken:
		// its insert waited for that one and did nothing, and its select cannot see the row.
		// A new statement, a new snapshot, does.
		err = l.Pool.QueryRow(ctx, `SELECT result FROM log_platform_effects WHERE idempotency_key = $1`, req.IdempotencyKey).Scan(&stored)
	}
	if err != nil {
		return nil, fmt.Errorf("log platform: record %s: %w", req.EffectID, err)
	}
	var out map[string]any
	if err := json.Unmarshal(stored, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Effects lists the recorded effects in the order they were performed.
func (l PostgresLedger) Effects(ctx context.Context) ([]bus.EffectRequest, error) {
	rows, err := l.Pool.Query(ctx, `SELECT idempotency_key, effect_id, community_id, proposal_id, action_id, platform, method, purpose, args
		FROM log_platform_effects ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bus.EffectRequest
	for rows.Next() {
		var r bus.EffectRequest
		var args []byte
		if err := rows.Scan(&r.IdempotencyKey, &r.EffectID, &r.CommunityID, &r.ProposalID, &r.ActionID, &r.Platform, &r.Method, &r.Purpose, &args); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(args, &r.Args)
		out = append(out, r)
	}
	return out, rows.Err()
}
