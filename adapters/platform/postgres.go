package platform

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables (platform_*). Every adapter that keeps its state in
// Postgres calls it before its own migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, "platform_schema_migrations", migrations, "migrations")
	return err
}

var _ Ledger = PostgresLedger{}

// PostgresLedger keeps one platform's ledger in platform_effects and platform_effect_claims,
// so that a restart, or another process of the same adapter, performs nothing twice. Claim
// expiry is measured on the database's clock, so that adapters on several hosts agree on it.
type PostgresLedger struct {
	Pool     *pgxpool.Pool
	Platform string
}

func (l PostgresLedger) Result(ctx context.Context, key string) (map[string]any, bool, error) {
	var raw []byte
	err := l.Pool.QueryRow(ctx, `SELECT result FROM platform_effects WHERE platform = $1 AND idempotency_key = $2`,
		l.Platform, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s effect %s: %w", l.Platform, key, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false, fmt.Errorf("%s effect %s: %w", l.Platform, key, err)
	}
	return out, true, nil
}

func (l PostgresLedger) Claim(ctx context.Context, key, holder string, ttl time.Duration) (Claim, error) {
	if res, ok, err := l.Result(ctx, key); err != nil || ok {
		return Claim{Done: ok, Result: res}, err
	}
	err := l.Pool.QueryRow(ctx, `INSERT INTO platform_effect_claims (platform, idempotency_key, holder, expires_at)
		VALUES ($1, $2, $3, now() + make_interval(secs => $4))
		ON CONFLICT (platform, idempotency_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE platform_effect_claims.holder = excluded.holder OR platform_effect_claims.expires_at <= now()
		RETURNING holder`, l.Platform, key, holder, ttl.Seconds()).Scan(new(string))
	if errors.Is(err, pgx.ErrNoRows) {
		return Claim{}, nil // another attempt's claim is live
	}
	if err != nil {
		return Claim{}, fmt.Errorf("%s: claim effect %s: %w", l.Platform, key, err)
	}
	// The attempt that held the key may have completed it (and dropped its claim) between
	// the look above and this claim; this second look, a later snapshot, sees it.
	res, ok, err := l.Result(ctx, key)
	if err != nil || ok {
		if ok {
			err = l.Release(ctx, key, holder)
		}
		return Claim{Done: ok, Result: res}, err
	}
	return Claim{Claimed: true}, nil
}

func (l PostgresLedger) Release(ctx context.Context, key, holder string) error {
	_, err := l.Pool.Exec(ctx, `DELETE FROM platform_effect_claims WHERE platform = $1 AND idempotency_key = $2 AND holder = $3`,
		l.Platform, key, holder)
	if err != nil {
		return fmt.Errorf("%s: release effect %s: %w", l.Platform, key, err)
	}
	return nil
}

// Complete stores the result and drops the key's claim in one statement, so that an attempt
// claiming the key afterwards finds the result.
func (l PostgresLedger) Complete(ctx context.Context, key string, rec Record) (map[string]any, error) {
	if rec.Result == nil {
		rec.Result = map[string]any{}
	}
	result, err := json.Marshal(rec.Result)
	if err != nil {
		return nil, fmt.Errorf("%s: effect %s result: %w", l.Platform, rec.EffectID, err)
	}
	var stored []byte
	err = l.Pool.QueryRow(ctx, `WITH ins AS (
		INSERT INTO platform_effects (platform, idempotency_key, effect_id, community_id, method, purpose, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (platform, idempotency_key) DO NOTHING
		RETURNING result),
	released AS (DELETE FROM platform_effect_claims WHERE platform = $1 AND idempotency_key = $2)
		SELECT result FROM ins UNION ALL SELECT result FROM platform_effects WHERE platform = $1 AND idempotency_key = $2 LIMIT 1`,
		l.Platform, key, rec.EffectID, rec.CommunityID, rec.Method, rec.Purpose, result).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent Complete inserted the key after this statement's snapshot was taken:
		// this insert waited for it and did nothing, and the select cannot see its row. A new
		// statement, a new snapshot, does.
		err = l.Pool.QueryRow(ctx, `SELECT result FROM platform_effects WHERE platform = $1 AND idempotency_key = $2`, l.Platform, key).Scan(&stored)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: record effect %s: %w", l.Platform, rec.EffectID, err)
	}
	var out map[string]any
	if err := json.Unmarshal(stored, &out); err != nil {
		return nil, fmt.Errorf("%s: effect %s result: %w", l.Platform, rec.EffectID, err)
	}
	return out, nil
}
