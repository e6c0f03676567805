package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func TestSlackUserRegistrarRegistersEachMemberOnce(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool)
	now := func() time.Time { return time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC) }
	if _, err := engine.UpdateCommunity(ctx, store, "c1", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Test", Platform: domain.PlatformSlack, ExternalID: "T1"}, now())
	}); err != nil {
		t.Fatal(err)
	}
	register := userRegistrar(store, now)
	ensure := func(ctx context.Context, communityID, member string) (string, error) {
		return register(ctx, communityID, domain.PlatformSlack, member)
	}
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := ensure(ctx, "c1", "U1")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("ids %v", ids)
		}
	}
	c, err := engine.LoadCommunity(ctx, store, "c1")
	if err != nil {
		t.Fatal(err)
	}
	u, ok := c.UserByUsername(domain.PlatformSlack, "U1")
	if !ok || u.ID != ids[0] {
		t.Fatalf("registered %+v", c.Users)
	}
	if other, err := ensure(ctx, "c1", "U2"); err != nil || other == ids[0] {
		t.Fatalf("second member: %q (%v)", other, err)
	}
}

// newSlackAdapter builds the Slack adapter from getenv's settings as `policykit adapter slack`
// does (nil, nil without SLACK_SIGNING_SECRET); its Run keeps its own directory.
func newSlackAdapter(ctx context.Context, pool *pgxpool.Pool, b *bus.Bus, getenv func(string) string, logger *slog.Logger) (*standalone, error) {
	return newStandalone(ctx, slackadapter.Registration(), pool, nil, b, getenv, nil, "http://127.0.0.1:8080", logger)
}

func TestNewSlackAdapterFromEnv(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if a, err := newSlackAdapter(ctx, pool, b, getenv, nil); a != nil || err != nil {
		t.Fatalf("without SLACK_SIGNING_SECRET: %v %v", a, err)
	}
	env["SLACK_SIGNING_SECRET"] = "secret"
	env["SLACK_TOKEN_KEY"] = "too short"
	if _, err := newSlackAdapter(ctx, pool, b, getenv, nil); err == nil {
		t.Fatal("a bad SLACK_TOKEN_KEY accepted")
	}
	env["SLACK_TOKEN_KEY"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
	env["SLACK_TEAM_ID"], env["SLACK_BOT_TOKEN"] = "T1", "xoxb-1"
	a, err := newSlackAdapter(ctx, pool, b, getenv, nil)
	if err != nil || a == nil {
		t.Fatalf("adapter: %v", err)
	}
	defer a.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM platform_secrets WHERE platform = 'slack' AND name = 'bot/T1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored tokens: %d (%v)", n, err)
	}
}
