package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/slack-go/slack/slacktest"

	slackadapter "github.com/policykit-go/policykit/adapters/slack"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
)

// fakeSlackIdentity is slacktest answering the install's oauth.v2.access (workspace T7,
// installed by UADMIN, with the admin's user token) and Sign in with Slack's
// openid.connect.token and openid.connect.userInfo (member UMEMBER of T7).
func fakeSlackIdentity(t *testing.T) string {
	t.Helper()
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/oauth.v2.access", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"ok": true, "access_token": "xoxb-t7", "token_type": "bot", "bot_user_id": "UBOT7",
				"team":        map[string]any{"id": "T7", "name": "Meadow"},
				"authed_user": map[string]any{"id": "UADMIN", "scope": "chat:write,reactions:read", "access_token": "xoxp-admin", "token_type": "user"},
			})
		})
		c.Handle("/openid.connect.token", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "access_token": "xoxp-member", "token_type": "Bearer"})
		})
		c.Handle("/openid.connect.userInfo", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "sub": "UMEMBER", "https://slack.com/user_id": "UMEMBER",
				"https://slack.com/team_id": "T7", "name": "Mel Member"})
		})
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	return srv.GetAPIURL()
}

// A workspace is installed (the admin's user token kept, encrypted), then a member signs in
// with Slack: the callback sets a session cookie that the GraphQL API accepts, and the
// account acts as the member in the workspace's community.
func TestSlackSignInGivesAWorkingSession(t *testing.T) {
	var keyBytes [32]byte
	_, _ = rand.Read(keyBytes[:])
	cfg := testConfig(t)
	cfg.GraphQL = true
	cfg.WebBaseURL = "https://pk.example.org"
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": fakeSlackIdentity(t), "SLACK_CLIENT_ID": "123.456",
		"SLACK_CLIENT_SECRET": "client-secret", "SLACK_TOKEN_KEY": base64.StdEncoding.EncodeToString(keyBytes[:])}
	cfg.getenv = func(k string) string { return env[k] }
	cfg.LogPlatforms = []string{domain.PlatformLog}
	app, stop := startApp(t, cfg)
	defer stop()
	ctx := context.Background()
	base := "http://" + app.listener.Addr().String()

	// Install: the community is created and both tokens are stored.
	state := install(t, base, "testing").Query().Get("state")
	code, _, body := getBody(t, base+"/auth/slack/callback?code=c1&state="+url.QueryEscape(state))
	var installed struct {
		CommunityID string `json:"community_id"`
	}
	if err := json.Unmarshal([]byte(body), &installed); code != http.StatusOK || err != nil || installed.CommunityID == "" {
		t.Fatalf("install answered %d %s", code, body)
	}
	tokens, err := slackadapter.NewPostgresTokens(ctx, app.Pool(), keyBytes[:])
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tokens.UserToken(ctx, "T7"); err != nil || tok != "xoxp-admin" {
		t.Fatalf("the admin's user token %q (%v)", tok, err)
	}
	awaitWorkspace(t, app, "T7")

	// Sign in with Slack.
	resp, err := noRedirects().Get(base + "/auth/slack/login?next=/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || authorize.Host != "slack.com" || authorize.Path != "/openid/connect/authorize" ||
		authorize.Query().Get("redirect_uri") != "https://pk.example.org/auth/slack/signin/callback" {
		t.Fatalf("login answered %d to %s", resp.StatusCode, authorize)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/auth/slack/signin/callback?code=member-code&state="+url.QueryEscape(authorize.Query().Get("state")), nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/dashboard" {
		t.Fatalf("callback answered %d %q %s", resp.StatusCode, resp.Header.Get("Location"), raw)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == identity.SessionCookie {
			session = c
		}
	}
	if session == nil || session.Value == "" || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", session)
	}

	// The session works on the API, as the member of the workspace's community.
	q, _ := json.Marshal(map[string]any{"query": `{ me { username memberships { communityId } } }`})
	req, _ = http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(q))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: session.Value})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"data":{"me":{"username":"slack-umember","memberships":[{"communityId":"` + installed.CommunityID + `"}]}}}`
	if string(bytes.TrimSpace(raw)) != want {
		t.Fatalf("me answered %s, want %s", raw, want)
	}
	// The member was registered in the community, as the adapter registers members it meets.
	waitFor(t, "the member in the read model", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM community_users WHERE community_id = $1 AND platform = 'slack' AND username = 'UMEMBER'`,
			installed.CommunityID).Scan(&n)
		return n == 1
	})
}
