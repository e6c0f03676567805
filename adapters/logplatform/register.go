package logplatform

import (
	"context"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the log platform as the App registers it, performing the effects of
// platforms (its own, "log", and those it stands in for), recorded in host.Pool (in memory
// without one).
func Registration(platforms []string) platform.Registration {
	return platform.Registration{
		Name:    domain.PlatformLog,
		Short:   "the log platform: records every effect of the platforms it stands in for",
		Config:  func(func(string) string) platform.Section { return platform.Always{} },
		Migrate: Migrate,
		New: func(ctx context.Context, _ platform.Section, host platform.Host) (platform.Adapter, error) {
			var ledger Ledger
			if host.Pool != nil {
				if err := Migrate(ctx, host.Pool); err != nil {
					return nil, err
				}
				ledger = PostgresLedger{Pool: host.Pool}
			}
			return &Adapter{Platform: New(ledger, host.Log), platforms: platforms}, nil
		},
	}
}

// Adapter is the log platform as a platform.Adapter.
type Adapter struct {
	*Platform
	platforms []string
}

var _ platform.Adapter = (*Adapter)(nil)

func (a *Adapter) Name() string                    { return domain.PlatformLog }
func (a *Adapter) Routes() map[string]http.Handler { return nil }
func (a *Adapter) Close() error                    { return nil }

// Run records the effects of its platforms until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	return effects.Run(ctx, b, "log", a.platforms, a.Platform, a.Platform.log, ready)
}
