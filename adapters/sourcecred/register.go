package sourcecred

import (
	"context"
	"fmt"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the SourceCred adapter as the App registers it: enabled by
// SOURCECRED_ENABLED or SOURCECRED_ALLOWED_HOSTS, its ledger in the kit's tables.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformSourceCred,
		Short: "the SourceCred adapter: answers sourcecred.get_cred and get_grain from each community's instance's output/accounts.json",
		Config: func(getenv func(string) string) platform.Section {
			return ConfigFromEnv(getenv)
		},
		New:            newAdapter,
		Migrate:        platform.Migrate,
		NeedsDirectory: true,
		Standalone:     true,
	}
}

// Adapter is the SourceCred adapter as a platform.Adapter: effects only, no routes.
type Adapter struct {
	*Performer
}

var _ platform.Adapter = (*Adapter)(nil)

// NewAdapter builds the adapter: its ledger in host.Pool (in memory without one), the
// connections from host.Directory.
func NewAdapter(ctx context.Context, cfg Config, host platform.Host) (*Adapter, error) {
	ledger, err := platform.LedgerOf(ctx, host, domain.PlatformSourceCred)
	if err != nil {
		return nil, err
	}
	p, err := New(cfg, Deps{Directory: host.Directory, Ledger: ledger, Log: host.Log, Now: host.Now})
	if err != nil {
		return nil, err
	}
	return &Adapter{Performer: p}, nil
}

func newAdapter(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	cfg, ok := sec.(Config)
	if !ok {
		return nil, fmt.Errorf("sourcecred: a %T is not its settings", sec)
	}
	return NewAdapter(ctx, cfg, host)
}

// Name is "sourcecred".
func (a *Adapter) Name() string { return domain.PlatformSourceCred }

// Routes: none.
func (a *Adapter) Routes() map[string]http.Handler { return nil }

// Run answers the sourcecred platform's queries from b until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	return effects.Run(ctx, b, domain.PlatformSourceCred, []string{domain.PlatformSourceCred}, a.Performer, a.log, ready)
}

// Close has nothing to stop.
func (a *Adapter) Close() error { return nil }
