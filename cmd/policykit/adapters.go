package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	discordadapter "github.com/policykit-go/policykit/adapters/discord"
	"github.com/policykit-go/policykit/adapters/discourse"
	githubadapter "github.com/policykit-go/policykit/adapters/github"
	"github.com/policykit-go/policykit/adapters/hooks"
	"github.com/policykit-go/policykit/adapters/logplatform"
	loomioadapter "github.com/policykit-go/policykit/adapters/loomio"
	"github.com/policykit-go/policykit/adapters/metagov"
	"github.com/policykit-go/policykit/adapters/opencollective"
	"github.com/policykit-go/policykit/adapters/platform"
	redditadapter "github.com/policykit-go/policykit/adapters/reddit"
	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/adapters/sourcecred"
	"github.com/policykit-go/policykit/adapters/web"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/sealed"
	"github.com/policykit-go/policykit/starterkits"
)

// adapterRegistry lists the platform adapters the binary knows. Adding a platform is one
// line here; everything else is the adapter's Registration. logPlatforms are the platforms
// the log adapter performs the effects of.
func adapterRegistry(logPlatforms []string) *platform.Registry {
	r := &platform.Registry{}
	r.Register(web.Registration())
	r.Register(logplatform.Registration(logPlatforms))
	r.Register(slackadapter.Registration())
	r.Register(hooks.Registration())
	r.Register(metagov.Registration())
	r.Register(discordadapter.Registration())
	r.Register(loomioadapter.Registration())
	r.Register(opencollective.Registration())
	r.Register(discourse.Registration())
	r.Register(sourcecred.Registration())
	r.Register(githubadapter.Registration())
	r.Register(redditadapter.Registration())
	return r
}

// getenvOf returns the settings' source of the adapters' sections: cfg.getenv, or the
// process environment, where POLICYKIT_SECRET_KEY answers with the key the App runs with
// (from a flag, or a demo's own), so that an adapter's section sees the key the App has.
func (c Config) getenvOf() func(string) string {
	getenv := c.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return func(k string) string {
		if k == "POLICYKIT_SECRET_KEY" && c.SecretKey != "" {
			return c.SecretKey
		}
		return getenv(k)
	}
}

// adapterHost is what the App gives each adapter: its pool, bus and directory, and the
// engine-side services of install and sign-in flows, as functions.
func adapterHost(pool *pgxpool.Pool, b *bus.Bus, store eventstore.Store, dir platform.Directory, box *sealed.Box, baseURL string, logger *slog.Logger) platform.Host {
	return platform.Host{
		Pool: pool, Bus: b, Log: logger, BaseURL: baseURL, Directory: dir, Box: box,
		CreateCommunity: communityCreator(store, time.Now),
		EnsureUser:      userRegistrar(store, time.Now),
		Sessions:        identity.New(pool, identity.Options{}),
		CheckKit:        func(name string) error { _, err := starterkits.Load(name); return err },
		Now:             time.Now,
	}
}

// storeCatchUp reads the event log for a directory's catch-up, a batch at a time.
func storeCatchUp(store eventstore.Store) platform.CatchUpFunc {
	return func(ctx context.Context, after string) ([]bus.EventEnvelope, error) {
		var from eventstore.Position
		if after != "" {
			p, err := eventstore.ParsePosition(after)
			if err != nil {
				return nil, err
			}
			from = p
		}
		evs, err := store.ReadAll(ctx, from, 1000)
		if err != nil {
			return nil, err
		}
		out := make([]bus.EventEnvelope, len(evs))
		for i, ev := range evs {
			out[i] = bus.EnvelopeOf(ev)
		}
		return out, nil
	}
}

// userRegistrar returns Host.EnsureUser: the community user whose username on platform is
// the member's, registered (engine.EnsureUser) when there is none.
func userRegistrar(store eventstore.Store, now func() time.Time) func(ctx context.Context, communityID, platformName, username string) (string, error) {
	return func(ctx context.Context, communityID, platformName, username string) (string, error) {
		// The same member registered twice is one cause, so a retried registration appends
		// nothing new.
		cause := uuid.NewSHA1(uuid.NameSpaceURL, []byte(platformName+"-user:"+communityID+":"+username))
		return engine.EnsureUser(ctx, store, communityID, platformName, username,
			engine.Meta{CausationID: cause, CorrelationID: cause}, now())
	}
}

// communityCreator returns Host.CreateCommunity: a community on the installed platform with
// the chosen starter kit and the installer as its admin. Its id is derived from the
// platform's id for it, so that concurrent or repeated installs create one community.
func communityCreator(store eventstore.Store, now func() time.Time) func(ctx context.Context, in platform.Installation) (string, bool, error) {
	return func(ctx context.Context, in platform.Installation) (string, bool, error) {
		kit, err := starterkits.Load(in.Kit)
		if err != nil {
			return "", false, err
		}
		communityID := uuid.NewSHA1(uuid.NameSpaceOID, []byte(in.Platform+"-team:"+in.ExternalID)).String()
		name := in.Name
		if name == "" {
			name = in.ExternalID
		}
		admin := domain.RegisterUser{
			UserID:   uuid.NewSHA1(uuid.NameSpaceOID, []byte(in.Platform+"-user:"+communityID+":"+in.InstallerID)).String(),
			Platform: in.Platform, Username: in.InstallerID, IsAdmin: true,
		}
		_, err = engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: communityID, Name: name,
			Platform: in.Platform, ExternalID: in.ExternalID, PlatformName: in.Name}, kit, admin, now())
		if errors.Is(err, domain.ErrConflict) {
			return communityID, false, nil // installed before; the directory had not learned it
		}
		if err != nil {
			return "", false, err
		}
		return communityID, true, nil
	}
}

// standalone is an adapter that keeps its own directory from the bus, for a process (or a
// test) that runs it without an App's: Run runs both.
type standalone struct {
	platform.Adapter
	dir     platform.Directory
	catchUp platform.CatchUpFunc
	mux     *http.ServeMux
}

// newStandalone builds the registered adapter name from getenv's settings, as `policykit
// adapter NAME` runs it: state in pool, a directory of its own caught up from the event log
// in store (nil: the Postgres store on pool) and kept from b. nil, nil when the adapter is
// not enabled.
func newStandalone(ctx context.Context, reg platform.Registration, pool *pgxpool.Pool, store eventstore.Store, b *bus.Bus, getenv func(string) string, box *sealed.Box, baseURL string, logger *slog.Logger) (*standalone, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sec := reg.Config(getenv)
	if !sec.Enabled() {
		return nil, nil
	}
	if err := sec.Validate(); err != nil {
		return nil, fmt.Errorf("%s configuration: %w", reg.Name, err)
	}
	if err := platform.Migrate(ctx, pool); err != nil {
		return nil, fmt.Errorf("migrate the platform kit: %w", err)
	}
	if store == nil {
		store = postgres.New(pool)
	}
	dir := platform.PostgresDirectory{Pool: pool, Name: "adapter-" + reg.Name}
	a, err := reg.New(ctx, sec, adapterHost(pool, b, store, dir, box, baseURL, logger))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for pattern, h := range a.Routes() {
		mux.Handle(pattern, h)
	}
	return &standalone{Adapter: a, dir: dir, catchUp: storeCatchUp(store), mux: mux}, nil
}

// ServeHTTP serves the adapter's routes.
func (s *standalone) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run keeps the directory caught up and runs the adapter until ctx ends; ready is closed
// once both are.
func (s *standalone) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	dirReady := make(chan struct{})
	go func() { errc <- platform.RunDirectory(ctx, b, "platform-directory", s.dir, s.catchUp, dirReady) }()
	select {
	case <-dirReady:
	case err := <-errc:
		return fmt.Errorf("directory: %w", err)
	}
	go func() { errc <- s.Adapter.Run(ctx, b, ready) }()
	err := <-errc
	cancel()
	<-errc
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// installLinks are the install flows the adapters serve as configured: Slack's with its
// signing secret and OAuth client, Discord's with its public key and client secret, both
// under a public base URL.
func installLinks(getenv func(string) string, baseURL string) []graph.InstallLink {
	if baseURL == "" {
		return nil
	}
	var out []graph.InstallLink
	if s := slackadapter.SectionFromEnv(getenv); s.Enabled() && s.ClientID != "" && s.ClientSecret != "" {
		out = append(out, graph.InstallLink{Platform: domain.PlatformSlack, Path: "/auth/slack/install"})
	}
	if s := discordadapter.SectionFromEnv(getenv); s.Enabled() && s.ClientSecret != "" {
		out = append(out, graph.InstallLink{Platform: domain.PlatformDiscord, Path: "/auth/discord/install"})
	}
	return out
}
