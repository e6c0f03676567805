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

	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/starterkits"
)

// newSlackAdapter builds the Slack adapter from the environment, or returns nil, nil when
// SLACK_SIGNING_SECRET is unset (Slack not configured). It migrates the adapter's tables,
// keeps its state in Postgres and maps workspaces to communities through the read models.
// Members it meets are named by their Slack ids on the bus; the engine makes them users.
//
// Environment: SLACK_SIGNING_SECRET (required), SLACK_TOKEN_KEY (base64 of 32 bytes: bot
// tokens are kept encrypted in Postgres; unset: in memory only), SLACK_TEAM_ID and
// SLACK_BOT_TOKEN (a workspace's bot token, stored at start), SLACK_USER_TOKEN (with them:
// a workspace admin's user token, which deletes members' posts), SLACK_APP_TOKEN (xapp-...:
// also receive over Socket Mode), SLACK_API_URL (tests).
//
// The caller serves the adapter at POST /api/hooks/slack, runs Adapter.Run(ctx, bus, ready)
// for its effects and, when Adapter.SocketMode, Adapter.RunSocketMode(ctx), and Closes it on
// shutdown. Remove "slack" from POLICYKIT_LOG_PLATFORMS, or both adapters would answer
// Slack's effects.
func newSlackAdapter(ctx context.Context, pool *pgxpool.Pool, b *bus.Bus, getenv func(string) string, logger *slog.Logger) (*slackadapter.Adapter, error) {
	if getenv("SLACK_SIGNING_SECRET") == "" {
		return nil, nil
	}
	cfg := slackadapter.ConfigFromEnv(getenv).WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack configuration: %w", err)
	}
	if err := slackadapter.Migrate(ctx, pool); err != nil {
		return nil, fmt.Errorf("migrate slack adapter: %w", err)
	}
	var tokens slackadapter.TokenStore = &slackadapter.MemoryTokens{}
	if cfg.TokenKey != "" {
		key, err := cfg.Key()
		if err != nil {
			return nil, err
		}
		if tokens, err = slackadapter.NewPostgresTokens(pool, key); err != nil {
			return nil, err
		}
	}
	if team, token := getenv("SLACK_TEAM_ID"), getenv("SLACK_BOT_TOKEN"); team != "" && token != "" {
		if err := tokens.SaveBotToken(ctx, team, token); err != nil {
			return nil, err
		}
		if user := getenv("SLACK_USER_TOKEN"); user != "" {
			if err := tokens.SaveUserToken(ctx, team, user); err != nil {
				return nil, err
			}
		}
	}
	return slackadapter.New(cfg, slackadapter.Deps{
		Publisher: b.Publisher(),
		Tokens:    tokens,
		State:     slackadapter.PostgresState{Pool: pool},
		Directory: slackadapter.PostgresDirectory{Pool: pool},
		Proposals: slackadapter.PostgresProposals{Pool: pool},
		Logger:    logger,
	})
}

// slackUserRegistrar returns the EnsureUser of Sign in with Slack: the community user whose
// slack username is the member id, registered (engine.EnsureUser) when there is none.
func slackUserRegistrar(store eventstore.Store, now func() time.Time) func(ctx context.Context, communityID, memberID string) (string, error) {
	return func(ctx context.Context, communityID, memberID string) (string, error) {
		// The same member registered twice is one cause, so a retried registration appends
		// nothing new.
		cause := uuid.NewSHA1(uuid.NameSpaceURL, []byte("slack-user:"+communityID+":"+memberID))
		return engine.EnsureUser(ctx, store, communityID, domain.PlatformSlack, memberID,
			engine.Meta{CausationID: cause, CorrelationID: cause}, now())
	}
}

// slackAuthRoutes is the handler of /auth/slack/: Slack's OAuth v2 install flow
// (/auth/slack/install, /auth/slack/callback) and "Sign in with Slack" for the members of
// installed workspaces (/auth/slack/login, /auth/slack/signin/callback) when Slack is
// configured and SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set; otherwise an answer
// saying it is not configured. The redirect URLs are <POLICYKIT_BASE_URL>/auth/slack/callback
// and <POLICYKIT_BASE_URL>/auth/slack/signin/callback; the states are signed with a key
// derived from SLACK_CLIENT_SECRET.
func (a *App) slackAuthRoutes() http.Handler {
	getenv := a.cfg.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	id, secret := getenv("SLACK_CLIENT_ID"), getenv("SLACK_CLIENT_SECRET")
	if a.slack == nil || id == "" || secret == "" {
		return notConfigured("Slack installation", "SLACK_SIGNING_SECRET, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
	}
	if getenv("SLACK_TOKEN_KEY") == "" {
		a.log.Warn("SLACK_TOKEN_KEY is unset: the bot tokens of installed workspaces are kept in memory and lost on restart")
	}
	// One Slack app serves both flows, each with its own callback.
	oauthApp := func(callback string) slackadapter.OAuthApp {
		return slackadapter.OAuthApp{ClientID: id, ClientSecret: secret,
			RedirectURL: a.cfg.WebBaseURL + callback, APIURL: getenv("SLACK_API_URL")}
	}
	in, err := slackadapter.NewInstaller(slackadapter.InstallConfig{OAuthApp: oauthApp("/auth/slack/callback")}, slackadapter.InstallDeps{
		Tokens:          a.slack.Tokens(),
		Directory:       slackadapter.PostgresDirectory{Pool: a.pool},
		CreateCommunity: slackCommunityCreator(a.store, time.Now),
		CheckKit:        func(name string) error { _, err := starterkits.Load(name); return err },
		Installed:       a.slack.LearnWorkspace,
		OAuthDeps:       slackadapter.OAuthDeps{Logger: a.log.With("component", "slack-install")},
	})
	if err != nil {
		a.log.Error("the Slack install flow is not served", "err", err)
		return notConfigured("Slack installation", "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and POLICYKIT_BASE_URL ("+err.Error()+")")
	}
	signIn, err := slackadapter.NewSignInHandler(slackadapter.SignInConfig{OAuthApp: oauthApp("/auth/slack/signin/callback")}, slackadapter.SignInDeps{
		Directory:  slackadapter.PostgresDirectory{Pool: a.pool},
		EnsureUser: slackUserRegistrar(a.store, time.Now),
		Sessions:   identity.New(a.pool, identity.Options{}),
		OAuthDeps:  slackadapter.OAuthDeps{Logger: a.log.With("component", "slack-signin")},
	})
	if err != nil {
		a.log.Error("Sign in with Slack is not served", "err", err)
		return notConfigured("Sign in with Slack", "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and POLICYKIT_BASE_URL ("+err.Error()+")")
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/slack/login", signIn)
	mux.Handle("/auth/slack/signin/", signIn)
	mux.Handle("/auth/slack/", in)
	return mux
}

// slackCommunityCreator returns the install flow's CreateCommunity: a community on the
// installed workspace with the chosen starter kit and the installer as its admin. Its id is
// derived from the team id, so that concurrent or repeated installs create one community.
func slackCommunityCreator(store eventstore.Store, now func() time.Time) func(ctx context.Context, in slackadapter.Installation) (string, bool, error) {
	return func(ctx context.Context, in slackadapter.Installation) (string, bool, error) {
		kit, err := starterkits.Load(in.Kit)
		if err != nil {
			return "", false, err
		}
		communityID := uuid.NewSHA1(uuid.NameSpaceOID, []byte("slack-team:"+in.TeamID)).String()
		name := in.TeamName
		if name == "" {
			name = in.TeamID
		}
		admin := domain.RegisterUser{
			UserID:   uuid.NewSHA1(uuid.NameSpaceOID, []byte("slack-user:"+communityID+":"+in.InstallerID)).String(),
			Platform: domain.PlatformSlack, Username: in.InstallerID, IsAdmin: true,
		}
		_, err = engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: communityID, Name: name,
			Platform: domain.PlatformSlack, ExternalID: in.TeamID, PlatformName: in.TeamName}, kit, admin, now())
		if errors.Is(err, domain.ErrConflict) {
			return communityID, false, nil // installed before; the read model had not caught up
		}
		if err != nil {
			return "", false, err
		}
		return communityID, true, nil
	}
}
