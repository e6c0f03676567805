package discourse

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Discourse adapter as the App registers it: enabled by
// DISCOURSE_ENABLED or DISCOURSE_ALLOWED_HOSTS; its state, ledger and seen events in the
// App's database.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformDiscourse,
		Short: "the Discourse adapter: governs topics and posts created on each community's site, performs discourse.* and reads its polls' votes",
		Config: func(getenv func(string) string) platform.Section {
			return SectionFromEnv(getenv)
		},
		New: newAdapter,
		Migrate: func(ctx context.Context, pool *pgxpool.Pool) error {
			if err := platform.Migrate(ctx, pool); err != nil {
				return err
			}
			return Migrate(ctx, pool)
		},
		NeedsDirectory: true,
		Standalone:     true,
		Unconfigured: map[string]string{
			Pattern: "the Discourse adapter is not enabled on this server: set DISCOURSE_ENABLED=true (and DISCOURSE_ALLOWED_HOSTS to limit the sites it reaches)",
		},
	}
}

// Hosted is the adapter as a platform.Adapter: the webhook route, effects and vote reading.
type Hosted struct {
	*Adapter
}

var _ platform.Adapter = Hosted{}

func newAdapter(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	s, ok := sec.(Section)
	if !ok {
		return nil, fmt.Errorf("discourse: a %T is not its settings", sec)
	}
	deps := Deps{Publisher: host.Bus.Publisher(), Directory: host.Directory, Box: host.Box, Logger: host.Log, Now: host.Now}
	if host.Pool != nil {
		if err := platform.Migrate(ctx, host.Pool); err != nil {
			return nil, err
		}
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, err
		}
		deps.State = PostgresState{Pool: host.Pool}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformDiscourse}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformDiscourse}
	}
	a, err := New(s, deps)
	if err != nil {
		return nil, err
	}
	return Hosted{Adapter: a}, nil
}

// Name is "discourse".
func (h Hosted) Name() string { return domain.PlatformDiscourse }

// Routes: the webhook.
func (h Hosted) Routes() map[string]http.Handler { return map[string]http.Handler{Pattern: h.Adapter} }
