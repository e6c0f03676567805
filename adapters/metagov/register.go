package metagov

import (
	"context"
	"fmt"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Metagov adapter as the App registers it: enabled by METAGOV_URL, its
// ledger in the kit's tables.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformMetagov,
		Short: "the Metagov adapter: performs metagov.perform_action, start_process and close_process against METAGOV_URL",
		Config: func(getenv func(string) string) platform.Section {
			return ConfigFromEnv(getenv)
		},
		New:            newAdapter,
		Migrate:        platform.Migrate,
		NeedsDirectory: true,
		Standalone:     true,
	}
}

// Adapter is the Metagov adapter as a platform.Adapter: effects only, no routes.
type Adapter struct {
	*Performer
}

var _ platform.Adapter = (*Adapter)(nil)

// NewAdapter builds the adapter from its settings and the App's host: its ledger in
// host.Pool (in memory without one), the connections from host.Directory, their keys opened
// with host.Box, the processes' callbacks on host.BaseURL.
func NewAdapter(ctx context.Context, cfg Config, host platform.Host) (*Adapter, error) {
	ledger, err := platform.LedgerOf(ctx, host, domain.PlatformMetagov)
	if err != nil {
		return nil, err
	}
	p, err := New(cfg, Deps{Directory: host.Directory, Box: host.Box, Ledger: ledger, BaseURL: host.BaseURL, Log: host.Log})
	if err != nil {
		return nil, err
	}
	return &Adapter{Performer: p}, nil
}

func newAdapter(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	cfg, ok := sec.(Config)
	if !ok {
		return nil, fmt.Errorf("metagov: a %T is not its settings", sec)
	}
	return NewAdapter(ctx, cfg, host)
}

// Name is "metagov".
func (a *Adapter) Name() string { return domain.PlatformMetagov }

// Routes: none. Process updates arrive on the generic hook, served by the App.
func (a *Adapter) Routes() map[string]http.Handler { return nil }

// Run performs the metagov platform's effects from b until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	return effects.Run(ctx, b, domain.PlatformMetagov, []string{domain.PlatformMetagov}, a.Performer, a.log, ready)
}

// Close has nothing to stop: requests under way end with Run's context.
func (a *Adapter) Close() error { return nil }
