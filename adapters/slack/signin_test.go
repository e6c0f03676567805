package slack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
)

// signInHarness is the sign-in handler against a fake of Slack's openid.connect.token and
// openid.connect.userInfo, with Sessions that record whom they signed in.
type signInHarness struct {
	h   *SignInHandler
	now time.Time

	mu        sync.Mutex
	tokenForm []url.Values
	infoCalls int
	team      string // the workspace userInfo answers with
	member    string // the member userInfo answers with
	idNonce   string // the nonce claim of the id_token; "" for no id_token
	signedIn  [][3]string
	ensured   []string
}

func newSignInHarness(t *testing.T) *signInHarness {
	t.Helper()
	sh := &signInHarness{now: time.Unix(1_800_000_000, 0), team: "T123", member: "U123"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/openid.connect.token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sh.mu.Lock()
		sh.tokenForm = append(sh.tokenForm, r.Form)
		nonce := sh.idNonce
		sh.mu.Unlock()
		if r.Form.Get("code") == "bad" {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_code"})
			return
		}
		res := map[string]any{"ok": true, "access_token": "xoxp-member", "token_type": "Bearer"}
		if nonce != "" {
			res["id_token"] = fakeJWT(map[string]any{"iss": "https://slack.com", "sub": "U123", "nonce": nonce})
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("POST /api/openid.connect.userInfo", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" {
			token = r.Form.Get("token")
		}
		sh.mu.Lock()
		sh.infoCalls++
		team, member := sh.team, sh.member
		sh.mu.Unlock()
		if token != "xoxp-member" {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "sub": member, "https://slack.com/user_id": member,
			"https://slack.com/team_id": team, "name": "Dora Member", "https://slack.com/team_name": "Garden"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var err error
	sh.h, err = NewSignInHandler(SignInConfig{OAuthApp: OAuthApp{ClientID: "cid", ClientSecret: "csecret",
		RedirectURL: "https://pk.example/auth/slack/signin/callback", APIURL: srv.URL + "/api/"}}, SignInDeps{
		Directory: StaticDirectory{Teams: map[string]string{"T123": "c1"}, Users: map[string]map[string]string{"c1": {"U123": "user-1"}}},
		EnsureUser: func(_ context.Context, communityID, member string) (string, error) {
			sh.mu.Lock()
			defer sh.mu.Unlock()
			sh.ensured = append(sh.ensured, communityID+"/"+member)
			return "user-new-" + member, nil
		},
		Sessions: sessionsFunc(func(_ context.Context, m identity.PlatformMember, ttl time.Duration) (identity.Account, string, error) {
			sh.mu.Lock()
			defer sh.mu.Unlock()
			if m.Platform != domain.PlatformSlack || ttl != identity.DefaultSessionTTL {
				return identity.Account{}, "", fmt.Errorf("signed in %+v for %v", m, ttl)
			}
			sh.signedIn = append(sh.signedIn, [3]string{m.CommunityID, m.UserID, m.ExternalID})
			return identity.Account{ID: "account-of-" + m.UserID}, "session-of-" + m.UserID, nil
		}),
		OAuthDeps: OAuthDeps{Now: func() time.Time { sh.mu.Lock(); defer sh.mu.Unlock(); return sh.now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// sessionsFunc is a Sessions of one function.
type sessionsFunc func(ctx context.Context, m identity.PlatformMember, ttl time.Duration) (identity.Account, string, error)

func (f sessionsFunc) SignInWithPlatform(ctx context.Context, m identity.PlatformMember, ttl time.Duration) (identity.Account, string, error) {
	return f(ctx, m, ttl)
}

// fakeJWT is an unsigned JWT with the claims (the handler reads only the nonce).
func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(b) + "." + enc([]byte("signature"))
}

func (sh *signInHarness) get(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	sh.h.ServeHTTP(rec, req)
	return rec
}

// login starts a sign-in and returns Slack's authorization URL and the nonce cookie.
func (sh *signInHarness) login(t *testing.T, next string) (*url.URL, *http.Cookie) {
	t.Helper()
	rec := sh.get("/auth/slack/login?next=" + url.QueryEscape(next))
	if rec.Code != http.StatusFound {
		t.Fatalf("login answered %d %s", rec.Code, rec.Body)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == signInCookie {
			return u, c
		}
	}
	t.Fatalf("login set no %s cookie", signInCookie)
	return nil, nil
}

func (sh *signInHarness) callback(state, code string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	return sh.get("/auth/slack/signin/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), cookies...)
}

func (sh *signInHarness) sessions() [][3]string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return append([][3]string(nil), sh.signedIn...)
}

func TestSignInLoginRedirectsToSlack(t *testing.T) {
	sh := newSignInHarness(t)
	u, ck := sh.login(t, "/proposals/p1")
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != OpenIDAuthorizeURL {
		t.Fatalf("redirected to %s", u)
	}
	if q.Get("client_id") != "cid" || q.Get("scope") != "openid profile" || q.Get("response_type") != "code" ||
		q.Get("redirect_uri") != "https://pk.example/auth/slack/signin/callback" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorize parameters %v", q)
	}
	if ck.Value != q.Get("nonce") || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/auth/slack/" {
		t.Fatalf("nonce cookie %+v", ck)
	}
	if _, err := sh.h.states().verify(q.Get("state"), flowInstall); err == nil {
		t.Fatal("a sign-in state passes as an install state")
	}
}

func TestSignInCallbackSignsTheMemberIn(t *testing.T) {
	sh := newSignInHarness(t)
	u, ck := sh.login(t, "/proposals/p1?tab=votes")
	sh.idNonce = u.Query().Get("nonce")
	rec := sh.callback(u.Query().Get("state"), "good-code", ck)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/proposals/p1?tab=votes" {
		t.Fatalf("callback answered %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := sh.sessions(); len(got) != 1 || got[0] != [3]string{"c1", "user-1", "U123"} {
		t.Fatalf("signed in %v", got)
	}
	var session, nonce *http.Cookie
	for _, c := range rec.Result().Cookies() {
		switch c.Name {
		case identity.SessionCookie:
			session = c
		case signInCookie:
			nonce = c
		}
	}
	if session == nil || session.Value != "session-of-user-1" || !session.HttpOnly || !session.Secure || nonce == nil || nonce.MaxAge >= 0 {
		t.Fatalf("cookies %v", rec.Result().Cookies())
	}
	form := sh.tokenForm[0]
	if form.Get("code") != "good-code" || form.Get("client_id") != "cid" || form.Get("client_secret") != "csecret" ||
		form.Get("redirect_uri") != "https://pk.example/auth/slack/signin/callback" {
		t.Fatalf("openid.connect.token called with %v", form)
	}

	// A member the community does not know yet is registered, as the adapter would.
	sh.member, sh.idNonce = "U999", ""
	u, ck = sh.login(t, "")
	if rec := sh.callback(u.Query().Get("state"), "code-2", ck); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/" {
		t.Fatalf("callback answered %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := sh.sessions(); len(got) != 2 || got[1] != [3]string{"c1", "user-new-U999", "U999"} || len(sh.ensured) != 1 || sh.ensured[0] != "c1/U999" {
		t.Fatalf("signed in %v, registered %v", got, sh.ensured)
	}
}

func TestSignInNextMustBeLocal(t *testing.T) {
	for _, next := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "evil", "/a\r\nb"} {
		sh := newSignInHarness(t)
		u, ck := sh.login(t, next)
		rec := sh.callback(u.Query().Get("state"), "c", ck)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/" {
			t.Fatalf("next %q: answered %d %q", next, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func TestSignInCallbackRefusesBadState(t *testing.T) {
	sh := newSignInHarness(t)
	u, ck := sh.login(t, "/")
	state := u.Query().Get("state")
	payload, sig, _ := strings.Cut(state, ".")
	forged := payload + "." + strings.Repeat("A", len(sig))
	installState, _, err := sh.h.states().sign(oauthState{Flow: flowInstall, Kit: "testing"})
	if err != nil {
		t.Fatal(err)
	}
	otherKey := stateSigner{key: []byte("another key"), ttl: time.Minute, now: func() time.Time { return sh.now }}
	otherState, _, _ := otherKey.sign(oauthState{Flow: flowSignIn, Next: "/"})
	cases := []struct {
		name    string
		state   string
		cookies []*http.Cookie
	}{
		{"forged signature", forged, []*http.Cookie{ck}},
		{"another key", otherState, []*http.Cookie{ck}},
		{"install state", installState, []*http.Cookie{ck}},
		{"no state", "", []*http.Cookie{ck}},
		{"no nonce cookie", state, nil},
		{"another browser's nonce", state, []*http.Cookie{{Name: signInCookie, Value: "someone-else"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := sh.callback(c.state, "c", c.cookies...)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("answered %d %s", rec.Code, rec.Body)
			}
		})
	}
	// Expired: ten minutes and a bit later.
	sh.mu.Lock()
	sh.now = sh.now.Add(10*time.Minute + 2*time.Second)
	sh.mu.Unlock()
	if rec := sh.callback(state, "c", ck); rec.Code != http.StatusBadRequest {
		t.Fatalf("expired state answered %d %s", rec.Code, rec.Body)
	}
	if n := len(sh.tokenForm); n != 0 || len(sh.sessions()) != 0 {
		t.Fatalf("a refused state reached Slack (%d) or signed in %v", n, sh.sessions())
	}
}

func TestSignInCallbackRefusals(t *testing.T) {
	t.Run("unknown workspace", func(t *testing.T) {
		sh := newSignInHarness(t)
		sh.team = "T-OTHER"
		u, ck := sh.login(t, "/")
		rec := sh.callback(u.Query().Get("state"), "c", ck)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "this workspace has not installed PolicyKit") {
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
		if len(sh.sessions()) != 0 {
			t.Fatal("signed in a member of an unknown workspace")
		}
	})
	t.Run("code refused", func(t *testing.T) {
		sh := newSignInHarness(t)
		u, ck := sh.login(t, "/")
		if rec := sh.callback(u.Query().Get("state"), "bad", ck); rec.Code != http.StatusBadGateway || len(sh.sessions()) != 0 {
			t.Fatalf("answered %d %s; signed in %v", rec.Code, rec.Body, sh.sessions())
		}
	})
	t.Run("id_token of another sign-in", func(t *testing.T) {
		sh := newSignInHarness(t)
		u, ck := sh.login(t, "/")
		sh.idNonce = "not-this-one"
		if rec := sh.callback(u.Query().Get("state"), "c", ck); rec.Code != http.StatusBadRequest || len(sh.sessions()) != 0 || sh.infoCalls != 0 {
			t.Fatalf("answered %d %s; signed in %v", rec.Code, rec.Body, sh.sessions())
		}
	})
	t.Run("member denied the sign-in", func(t *testing.T) {
		sh := newSignInHarness(t)
		u, ck := sh.login(t, "/")
		rec := sh.get("/auth/slack/signin/callback?error=access_denied&state="+url.QueryEscape(u.Query().Get("state")), ck)
		if rec.Code != http.StatusBadRequest || len(sh.tokenForm) != 0 {
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("sign-in fails", func(t *testing.T) {
		sh := newSignInHarness(t)
		sh.h.deps.Sessions = sessionsFunc(func(context.Context, identity.PlatformMember, time.Duration) (identity.Account, string, error) {
			return identity.Account{}, "", errors.New("db down")
		})
		u, ck := sh.login(t, "/")
		if rec := sh.callback(u.Query().Get("state"), "c", ck); rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "db down") {
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
	})
}

func TestNewSignInHandlerReportsEveryProblem(t *testing.T) {
	_, err := NewSignInHandler(SignInConfig{OAuthApp: OAuthApp{RedirectURL: "/relative"}}, SignInDeps{})
	for _, want := range []string{"ClientID", "RedirectURL", "Directory and Sessions"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}
}
