package discord

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
)

type fakeSessions struct{ members []identity.PlatformMember }

func (f *fakeSessions) SignInWithPlatform(_ context.Context, m identity.PlatformMember, _ time.Duration) (identity.Account, string, error) {
	f.members = append(f.members, m)
	return identity.Account{}, "session-secret", nil
}

// The bot install creates the guild's community with the chosen kit and the installer its
// admin, and registers /policykit; its state opens one callback. Sign in with Discord gives a
// member of the community a session.
func TestInstallAndSignIn(t *testing.T) {
	b, _ := watch(t)
	fake := discordtest.New(t.Cleanup)
	dir := &platform.MemoryDirectory{}
	var installs []platform.Installation
	sessions := &fakeSessions{}
	host := platform.Host{Bus: b, Log: discardLog(), BaseURL: "https://policykit.example", Directory: dir, Sessions: sessions,
		CheckKit: func(string) error { return nil },
		CreateCommunity: func(_ context.Context, in platform.Installation) (string, bool, error) {
			installs = append(installs, in)
			return "c2", true, nil
		}}
	p, err := NewPlugged(context.Background(), Section{ApplicationID: appID, PublicKey: discordtest.NewKey().PublicHex(), BotToken: "bot",
		ClientSecret: "client-secret", APIURL: fake.URL(), Gateway: false}, host)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Routes()["/auth/discord/"])
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	resp := get("/auth/discord/install?kit=testing")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), fake.URL()+"oauth2/authorize?") ||
		loc.Query().Get("scope") != "bot applications.commands identify" || loc.Query().Get("permissions") != "76818" ||
		loc.Query().Get("redirect_uri") != "https://policykit.example/auth/discord/callback" {
		t.Fatalf("install answered %d %s", resp.StatusCode, loc)
	}
	fake.Token = map[string]any{"access_token": "user-access", "token_type": "Bearer", "expires_in": 604800, "refresh_token": "r",
		"scope": "bot applications.commands identify", "guild": map[string]any{"id": "G2", "name": "Garden"}}
	fake.Me = map[string]any{"id": "UINSTALLER", "username": "ana"}
	state := url.QueryEscape(loc.Query().Get("state"))
	if resp := get("/auth/discord/callback?code=abc&guild_id=G2&permissions=76818&state=" + state); resp.StatusCode != http.StatusOK {
		t.Fatalf("the install's callback answered %d", resp.StatusCode)
	}
	if len(installs) != 1 || installs[0] != (platform.Installation{Platform: domain.PlatformDiscord, ExternalID: "G2", Name: "Garden", InstallerID: "UINSTALLER", Kit: "testing"}) {
		t.Fatalf("installs %+v", installs)
	}
	if len(fake.Seen("PUT /applications/"+appID+"/guilds/G2/commands")) != 1 {
		t.Fatal("/policykit was not registered in the installed guild")
	}
	if resp := get("/auth/discord/callback?code=abc&state=" + state); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a state used twice answered %d", resp.StatusCode)
	}

	// Sign in with Discord.
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c2", At: time.Now()}, Platform: domain.PlatformDiscord, ExternalID: "G2"})
	learn(t, dir, 2, domain.UserRegistered{CommunityHeader: domain.CommunityHeader{CommunityID: "c2", At: time.Now()}, UserID: "u-ana", Platform: domain.PlatformDiscord, Username: "UINSTALLER"})
	login := func() (*url.URL, *http.Cookie) {
		t.Helper()
		resp := get("/auth/discord/login?guild=G2")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		for _, c := range resp.Cookies() {
			if c.Name == signInCookie {
				if !c.HttpOnly || !c.Secure || c.Path != "/auth/discord/" || c.MaxAge <= 0 {
					t.Fatalf("sign-in cookie %+v", c)
				}
				return loc, c
			}
		}
		t.Fatalf("login set no nonce cookie: %v", resp.Cookies())
		return nil, nil
	}
	callback := func(code string, loc *url.URL, cookie *http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/auth/discord/signin/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil)
		if cookie != nil {
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	loc, cookie := login()
	if loc.Query().Get("scope") != "identify" {
		t.Fatalf("login redirected to %s", loc)
	}
	// Login CSRF: a callback carrying a state (and code) the browser did not start, without
	// its nonce cookie or with another sign-in's, signs no one in.
	otherLoc, _ := login()
	if resp := callback("def", loc, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a callback without the nonce cookie answered %d", resp.StatusCode)
	}
	if resp := callback("def", otherLoc, cookie); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a callback with another sign-in's cookie answered %d", resp.StatusCode)
	}
	if len(sessions.members) != 0 {
		t.Fatalf("a forged callback started sessions %+v", sessions.members)
	}
	loc, cookie = login()
	resp = callback("def", loc, cookie)
	if resp.StatusCode != http.StatusFound || len(resp.Cookies()) == 0 {
		t.Fatalf("sign-in answered %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
	var cleared, session bool
	for _, c := range resp.Cookies() {
		cleared = cleared || (c.Name == signInCookie && c.MaxAge < 0)
		session = session || c.Name == identity.SessionCookie
	}
	if !cleared || !session {
		t.Fatalf("sign-in set cookies %v: want the session and the nonce cleared", resp.Cookies())
	}
	if len(sessions.members) != 1 || sessions.members[0] != (identity.PlatformMember{Platform: domain.PlatformDiscord, ExternalID: "UINSTALLER", CommunityID: "c2", UserID: "u-ana"}) {
		t.Fatalf("sessions %+v", sessions.members)
	}
	// A Discord user who is not a member of the community gets no session.
	fake.Me = map[string]any{"id": "USTRANGER"}
	loc, cookie = login()
	if resp := callback("ghi", loc, cookie); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stranger's sign-in answered %d", resp.StatusCode)
	}
}
