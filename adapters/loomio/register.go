package loomio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Loomio adapter as the App registers it: enabled by LOOMIO_URL, its
// ledger in the kit's tables and its polls in loomio_polls.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformLoomio,
		Short: "the Loomio adapter: loomio.initiate_vote and create_discussion against LOOMIO_URL, votes from the group's webhook and the API",
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
		return nil, fmt.Errorf("loomio: a %T is not its settings", sec)
	}
	deps := Deps{Directory: host.Directory, Box: host.Box, Log: host.Log, Now: host.Now}
	if host.Bus != nil {
		deps.Publisher = platform.Publisher{Publisher: host.Bus.Publisher()}
	}
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("loomio: migrate: %w", err)
		}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformLoomio}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformLoomio}
		deps.Store = PostgresStore{Pool: host.Pool}
	}
	if deps.Log != nil && host.Box == nil {
		deps.Log.Warn("loomio: no POLICYKIT_SECRET_KEY, so no connection's api_key can be opened: every Loomio call fails")
	}
	return New(cfg, deps)
}

var _ platform.Adapter = (*Adapter)(nil)

// Name is "loomio".
func (a *Adapter) Name() string { return domain.PlatformLoomio }

// Routes: the group webhook. It has three segments after /api/hooks, so it never meets the
// generic hook's /api/hooks/{platform}/{community}.
func (a *Adapter) Routes() map[string]http.Handler {
	return map[string]http.Handler{webhookPattern: a}
}

// Run performs the loomio platform's effects from b and reads the open polls every
// PollInterval, until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	if a.deps.Publisher.Publisher == nil {
		a.deps.Publisher = platform.Publisher{Publisher: b.Publisher()}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); a.follow(ctx) }()
	err := effects.Run(ctx, b, domain.PlatformLoomio, []string{domain.PlatformLoomio}, a, a.log, ready)
	cancel()
	<-done
	return err
}

// Close stops the webhook's work under way.
func (a *Adapter) Close() error {
	a.workers.Close()
	return nil
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, maxWebhookBody))
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
