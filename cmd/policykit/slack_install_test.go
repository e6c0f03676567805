package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"

	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/starterkits"
)

// fakeOAuth is slacktest with an oauth.v2.access that answers each code with a new bot token
// for team T9, installed by UADMIN.
type fakeOAuth struct {
	mu    sync.Mutex
	calls []url.Values
}

func newFakeOAuth(t *testing.T) (*fakeOAuth, string) {
	f := &fakeOAuth{}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/oauth.v2.access", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			f.mu.Lock()
			f.calls = append(f.calls, r.Form)
			n := len(f.calls)
			f.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{
				"ok": true, "access_token": "xoxb-t9-" + strings.Repeat("x", n), "token_type": "bot", "bot_user_id": "UBOT9",
				"team": map[string]any{"id": "T9", "name": "Orchard"}, "authed_user": map[string]any{"id": "UADMIN", "scope": "chat:write,reactions:read"},
			})
		})
		c.Handle("/conversations.list", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channels": []any{
				map[string]any{"id": "C91", "name": "orchard-general", "is_channel": true},
			}})
		})
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	return f, srv.GetAPIURL()
}

func (f *fakeOAuth) seen() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...)
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getBody(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := noRedirects().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// install asks the App for the install link and returns Slack's authorization URL.
func install(t *testing.T, base, kit string) *url.URL {
	t.Helper()
	code, h, body := getBody(t, base+"/auth/slack/install?kit="+kit)
	if code != http.StatusFound {
		t.Fatalf("install answered %d %s", code, body)
	}
	u, err := url.Parse(h.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The OAuth v2 install flow through the App: the install link, the callback creating the
// community (kit roles and policies, the installer as admin) and storing the bot token
// encrypted; a second install of the same workspace only replaces the token; a forged state
// changes nothing.
func TestSlackInstallFlow(t *testing.T) {
	var keyBytes [32]byte
	_, _ = rand.Read(keyBytes[:])
	tokenKey := base64.StdEncoding.EncodeToString(keyBytes[:])
	fake, apiURL := newFakeOAuth(t)
	cfg := testConfig(t)
	cfg.WebBaseURL = "https://pk.example.org"
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": apiURL, "SLACK_CLIENT_ID": "123.456",
		"SLACK_CLIENT_SECRET": "client-secret", "SLACK_TOKEN_KEY": tokenKey}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{domain.PlatformLog}
	app, stop := startApp(t, cfg)
	defer stop()
	ctx := context.Background()
	base := "http://" + app.listener.Addr().String()

	// The install link.
	auth := install(t, base, "democracy")
	q := auth.Query()
	if auth.Scheme+"://"+auth.Host+auth.Path != "https://slack.com/oauth/v2/authorize" {
		t.Fatalf("redirected to %s", auth)
	}
	if q.Get("client_id") != "123.456" || q.Get("redirect_uri") != "https://pk.example.org/auth/slack/callback" ||
		q.Get("user_scope") != "chat:write,reactions:read" || q.Get("state") == "" {
		t.Fatalf("authorize parameters %v", q)
	}
	scopes := strings.Split(q.Get("scope"), ",")
	if len(scopes) != 34 {
		t.Fatalf("%d bot scopes: %v", len(scopes), scopes)
	}
	for _, s := range []string{"app_mentions:read", "channels:history", "chat:write", "incoming-webhook", "reactions:read", "users:write", "users:read.email"} {
		if !strings.Contains(","+q.Get("scope")+",", ","+s+",") {
			t.Fatalf("bot scope %s missing: %s", s, q.Get("scope"))
		}
	}
	if code, _, body := getBody(t, base+"/auth/slack/install?kit=nonesuch"); code != http.StatusBadRequest {
		t.Fatalf("unknown kit answered %d %s", code, body)
	}

	// A forged or missing state: 400, Slack not asked, nothing stored.
	state := q.Get("state")
	payload, sig, _ := strings.Cut(state, ".")
	flip := map[byte]string{'A': "B"}[sig[0]]
	if flip == "" {
		flip = "A"
	}
	forged := payload + "." + flip + sig[1:]
	for _, s := range []string{forged, "", "abc", "e30." + sig, payload + "."} {
		if code, _, body := getBody(t, base+"/auth/slack/callback?code=c0&state="+url.QueryEscape(s)); code != http.StatusBadRequest {
			t.Fatalf("state %q answered %d %s", s, code, body)
		}
	}
	if n := len(fake.seen()); n != 0 {
		t.Fatalf("oauth.v2.access called %d times for forged states", n)
	}
	var n int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM platform_secrets WHERE platform = 'slack'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tokens stored (%v)", n, err)
	}
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d events recorded (%v)", n, err)
	}

	// The callback.
	code, _, body := getBody(t, base+"/auth/slack/callback?code=c1&state="+url.QueryEscape(state))
	if code != http.StatusOK {
		t.Fatalf("callback answered %d %s", code, body)
	}
	var res struct {
		CommunityID string `json:"community_id"`
		Created     bool   `json:"created"`
		TeamID      string `json:"team_id"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || res.CommunityID == "" || !res.Created || res.TeamID != "T9" {
		t.Fatalf("callback answered %s (%v)", body, err)
	}
	calls := fake.seen()
	if len(calls) != 1 || calls[0].Get("code") != "c1" || calls[0].Get("client_id") != "123.456" ||
		calls[0].Get("client_secret") != "client-secret" || calls[0].Get("redirect_uri") != "https://pk.example.org/auth/slack/callback" {
		t.Fatalf("oauth.v2.access called with %v", calls)
	}
	c, err := engine.LoadCommunity(ctx, app.Store(), res.CommunityID)
	if err != nil {
		t.Fatal(err)
	}
	kit, _ := starterkits.Load("democracy")
	if p := c.Platforms[domain.PlatformSlack]; c.Name != "Orchard" || p.ExternalID != "T9" || !p.Active {
		t.Fatalf("community %q on %+v", c.Name, c.Platforms)
	}
	for _, r := range kit.Roles {
		if _, ok := c.Roles[r.Name]; !ok {
			t.Fatalf("kit role %q missing: %v", r.Name, c.Roles)
		}
	}
	if len(c.Policies) != kit.PolicyCount() || len(c.Policies) == 0 {
		t.Fatalf("%d policies, the kit has %d", len(c.Policies), kit.PolicyCount())
	}
	admin, ok := c.UserByUsername(domain.PlatformSlack, "UADMIN")
	if !ok || !admin.IsAdmin {
		t.Fatalf("installer %+v (registered %v)", admin, ok)
	}

	// The adapter learns the new workspace's channel names, for the revert of a first rename.
	waitFor(t, "the installed workspace's channel names learned", func() bool {
		var name string
		_ = app.Pool().QueryRow(ctx, `SELECT name FROM slack_channel_names WHERE team_id = 'T9' AND channel = 'C91'`).Scan(&name)
		return name == "orchard-general"
	})

	// The token, encrypted at rest.
	var sealed []byte
	if err := app.Pool().QueryRow(ctx, `SELECT ciphertext FROM platform_secrets WHERE platform = 'slack' AND name = 'bot/T9'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "xoxb") {
		t.Fatal("the bot token is stored in the clear")
	}
	tokens, err := slackadapter.NewPostgresTokens(ctx, app.Pool(), keyBytes[:])
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tokens.BotToken(ctx, "T9"); err != nil || tok != "xoxb-t9-x" {
		t.Fatalf("token %q (%v)", tok, err)
	}

	// The read model knows the workspace; a second install replaces the token only.
	awaitWorkspace(t, app, "T9")
	for i, want := range []string{"xoxb-t9-xx", "xoxb-t9-xxx"} {
		state2 := install(t, base, "dictator").Query().Get("state")
		code, _, body = getBody(t, base+"/auth/slack/callback?code=again&state="+url.QueryEscape(state2))
		var again struct {
			CommunityID string `json:"community_id"`
			Created     bool   `json:"created"`
		}
		if err := json.Unmarshal([]byte(body), &again); code != http.StatusOK || err != nil || again.Created || again.CommunityID != res.CommunityID {
			t.Fatalf("install %d answered %d %s", i+2, code, body)
		}
		if tok, err := tokens.BotToken(ctx, "T9"); err != nil || tok != want {
			t.Fatalf("token after install %d: %q (%v)", i+2, tok, err)
		}
	}
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventCommunityCreated).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d communities created (%v)", n, err)
	}
	c, _ = engine.LoadCommunity(ctx, app.Store(), res.CommunityID)
	if len(c.Policies) != kit.PolicyCount() {
		t.Fatal("the second install applied another kit")
	}
}

// Without SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the install routes say they are not
// configured.
func TestSlackInstallNotConfigured(t *testing.T) {
	cfg := testConfig(t)
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": "http://127.0.0.1:1/api/", "SLACK_CLIENT_ID": "123.456"}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{domain.PlatformLog}
	app, stop := startApp(t, cfg)
	defer stop()
	for _, p := range []string{"/auth/slack/install", "/auth/slack/callback?code=x&state=y"} {
		code, _, body := getBody(t, "http://"+app.listener.Addr().String()+p)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "not configured") || !strings.Contains(body, "SLACK_CLIENT_SECRET") {
			t.Fatalf("%s answered %d %s", p, code, body)
		}
	}
}
