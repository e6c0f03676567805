package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the web platform as the App registers it: it performs the effects of the
// web and constitution platforms inside the server.
func Registration() platform.Registration {
	return platform.Registration{
		Name:   domain.PlatformWeb,
		Short:  "PolicyKit's own site and its constitution as a platform",
		Config: func(func(string) string) platform.Section { return platform.Always{} },
		New: func(ctx context.Context, _ platform.Section, host platform.Host) (platform.Adapter, error) {
			ledger, err := platform.LedgerOf(ctx, host, domain.PlatformWeb)
			if err != nil {
				return nil, err
			}
			return &Adapter{Platform: Platform{BaseURL: host.BaseURL, Ledger: ledger}, log: host.Log}, nil
		},
	}
}

// Adapter is the web platform as a platform.Adapter.
type Adapter struct {
	Platform
	log *slog.Logger
}

var _ platform.Adapter = (*Adapter)(nil)

func (a *Adapter) Name() string                    { return domain.PlatformWeb }
func (a *Adapter) Routes() map[string]http.Handler { return nil }
func (a *Adapter) Close() error                    { return nil }

// Run performs the effects of the web and constitution platforms until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	return effects.Run(ctx, b, "web", []string{domain.PlatformWeb, domain.PlatformConstitution}, a.Platform, a.log, ready)
}
