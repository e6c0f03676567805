package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/starterkits"
)

// A community made on the web gets a Discord guild: its Integration Admin, signed in, installs
// the bot with ?community=, and the install's callback proposes policykitaddintegration as
// them instead of making a community. The constitution policy (the Testing kit's: every
// constitution action passes) passes it, the guild is connected, and a slash command in the
// guild is then an action of that community. A member without the role cannot start it.
func TestDiscordInstallConnectsAnExistingCommunity(t *testing.T) {
	ctx := context.Background()
	fake := discordtest.New(t.Cleanup)
	key := discordtest.NewKey()
	const appID = "800000000000000001"
	cfg := testConfig(t)
	cfg.WebBaseURL = "https://pk.example.org"
	env := map[string]string{"DISCORD_PUBLIC_KEY": key.PublicHex(), "DISCORD_APPLICATION_ID": appID, "DISCORD_BOT_TOKEN": "bot-token",
		"DISCORD_CLIENT_SECRET": "client-secret", "DISCORD_API_URL": fake.URL(), "DISCORD_GATEWAY": "off"}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{domain.PlatformLog}
	app, stop := startApp(t, cfg)
	defer stop()
	base := "http://" + app.listener.Addr().String()

	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: "meadow", Name: "Meadow", Platform: domain.PlatformWeb},
		kit, domain.RegisterUser{UserID: "ana", Username: "ana", IsAdmin: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, app.Store(), "meadow", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideRegisterUser(domain.RegisterUser{UserID: "ben", Username: "ben", Platform: domain.PlatformWeb}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	accounts := identity.New(app.Pool(), identity.Options{})
	session := func(username, userID string) string {
		t.Helper()
		acc, err := accounts.Register(ctx, username+"-account", "a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		if err := accounts.LinkMember(ctx, acc.ID, "meadow", userID); err != nil {
			t.Fatal(err)
		}
		_, secret, err := accounts.Login(ctx, username+"-account", "a long enough password", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	anaSession, benSession := session("ana", "ana"), session("ben", "ben")
	// The browser's session cookie is Secure (the site is https): sent here by hand.
	getWith := func(path, secret string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if secret != "" {
			req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: secret})
		}
		resp, err := noRedirects().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	if code, _, body := getWith("/auth/discord/install?community=meadow", ""); code != http.StatusUnauthorized {
		t.Fatalf("an install into a community without a session answered %d %s", code, body)
	}
	var loc *url.URL
	waitFor(t, "the Integration Admin allowed to start the install", func() bool {
		code, h, _ := getWith("/auth/discord/install?community=meadow", anaSession)
		loc, _ = url.Parse(h.Get("Location"))
		return code == http.StatusFound
	})
	if code, _, body := getWith("/auth/discord/install?community=meadow", benSession); code != http.StatusForbidden {
		t.Fatalf("a member without the Integration Admin role answered %d %s", code, body)
	}
	state := url.QueryEscape(loc.Query().Get("state"))
	fake.Token = map[string]any{"access_token": "user-access", "token_type": "Bearer", "refresh_token": "r",
		"scope": "bot applications.commands identify", "guild": map[string]any{"id": "G7", "name": "Meadow guild"}}
	fake.Me = map[string]any{"id": "UANA", "username": "ana"}
	// The callback in another browser (ben's session) does not connect anything.
	if code, _, body := getWith("/auth/discord/callback?code=x&state="+state, benSession); code != http.StatusForbidden {
		t.Fatalf("the callback with another member's session answered %d %s", code, body)
	}
	waitFor(t, "the Integration Admin allowed to start the install", func() bool {
		code, h, _ := getWith("/auth/discord/install?community=meadow", anaSession)
		loc, _ = url.Parse(h.Get("Location"))
		return code == http.StatusFound
	})
	code, _, body := getWith("/auth/discord/callback?code=abc&state="+url.QueryEscape(loc.Query().Get("state")), anaSession)
	var out struct {
		CommunityID string `json:"community_id"`
		ActionID    string `json:"action_id"`
	}
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusAccepted || err != nil || out.CommunityID != "meadow" || out.ActionID == "" {
		t.Fatalf("the install's callback answered %d %s", code, body)
	}
	waitFor(t, "the connection passed and the guild connected", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->>'platform' = 'discord' AND data->>'external_id' = 'G7'`,
			domain.EventPlatformConnected).Scan(&n)
		return n == 1
	})
	var initiator, typ, external, community string
	if err := app.Pool().QueryRow(ctx, `SELECT data->'action'->>'initiator_id', data->'action'->>'action_type', data->'action'->'fields'->>'external_id', data->'action'->>'community_id'
		FROM events WHERE type = $1 AND data->'action'->>'id' = $2`, domain.EventActionProposed, out.ActionID).Scan(&initiator, &typ, &external, &community); err != nil {
		t.Fatal(err)
	}
	if initiator != "ana" || typ != domain.ActionAddIntegration || external != "G7" || community != "meadow" {
		t.Fatalf("proposed %s by %s for %s on %s", typ, initiator, external, community)
	}
	if n := countEvents(t, app, domain.EventCommunityCreated); n != 1 {
		t.Fatalf("%d communities, want meadow alone", n)
	}
	if len(fake.Seen("PUT /applications/"+appID+"/guilds/G7/commands")) != 1 {
		t.Fatal("/policykit was not registered in the connected guild")
	}

	// A slash command in the guild is an action of meadow.
	waitFor(t, "the slash command an action of meadow", func() bool {
		if code, _, err := key.Post(base+"/api/hooks/discord", discordtest.SlashCommand("I-1", appID, "G7", "C1", "UANA", "hello"), time.Now()); err != nil || code != http.StatusOK {
			return false
		}
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->'action'->>'action_type' = $2 AND data->'action'->>'community_id' = 'meadow'`,
			domain.EventActionProposed, domain.ActionDiscordSlashCommand).Scan(&n)
		return n == 1
	})
}
