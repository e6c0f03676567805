package hooks

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
)

// Name is the hook's adapter name: `policykit adapter hooks` runs it alone.
const Name = "hooks"

// Section is the hook's part of the configuration: it runs when the server has a secret key
// (POLICYKIT_SECRET_KEY), without which no connection can keep a webhook secret this server
// opens, so that every request would be refused.
type Section struct{ SecretKey string }

func (s Section) Enabled() bool   { return s.SecretKey != "" }
func (s Section) Validate() error { return nil } // the App validates the key itself

// Registration is the generic hook as the App registers it. A community uses it by connecting
// a platform with a webhook secret.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  Name,
		Short: "the generic hook, /api/hooks/{platform}/{community}: platform and Metagov events as webhooktriggeraction",
		Config: func(getenv func(string) string) platform.Section {
			return Section{SecretKey: getenv("POLICYKIT_SECRET_KEY")}
		},
		Unconfigured: map[string]string{
			Pattern: "the generic hook needs the server's secret key, which seals each connection's webhook secret: set POLICYKIT_SECRET_KEY",
		},
		Migrate:        platform.Migrate,
		NeedsDirectory: true,
		Standalone:     true,
		New: func(ctx context.Context, _ platform.Section, host platform.Host) (platform.Adapter, error) {
			var seen platform.Seen = &platform.MemorySeen{}
			if host.Pool != nil {
				if err := platform.Migrate(ctx, host.Pool); err != nil {
					return nil, err
				}
				seen = platform.PostgresSeen{Pool: host.Pool, Platform: Name}
			}
			log := host.Log
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			if host.Box == nil {
				log.Warn("hooks: no POLICYKIT_SECRET_KEY, so no connection has a webhook secret this server can open: every hook request is refused")
			}
			return &Adapter{Hook: &Hook{
				Directory: host.Directory, Box: host.Box, Seen: seen, Log: log, Now: host.Now, Lag: 2 * time.Second,
				Publisher: platform.Publisher{Publisher: host.Bus.Publisher()},
			}}, nil
		},
	}
}

// Adapter is the hook as a platform.Adapter: routes only, no effects of its own.
type Adapter struct {
	Hook *Hook
}

var _ platform.Adapter = (*Adapter)(nil)

func (a *Adapter) Name() string                    { return Name }
func (a *Adapter) Routes() map[string]http.Handler { return map[string]http.Handler{Pattern: a.Hook} }
func (a *Adapter) Close() error                    { return nil }

// Run has nothing to do but wait: the hook works in its handler.
func (a *Adapter) Run(ctx context.Context, _ *bus.Bus, ready chan<- struct{}) error {
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	return nil
}
