package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/sealed"
)

// Adapter is a platform adapter as the App runs it: in `policykit serve` next to the engine,
// or alone in `policykit adapter NAME`, meeting the engine on the bus either way.
type Adapter interface {
	// Name is the adapter's name in the registry and on the command line ("slack").
	Name() string
	// Routes are its HTTP handlers by http.ServeMux pattern ("POST /api/hooks/slack",
	// "/auth/slack/"); the App serves them on its listener.
	Routes() map[string]http.Handler
	// Run performs the platform's effects from b, and runs the adapter's own background work,
	// until ctx ends; ready, if not nil, is closed once its effect requests are subscribed.
	Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error
	// Close stops the adapter's background work and waits for what is under way (which may
	// publish on the bus: close the adapter before the bus).
	Close() error
}

// Section is an adapter's part of the App's configuration, read from the environment by
// its Registration and validated with the rest of the App's Config.
type Section interface {
	// Enabled reports whether serve runs the adapter (Slack: its signing secret is set).
	Enabled() bool
	// Validate reports every problem at once, naming the setting in each.
	Validate() error
}

// Always is the Section of an adapter with no settings that always runs (web, log).
type Always struct{}

func (Always) Enabled() bool   { return true }
func (Always) Validate() error { return nil }

// Host is what the App gives each adapter it builds: infrastructure, and the few services of
// the engine's side that install and sign-in flows need, as functions, so that no adapter
// imports the engine.
type Host struct {
	// Pool holds the adapter's own tables (and the kit's); nil keeps everything in memory.
	Pool *pgxpool.Pool
	// Bus is where the adapter publishes commands.
	Bus *bus.Bus
	Log *slog.Logger
	// BaseURL is the site's public base URL, without a trailing "/" (OAuth callbacks, links).
	BaseURL string
	// Directory is kept from the bus by the App (RunDirectory) for adapters whose
	// Registration asks for it.
	Directory Directory
	// CreateCommunity creates the community of a platform installation that has none, and
	// returns its id; created is false when it existed already.
	CreateCommunity func(ctx context.Context, in Installation) (communityID string, created bool, err error)
	// EnsureUser returns the community user that a platform member is, registering them when
	// new.
	EnsureUser func(ctx context.Context, communityID, platform, username string) (userID string, err error)
	// Sessions signs a platform's member in on the site once the platform's own sign-in
	// vouched for them (nil: the adapter offers no sign-in).
	Sessions Sessions
	// Box opens the sealed secrets of communities' connections (Connection.Secrets); nil
	// when the server has no secret key, and then every Open fails.
	Box *sealed.Box
	// CheckKit reports an unknown starter kit name.
	CheckKit func(name string) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sessions starts browser sessions of accounts linked to community users: identity's Store.
type Sessions interface {
	SignInWithPlatform(ctx context.Context, m identity.PlatformMember, ttl time.Duration) (identity.Account, string, error)
}

// Installation is a platform installation that needs a community: the platform's id for
// the community (a Slack team id), its name, the installing member (the community's first
// admin) and the starter kit they chose.
type Installation struct {
	Platform    string
	ExternalID  string
	Name        string
	InstallerID string
	Kit         string
}

// Registration is how an adapter is plugged into the App: adding a platform is writing one
// and registering it, nothing else in cmd/.
type Registration struct {
	// Name of the adapter: "policykit adapter NAME".
	Name string
	// Short says what it is, for the command line's help.
	Short string
	// Config reads the adapter's Section from the environment.
	Config func(getenv func(string) string) Section
	// New builds the adapter from its (enabled, valid) Section.
	New func(ctx context.Context, sec Section, host Host) (Adapter, error)
	// Migrate creates its tables (nil: none); run by migrate and serve.
	Migrate func(ctx context.Context, pool *pgxpool.Pool) error
	// NeedsDirectory: the adapter reads Host.Directory.
	NeedsDirectory bool
	// Unconfigured are the routes the App answers with 503 and a message saying what to set
	// when the adapter is not enabled (pattern -> the settings to set).
	Unconfigured map[string]string
	// Standalone: `policykit adapter NAME` may run it as its own process (the built-in web
	// and log platforms run inside the server only).
	Standalone bool
}

// Registry is the App's list of adapters, in registration order. Not safe for concurrent
// Register; build it once.
type Registry struct{ regs []Registration }

// Register adds r; a second registration under one name panics, as a wiring mistake.
func (g *Registry) Register(r Registration) {
	if r.Name == "" || r.Config == nil || r.New == nil {
		panic(fmt.Sprintf("platform: registration %q lacks a name, Config or New", r.Name))
	}
	if _, ok := g.Lookup(r.Name); ok {
		panic(fmt.Sprintf("platform: adapter %q registered twice", r.Name))
	}
	g.regs = append(g.regs, r)
}

// Lookup returns the registration of name.
func (g *Registry) Lookup(name string) (Registration, bool) {
	i := slices.IndexFunc(g.regs, func(r Registration) bool { return r.Name == name })
	if i < 0 {
		return Registration{}, false
	}
	return g.regs[i], true
}

// All returns the registrations in registration order.
func (g *Registry) All() []Registration { return slices.Clone(g.regs) }

// Validate reads every adapter's Section with getenv and validates the enabled ones,
// reporting every problem, each prefixed with the adapter's name.
func (g *Registry) Validate(getenv func(string) string) error {
	var errs []error
	for _, r := range g.regs {
		if sec := r.Config(getenv); sec.Enabled() {
			errs = append(errs, named(r.Name, sec.Validate())...)
		}
	}
	return errors.Join(errs...)
}

// named returns err's problems (each of a joined error), each starting with "name: ".
func named(name string, err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, named(name, e)...)
		}
		return out
	}
	if strings.HasPrefix(err.Error(), name+": ") {
		return []error{err}
	}
	return []error{fmt.Errorf("%s: %w", name, err)}
}

// NotConfigured answers every request with 503 and {"error": message}: the routes of an
// adapter that is not set up, saying what to set.
func NotConfigured(message string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
	})
}

// LedgerOf is the effect ledger of the platform name for an adapter built on host: in the
// kit's tables of host.Pool (migrated first), or in memory without a pool.
func LedgerOf(ctx context.Context, host Host, name string) (Ledger, error) {
	if host.Pool == nil {
		return NewMemoryLedger(), nil
	}
	if err := Migrate(ctx, host.Pool); err != nil {
		return nil, fmt.Errorf("%s: migrate the platform kit: %w", name, err)
	}
	return PostgresLedger{Pool: host.Pool, Platform: name}, nil
}
