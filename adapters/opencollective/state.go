package opencollective

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
)

// Webhook is a webhook the adapter registered on Open Collective for a connection.
type Webhook struct {
	CommunityID string
	// Connection names the connection it was registered for (not secret: a digest).
	Connection   string
	ActivityType string
	Collective   string
	WebhookID    string
	// TokenName and SealedToken are the connection's token, sealed, to remove the webhook
	// once the connection is gone from the directory.
	TokenName   string
	SealedToken string
}

// State keeps the webhooks registered. Implementations are safe for concurrent use.
type State interface {
	// SaveWebhook records w; a second record of its connection and activity type keeps the
	// first.
	SaveWebhook(ctx context.Context, w Webhook) error
	// Webhooks returns the community's webhooks, of every connection it had.
	Webhooks(ctx context.Context, communityID string) ([]Webhook, error)
	// DeleteWebhook forgets one.
	DeleteWebhook(ctx context.Context, communityID, connection, activityType string) error
}

var _ State = (*MemoryState)(nil)

// MemoryState is State in memory; its zero value is empty.
type MemoryState struct {
	mu    sync.Mutex
	hooks []Webhook
}

func (m *MemoryState) SaveWebhook(_ context.Context, w Webhook) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.ContainsFunc(m.hooks, func(h Webhook) bool {
		return h.CommunityID == w.CommunityID && h.Connection == w.Connection && h.ActivityType == w.ActivityType
	}) {
		return nil
	}
	m.hooks = append(m.hooks, w)
	return nil
}

func (m *MemoryState) Webhooks(_ context.Context, communityID string) ([]Webhook, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Webhook
	for _, h := range m.hooks {
		if h.CommunityID == communityID {
			out = append(out, h)
		}
	}
	return out, nil
}

func (m *MemoryState) DeleteWebhook(_ context.Context, communityID, connection, activityType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks = slices.DeleteFunc(m.hooks, func(h Webhook) bool {
		return h.CommunityID == communityID && h.Connection == connection && h.ActivityType == activityType
	})
	return nil
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the kit's tables (platform.Migrate) and the adapter's own
// (opencollective_*).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	_, err := migrate.Apply(ctx, pool, "opencollective_schema_migrations", migrations, "migrations")
	return err
}

var _ State = PostgresState{}

// PostgresState keeps State in opencollective_webhooks, shared by the adapter's processes.
type PostgresState struct{ Pool *pgxpool.Pool }

func (s PostgresState) SaveWebhook(ctx context.Context, w Webhook) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO opencollective_webhooks
		(community_id, connection, activity_type, collective, webhook_id, token_name, sealed_token)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		w.CommunityID, w.Connection, w.ActivityType, w.Collective, w.WebhookID, w.TokenName, w.SealedToken)
	if err != nil {
		return fmt.Errorf("opencollective: save webhook: %w", err)
	}
	return nil
}

func (s PostgresState) Webhooks(ctx context.Context, communityID string) ([]Webhook, error) {
	rows, err := s.Pool.Query(ctx, `SELECT community_id, connection, activity_type, collective, webhook_id, token_name, sealed_token
		FROM opencollective_webhooks WHERE community_id = $1 ORDER BY created_at, activity_type`, communityID)
	if err != nil {
		return nil, fmt.Errorf("opencollective: webhooks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		var w Webhook
		err := r.Scan(&w.CommunityID, &w.Connection, &w.ActivityType, &w.Collective, &w.WebhookID, &w.TokenName, &w.SealedToken)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("opencollective: webhooks: %w", err)
	}
	return out, nil
}

func (s PostgresState) DeleteWebhook(ctx context.Context, communityID, connection, activityType string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM opencollective_webhooks WHERE community_id = $1 AND connection = $2 AND activity_type = $3`,
		communityID, connection, activityType)
	if err != nil {
		return fmt.Errorf("opencollective: delete webhook: %w", err)
	}
	return nil
}
