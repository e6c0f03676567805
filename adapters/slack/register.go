package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Section is the Slack adapter's part of the App's configuration, from SLACK_* settings.
type Section struct {
	Config
	// ClientID and ClientSecret (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) serve the install flow
	// and Sign in with Slack at /auth/slack/.
	ClientID, ClientSecret string
	// TeamID, BotToken and UserToken (SLACK_TEAM_ID, SLACK_BOT_TOKEN, SLACK_USER_TOKEN) store
	// one workspace's tokens at start, for a workspace set up by hand.
	TeamID, BotToken, UserToken string
}

// SectionFromEnv reads the Slack settings (ConfigFromEnv and the ones above).
func SectionFromEnv(getenv func(string) string) Section {
	return Section{
		Config:   ConfigFromEnv(getenv),
		ClientID: getenv("SLACK_CLIENT_ID"), ClientSecret: getenv("SLACK_CLIENT_SECRET"),
		TeamID: getenv("SLACK_TEAM_ID"), BotToken: getenv("SLACK_BOT_TOKEN"), UserToken: getenv("SLACK_USER_TOKEN"),
	}
}

// Enabled: Slack runs when its signing secret is set.
func (s Section) Enabled() bool { return s.SigningSecret != "" }

// Validate reports every problem of the settings at once.
func (s Section) Validate() error {
	errs := []error{s.Config.WithDefaults().Validate()}
	if s.UserToken != "" && (s.TeamID == "" || s.BotToken == "") {
		errs = append(errs, errors.New("slack: SLACK_USER_TOKEN needs SLACK_TEAM_ID and SLACK_BOT_TOKEN"))
	}
	return errors.Join(errs...)
}

// Registration is the Slack adapter as the App registers it.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformSlack,
		Short: "the Slack adapter: its webhook endpoint (and install and sign-in flows) and its effects",
		Config: func(getenv func(string) string) platform.Section {
			return SectionFromEnv(getenv)
		},
		New:            newPlugged,
		Migrate:        Migrate,
		NeedsDirectory: true,
		Standalone:     true,
		Unconfigured: map[string]string{
			"/api/hooks/slack": "Slack is not configured on this server: set SLACK_SIGNING_SECRET",
			"/auth/slack/":     "Slack installation is not configured on this server: set SLACK_SIGNING_SECRET, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET",
		},
	}
}

// directoryWait is how long a lookup of a workspace waits for the directory to learn it.
const directoryWait = 5 * time.Second

// Plugged is the Slack adapter as a platform.Adapter: the hook, the OAuth flows, the effects
// and Socket Mode.
type Plugged struct {
	*Adapter
	routes map[string]http.Handler
}

var _ platform.Adapter = (*Plugged)(nil)

// NewPlugged builds the Slack adapter from its settings and the App's host: its state,
// ledger, handled events and tokens in host.Pool (in memory without one; tokens in memory
// without SLACK_TOKEN_KEY), its directory host.Directory.
func NewPlugged(ctx context.Context, sec Section, host platform.Host) (*Plugged, error) {
	if err := sec.Validate(); err != nil {
		return nil, err
	}
	if host.Directory == nil {
		return nil, errors.New("slack: the host keeps no directory")
	}
	log := host.Log
	var tokens TokenStore = &MemoryTokens{}
	deps := Deps{Publisher: host.Bus.Publisher(), Logger: log, Now: host.Now,
		Directory: KitDirectory{D: host.Directory, Wait: directoryWait}, Proposals: KitDirectory{D: host.Directory}}
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("migrate slack adapter: %w", err)
		}
		deps.State = PostgresState{Pool: host.Pool}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformSlack}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformSlack}
		if sec.TokenKey != "" {
			key, err := sec.Key()
			if err != nil {
				return nil, err
			}
			if tokens, err = NewPostgresTokens(ctx, host.Pool, key); err != nil {
				return nil, err
			}
		}
	}
	if sec.TeamID != "" && sec.BotToken != "" {
		if err := tokens.SaveBotToken(ctx, sec.TeamID, sec.BotToken); err != nil {
			return nil, err
		}
		if sec.UserToken != "" {
			if err := tokens.SaveUserToken(ctx, sec.TeamID, sec.UserToken); err != nil {
				return nil, err
			}
		}
	}
	deps.Tokens = tokens
	a, err := New(sec.Config, deps)
	if err != nil {
		return nil, err
	}
	p := &Plugged{Adapter: a, routes: map[string]http.Handler{"POST /api/hooks/slack": a}}
	p.routes["/auth/slack/"] = p.authRoutes(sec, host)
	return p, nil
}

func newPlugged(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	s, ok := sec.(Section)
	if !ok {
		return nil, fmt.Errorf("slack: a %T is not its settings", sec)
	}
	return NewPlugged(ctx, s, host)
}

// Name is "slack".
func (p *Plugged) Name() string { return domain.PlatformSlack }

// Routes: POST /api/hooks/slack (Events API and interactivity) and /auth/slack/ (install
// and sign-in, or an answer saying what to set).
func (p *Plugged) Routes() map[string]http.Handler { return p.routes }

// Run performs Slack's effects from b and, with an app-level token, receives over Socket
// Mode too, until ctx ends.
func (p *Plugged) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	if !p.SocketMode() {
		return p.Adapter.Run(ctx, b, ready)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- p.Adapter.Run(ctx, b, ready) }()
	// Not waited for by ready: connecting depends on Slack, and the hook serves meanwhile.
	go func() { errc <- p.RunSocketMode(ctx) }()
	first := <-errc
	cancel()
	second := <-errc
	if first == nil || errors.Is(first, context.Canceled) {
		first = second
	}
	if errors.Is(first, context.Canceled) {
		return nil
	}
	return first
}

// authRoutes is the handler of /auth/slack/: Slack's OAuth v2 install flow
// (/auth/slack/install, /auth/slack/callback) and Sign in with Slack (/auth/slack/login,
// /auth/slack/signin/callback) when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set, else an
// answer saying what to set. The redirect URLs are <base URL>/auth/slack/callback and
// <base URL>/auth/slack/signin/callback; the states are signed with a key derived from the
// client secret, and each opens one callback (platform.PostgresNonces with a pool).
func (p *Plugged) authRoutes(sec Section, host platform.Host) http.Handler {
	if sec.ClientID == "" || sec.ClientSecret == "" {
		return platform.NotConfigured("Slack installation is not configured on this server: set SLACK_SIGNING_SECRET, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
	}
	if sec.TokenKey == "" || host.Pool == nil {
		host.Log.Warn("SLACK_TOKEN_KEY is unset: the bot tokens of installed workspaces are kept in memory and lost on restart")
	}
	var nonces platform.NonceStore = &platform.MemoryNonces{}
	if host.Pool != nil {
		nonces = platform.PostgresNonces{Pool: host.Pool}
	}
	oauthApp := func(callback string) OAuthApp {
		return OAuthApp{ClientID: sec.ClientID, ClientSecret: sec.ClientSecret, RedirectURL: host.BaseURL + callback, APIURL: sec.APIURL}
	}
	var create func(context.Context, Installation) (string, bool, error)
	if host.CreateCommunity != nil {
		create = func(ctx context.Context, in Installation) (string, bool, error) {
			return host.CreateCommunity(ctx, platform.Installation{Platform: domain.PlatformSlack, ExternalID: in.TeamID,
				Name: in.TeamName, InstallerID: in.InstallerID, Kit: in.Kit})
		}
	}
	in, err := NewInstaller(InstallConfig{OAuthApp: oauthApp("/auth/slack/callback")}, InstallDeps{
		Tokens: p.Tokens(),
		// The install flow asks only whether the workspace has a community already: it does
		// not wait for the directory, since CreateCommunity answers for one it has not learned.
		Directory:       KitDirectory{D: host.Directory},
		CreateCommunity: create,
		CheckKit:        host.CheckKit,
		Installed:       p.LearnWorkspace,
		OAuthDeps:       OAuthDeps{Logger: host.Log.With("flow", "slack-install"), Nonces: nonces},
	})
	if err != nil {
		host.Log.Error("the Slack install flow is not served", "err", err)
		return platform.NotConfigured("Slack installation is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and POLICYKIT_BASE_URL (" + err.Error() + ")")
	}
	var ensure func(ctx context.Context, communityID, memberID string) (string, error)
	if host.EnsureUser != nil {
		ensure = func(ctx context.Context, communityID, memberID string) (string, error) {
			return host.EnsureUser(ctx, communityID, domain.PlatformSlack, memberID)
		}
	}
	signInHandler, err := NewSignInHandler(SignInConfig{OAuthApp: oauthApp("/auth/slack/signin/callback")}, SignInDeps{
		Directory: KitDirectory{D: host.Directory, Wait: directoryWait}, EnsureUser: ensure, Sessions: host.Sessions,
		OAuthDeps: OAuthDeps{Logger: host.Log.With("flow", "slack-signin"), Nonces: nonces},
	})
	if err != nil {
		host.Log.Error("Sign in with Slack is not served", "err", err)
		return platform.NotConfigured("Sign in with Slack is not configured on this server: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and POLICYKIT_BASE_URL (" + err.Error() + ")")
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/slack/login", signInHandler)
	mux.Handle("/auth/slack/signin/", signInHandler)
	mux.Handle("/auth/slack/", in)
	return mux
}
