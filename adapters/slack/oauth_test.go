package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

type installHarness struct {
	in      *Installer
	tokens  *MemoryTokens
	now     time.Time
	mu      sync.Mutex
	created []Installation
	oauth   int
	slackOK bool
	// userToken is the installer's token Slack answers with ("" for none).
	userToken string
}

func newInstallHarness(t *testing.T, dir Directory) *installHarness {
	h := &installHarness{tokens: &MemoryTokens{}, now: time.Unix(1_800_000_000, 0), slackOK: true, userToken: "xoxp-admin"}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/oauth.v2.access", func(w http.ResponseWriter, r *http.Request) {
			h.mu.Lock()
			h.oauth++
			ok, userToken := h.slackOK, h.userToken
			h.mu.Unlock()
			if !ok {
				_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_code"})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "access_token": "xoxb-new", "bot_user_id": "UBOT",
				"team":        map[string]any{"id": "T1", "name": "Garden"},
				"authed_user": map[string]any{"id": "UADMIN", "scope": "chat:write,reactions:read", "access_token": userToken, "token_type": "user"}})
		})
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	in, err := NewInstaller(InstallConfig{OAuthApp: OAuthApp{ClientID: "cid", ClientSecret: "csecret",
		RedirectURL: "https://pk.example/auth/slack/callback", APIURL: srv.GetAPIURL()}}, InstallDeps{
		Tokens: h.tokens, Directory: dir,
		CreateCommunity: func(_ context.Context, in Installation) (string, bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.created = append(h.created, in)
			return "c-new", true, nil
		},
		OAuthDeps: OAuthDeps{Now: func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.in = in
	return h
}

func (h *installHarness) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.in.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func (h *installHarness) state(t *testing.T, kit string) string {
	t.Helper()
	rec := h.get(t, "/auth/slack/install?kit="+kit)
	if rec.Code != http.StatusFound {
		t.Fatalf("install answered %d", rec.Code)
	}
	u, _ := url.Parse(rec.Header().Get("Location"))
	return u.Query().Get("state")
}

func (h *installHarness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func TestInstallStateExpires(t *testing.T) {
	h := newInstallHarness(t, StaticDirectory{})
	state := h.state(t, "jury")
	h.advance(10*time.Minute + 2*time.Second)
	if rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(state)); rec.Code != http.StatusBadRequest {
		t.Fatalf("expired state answered %d %s", rec.Code, rec.Body)
	}
	h.mu.Lock()
	calls := h.oauth
	h.mu.Unlock()
	if _, err := h.tokens.BotToken(context.Background(), "T1"); err == nil || calls != 0 || len(h.created) != 0 {
		t.Fatalf("an expired state changed something: oauth %d, created %v, token err %v", calls, h.created, err)
	}

	// Within ten minutes it is good, and carries its kit.
	state = h.state(t, "jury")
	h.advance(9 * time.Minute)
	if rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(state)); rec.Code != http.StatusOK {
		t.Fatalf("fresh state answered %d %s", rec.Code, rec.Body)
	}
	if len(h.created) != 1 || h.created[0] != (Installation{TeamID: "T1", TeamName: "Garden", BotUserID: "UBOT", InstallerID: "UADMIN", Kit: "jury"}) {
		t.Fatalf("created %+v", h.created)
	}
	if tok, _ := h.tokens.BotToken(context.Background(), "T1"); tok != "xoxb-new" {
		t.Fatalf("token %q", tok)
	}
	if tok, err := h.tokens.UserToken(context.Background(), "T1"); err != nil || tok != "xoxp-admin" {
		t.Fatalf("the installer's user token %q (%v)", tok, err)
	}
	// A state signed with another secret is refused.
	other := newInstallHarness(t, StaticDirectory{})
	other.in.cfg.StateKey = []byte("another key")
	if rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(other.state(t, "jury"))); rec.Code != http.StatusBadRequest {
		t.Fatalf("state of another key answered %d", rec.Code)
	}
}

func TestInstallKnownWorkspaceKeepsItsCommunity(t *testing.T) {
	h := newInstallHarness(t, StaticDirectory{Teams: map[string]string{"T1": "c-old"}})
	rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(h.state(t, "testing")))
	var res map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if rec.Code != http.StatusOK || res["community_id"] != "c-old" || res["created"] != false || len(h.created) != 0 {
		t.Fatalf("answered %d %v; created %v", rec.Code, res, h.created)
	}
	if tok, _ := h.tokens.BotToken(context.Background(), "T1"); tok != "xoxb-new" {
		t.Fatalf("token %q", tok)
	}
}

func TestInstallRefusedCodeChangesNothing(t *testing.T) {
	h := newInstallHarness(t, StaticDirectory{})
	h.mu.Lock()
	h.slackOK = false
	h.mu.Unlock()
	if rec := h.get(t, "/auth/slack/callback?code=bad&state="+url.QueryEscape(h.state(t, "testing"))); rec.Code != http.StatusBadGateway {
		t.Fatalf("refused code answered %d %s", rec.Code, rec.Body)
	}
	if rec := h.get(t, "/auth/slack/callback?error=access_denied&state="+url.QueryEscape(h.state(t, "testing"))); rec.Code != http.StatusBadRequest {
		t.Fatalf("denied install answered %d %s", rec.Code, rec.Body)
	}
	if _, err := h.tokens.BotToken(context.Background(), "T1"); err == nil || len(h.created) != 0 {
		t.Fatal("a refused install changed something")
	}
	if _, err := h.tokens.UserToken(context.Background(), "T1"); err == nil {
		t.Fatal("a refused install stored a user token")
	}
}

// An install whose answer carries no user token (the app asked for no user scope, say)
// keeps the user token an earlier install stored.
func TestInstallWithoutUserTokenKeepsTheStoredOne(t *testing.T) {
	h := newInstallHarness(t, StaticDirectory{Teams: map[string]string{"T1": "c-old"}})
	if rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(h.state(t, "testing"))); rec.Code != http.StatusOK {
		t.Fatalf("install answered %d %s", rec.Code, rec.Body)
	}
	h.mu.Lock()
	h.userToken = ""
	h.mu.Unlock()
	if rec := h.get(t, "/auth/slack/callback?code=c&state="+url.QueryEscape(h.state(t, "testing"))); rec.Code != http.StatusOK {
		t.Fatalf("second install answered %d %s", rec.Code, rec.Body)
	}
	if tok, err := h.tokens.UserToken(context.Background(), "T1"); err != nil || tok != "xoxp-admin" {
		t.Fatalf("user token %q (%v)", tok, err)
	}
}
