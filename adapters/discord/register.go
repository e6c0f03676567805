package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Discord adapter as the App registers it.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformDiscord,
		Short: "the Discord adapter: its interactions endpoint, Gateway connection, install and sign-in flows, and its effects",
		Config: func(getenv func(string) string) platform.Section {
			return SectionFromEnv(getenv)
		},
		New:            newPlugged,
		Migrate:        Migrate,
		NeedsDirectory: true,
		Standalone:     true,
		Unconfigured: map[string]string{
			"/api/hooks/discord": "Discord is not configured on this server: set DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN",
			"/auth/discord/":     "Discord installation is not configured on this server: set DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN and DISCORD_CLIENT_SECRET",
		},
	}
}

// directoryWait is how long a lookup of a guild waits for the directory to learn it.
const directoryWait = 5 * time.Second

// Plugged is the Discord adapter as a platform.Adapter.
type Plugged struct {
	*Adapter
	routes map[string]http.Handler
}

var _ platform.Adapter = (*Plugged)(nil)

// NewPlugged builds the Discord adapter from its settings and the App's host: its state,
// ledger and handled events in host.Pool (in memory without one), its directory
// host.Directory.
func NewPlugged(ctx context.Context, sec Section, host platform.Host) (*Plugged, error) {
	if err := sec.Validate(); err != nil {
		return nil, err
	}
	if host.Directory == nil {
		return nil, errors.New("discord: the host keeps no directory")
	}
	deps := Deps{Publisher: host.Bus.Publisher(), Directory: host.Directory, DirectoryWait: directoryWait, Logger: host.Log, Now: host.Now}
	var secrets platform.Secrets
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("migrate discord adapter: %w", err)
		}
		deps.State = PostgresState{Pool: host.Pool}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformDiscord}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformDiscord}
		if sec.TokenKey != "" {
			key, err := platform.DecodeKey(sec.TokenKey)
			if err != nil {
				return nil, fmt.Errorf("discord: DISCORD_TOKEN_KEY: %w", err)
			}
			if secrets, err = platform.NewPostgresSecrets(host.Pool, domain.PlatformDiscord, key); err != nil {
				return nil, err
			}
		}
	}
	a, err := New(sec, deps)
	if err != nil {
		return nil, err
	}
	p := &Plugged{Adapter: a, routes: map[string]http.Handler{"POST /api/hooks/discord": a}}
	p.routes["/auth/discord/"] = p.authRoutes(sec.WithDefaults(), host, secrets)
	return p, nil
}

func newPlugged(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	s, ok := sec.(Section)
	if !ok {
		return nil, fmt.Errorf("discord: a %T is not its settings", sec)
	}
	return NewPlugged(ctx, s, host)
}

// Name is "discord".
func (p *Plugged) Name() string { return domain.PlatformDiscord }

// Routes: POST /api/hooks/discord (interactions) and /auth/discord/ (install and sign-in,
// or an answer saying what to set).
func (p *Plugged) Routes() map[string]http.Handler { return p.routes }
