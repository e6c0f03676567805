package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// newSlackAdapter builds the Slack adapter from the environment, or returns nil, nil when
// SLACK_SIGNING_SECRET is unset (Slack not configured). It migrates the adapter's tables,
// keeps its state in Postgres, maps workspaces and members through the read models, and
// registers Slack members it meets as community users.
//
// Environment: SLACK_SIGNING_SECRET (required), SLACK_TOKEN_KEY (base64 of 32 bytes: bot
// tokens are kept encrypted in Postgres; unset: in memory only), SLACK_TEAM_ID and
// SLACK_BOT_TOKEN (a workspace's bot token, stored at start), SLACK_API_URL (tests).
//
// The caller serves the adapter at POST /api/hooks/slack, runs Adapter.Run(ctx, bus, ready)
// for its effects, and Closes it on shutdown. Remove "slack" from POLICYKIT_LOG_PLATFORMS,
// or both adapters would answer Slack's effects.
func newSlackAdapter(ctx context.Context, pool *pgxpool.Pool, store eventstore.Store, b *bus.Bus, getenv func(string) string, logger *slog.Logger) (*slackadapter.Adapter, error) {
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
	}
	return slackadapter.New(cfg, slackadapter.Deps{
		Publisher:  b.Publisher(),
		Tokens:     tokens,
		State:      slackadapter.PostgresState{Pool: pool},
		Directory:  slackadapter.PostgresDirectory{Pool: pool},
		EnsureUser: slackUserRegistrar(store, time.Now),
		Logger:     logger,
	})
}

// slackUserRegistrar returns the adapter's EnsureUser: the community user whose slack
// username is the member id, registered (with an id derived from community and member, so
// that concurrent or repeated registrations agree) when there is none.
func slackUserRegistrar(store eventstore.Store, now func() time.Time) func(ctx context.Context, communityID, memberID string) (string, error) {
	return func(ctx context.Context, communityID, memberID string) (string, error) {
		key := []byte("slack-user:" + communityID + ":" + memberID)
		id := uuid.NewSHA1(uuid.NameSpaceOID, key).String()
		cause := uuid.NewSHA1(uuid.NameSpaceURL, key)
		_, err := engine.UpdateCommunity(ctx, store, communityID, engine.Meta{CausationID: cause, CorrelationID: cause},
			func(c *domain.Community) ([]domain.Event, error) {
				if u, ok := c.UserByUsername(domain.PlatformSlack, memberID); ok {
					id = u.ID
					return nil, nil
				}
				return c.DecideRegisterUser(domain.RegisterUser{UserID: id, Platform: domain.PlatformSlack, Username: memberID}, now())
			})
		if err != nil {
			return "", fmt.Errorf("register slack member %s: %w", memberID, err)
		}
		return id, nil
	}
}
