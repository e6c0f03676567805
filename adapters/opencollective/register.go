package opencollective

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Open Collective adapter as the App registers it: enabled by
// OPENCOLLECTIVE_WEBHOOK_KEY, its ledger and webhooks in Postgres.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformOpenCollective,
		Short: "the Open Collective adapter: expense webhooks as trigger actions, opencollective.post_message and process_expense",
		Config: func(getenv func(string) string) platform.Section {
			return ConfigFromEnv(getenv)
		},
		New:            newAdapter,
		Migrate:        Migrate,
		NeedsDirectory: true,
		Standalone:     true,
	}
}

func newAdapter(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	cfg, ok := sec.(Config)
	if !ok {
		return nil, fmt.Errorf("opencollective: a %T is not its settings", sec)
	}
	return NewAdapter(ctx, cfg, host)
}

// NewAdapter builds the adapter from its settings and the App's host: its ledger, seen
// activities and webhooks in host.Pool (in memory without one), the connections from
// host.Directory, their tokens opened with host.Box, its webhooks on host.BaseURL.
func NewAdapter(ctx context.Context, cfg Config, host platform.Host) (*Adapter, error) {
	if host.Bus == nil {
		return nil, errors.New("opencollective: no bus")
	}
	deps := Deps{Directory: host.Directory, Box: host.Box, BaseURL: host.BaseURL, Log: host.Log, Now: host.Now,
		Publisher: platform.Publisher{Publisher: host.Bus.Publisher()}}
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("opencollective: migrate: %w", err)
		}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformOpenCollective}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformOpenCollective}
		deps.State = PostgresState{Pool: host.Pool}
	}
	a, err := New(cfg, deps)
	if err != nil {
		return nil, err
	}
	if host.Box == nil {
		a.log.Warn("opencollective: no POLICYKIT_SECRET_KEY, so no connection's token can be opened: every request to Open Collective fails")
	}
	return a, nil
}

// Routes: the webhook route.
func (a *Adapter) Routes() map[string]http.Handler {
	return map[string]http.Handler{HookPattern: a}
}

// Run performs the opencollective platform's effects from b and follows the connections to
// register their webhooks, until ctx ends; ready is closed once both are subscribed.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	effectsReady, hooksReady := make(chan struct{}), make(chan struct{})
	go func() {
		errc <- effects.Run(ctx, b, domain.PlatformOpenCollective, []string{domain.PlatformOpenCollective}, a, a.log, effectsReady)
	}()
	go func() { errc <- a.runConnections(ctx, b, hooksReady) }()
	for _, c := range []chan struct{}{effectsReady, hooksReady} {
		select {
		case <-c:
		case err := <-errc:
			cancel()
			<-errc
			if err == nil {
				err = errors.New("opencollective: stopped before it was ready")
			}
			return err
		}
	}
	if ready != nil {
		close(ready)
	}
	err := <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close has nothing to stop: work under way ends with Run's context.
func (a *Adapter) Close() error { return nil }
