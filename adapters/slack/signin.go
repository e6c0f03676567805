package slack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
)

// OpenIDAuthorizeURL is Slack's OpenID Connect authorization page ("Sign in with Slack").
const OpenIDAuthorizeURL = "https://slack.com/openid/connect/authorize"

// SignInScopes are the OpenID Connect scopes "Sign in with Slack" asks for: who the member
// is and in which workspace.
var SignInScopes = []string{"openid", "profile"}

// signInCookie holds the nonce of a sign-in in progress, so that the callback completes
// only the sign-in this browser started: without it, a callback link made from someone
// else's code would sign the browser in as them.
const signInCookie = "policykit_slack_signin"

// SignInConfig configures "Sign in with Slack".
type SignInConfig struct {
	OAuthApp
	// SessionTTL is how long the browser session of a signed-in member lasts. Default:
	// identity.DefaultSessionTTL.
	SessionTTL time.Duration
}

// Sessions starts the browser session of a member a platform vouched for; *identity.Store
// satisfies it.
type Sessions interface {
	SignInWithPlatform(ctx context.Context, m identity.PlatformMember, ttl time.Duration) (identity.Account, string, error)
}

// SignInDeps are the sign-in flow's collaborators.
type SignInDeps struct {
	// Directory finds the community of the member's workspace and its user. Required.
	Directory Directory
	// EnsureUser registers a member the Directory does not know yet as a community user, as
	// the adapter does (nil: such a member is refused).
	EnsureUser func(ctx context.Context, communityID, memberID string) (string, error)
	// Sessions starts the browser session of the account linked to the member's community
	// user (one made for the member when none is). Required.
	Sessions Sessions
	OAuthDeps
}

// SignInHandler serves GET /auth/slack/login (a redirect to Slack's OpenID Connect
// authorization page with a signed, expiring state carrying where to go afterwards) and
// GET /auth/slack/signin/callback (the code exchange; the member is found in the community
// of their workspace and signed in, then sent on). Only members of a workspace that
// installed the app may sign in.
type SignInHandler struct {
	cfg  SignInConfig
	deps SignInDeps
}

// NewSignInHandler returns the sign-in flow's handler.
func NewSignInHandler(cfg SignInConfig, deps SignInDeps) (*SignInHandler, error) {
	errs := cfg.validate("slack sign-in")
	if deps.Directory == nil || deps.Sessions == nil {
		errs = append(errs, errors.New("slack sign-in: Directory and Sessions are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.OAuthApp = cfg.withDefaults(OpenIDAuthorizeURL)
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = identity.DefaultSessionTTL
	}
	deps.OAuthDeps = deps.OAuthDeps.withDefaults()
	return &SignInHandler{cfg: cfg, deps: deps}, nil
}

// ServeHTTP routes /auth/slack/login and /auth/slack/signin/callback (GET only).
func (h *SignInHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveGET(w, r, map[string]http.HandlerFunc{
		"/auth/slack/login":           h.login,
		"/auth/slack/signin/callback": h.callback,
	})
}

func (h *SignInHandler) states() stateSigner {
	return stateSigner{key: h.cfg.StateKey, ttl: h.cfg.StateTTL, now: h.deps.Now, used: h.deps.Nonces}
}

func (h *SignInHandler) login(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !localPath(next) {
		next = "/"
	}
	state, s, err := h.states().sign(oauthState{Flow: flowSignIn, Next: next})
	if err != nil {
		installJSON(w, http.StatusInternalServerError, map[string]any{"error": "cannot make state"})
		return
	}
	h.setNonceCookie(w, s.Nonce, int(h.cfg.StateTTL/time.Second))
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {h.cfg.ClientID},
		"scope":         {strings.Join(SignInScopes, " ")},
		"redirect_uri":  {h.cfg.RedirectURL},
		"state":         {state},
		"nonce":         {s.Nonce},
	}
	http.Redirect(w, r, h.cfg.AuthorizeURL+"?"+q.Encode(), http.StatusFound)
}

// setNonceCookie sets (maxAge > 0) or clears (maxAge < 0) the sign-in's nonce cookie.
func (h *SignInHandler) setNonceCookie(w http.ResponseWriter, nonce string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: signInCookie, Value: nonce, Path: "/auth/slack/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteLaxMode,
	})
}

// secure reports whether the site is served over TLS, as the address the browser comes back
// to from Slack says: its cookies are then sent over TLS only.
func (h *SignInHandler) secure() bool { return strings.HasPrefix(h.cfg.RedirectURL, "https://") }

func (h *SignInHandler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s, err := h.states().verify(q.Get("state"), flowSignIn)
	if err == nil {
		if ck, cerr := r.Cookie(signInCookie); cerr != nil || ck.Value != s.Nonce {
			err = errors.New("the state is not this browser's sign-in")
		}
	}
	if err != nil {
		h.deps.Logger.Warn("slack sign-in callback refused", "err", err)
		installJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state: sign in again"})
		return
	}
	h.setNonceCookie(w, "", -1)
	code := authorizedCode(w, q, "the sign-in")
	if code == "" {
		return
	}
	ctx := r.Context()
	tok, err := slack.GetOpenIDConnectTokenContext(ctx, h.deps.HTTPClient, h.cfg.ClientID, h.cfg.ClientSecret, code,
		h.cfg.RedirectURL, slack.OAuthOptionAPIURL(h.cfg.APIURL))
	if err != nil {
		h.deps.Logger.Warn("slack openid.connect.token failed", "err", err)
		installJSON(w, http.StatusBadGateway, map[string]any{"error": "Slack refused the code: " + err.Error()})
		return
	}
	if tok.IdToken != "" {
		// The ID token came straight from Slack over TLS, so its signature need not be
		// checked (OpenID Connect Core 3.1.3.7); its nonce ties it to this sign-in.
		if n, err := idTokenNonce(tok.IdToken); err != nil || n != s.Nonce {
			h.deps.Logger.Warn("slack sign-in: id_token nonce does not match", "err", err)
			installJSON(w, http.StatusBadRequest, map[string]any{"error": "Slack's answer is not for this sign-in: sign in again"})
			return
		}
	}
	api := slack.New(tok.AccessToken, slack.OptionAPIURL(h.cfg.APIURL), slack.OptionHTTPClient(h.deps.HTTPClient))
	info, err := api.GetOpenIDConnectUserInfoContext(ctx)
	if err != nil {
		h.deps.Logger.Warn("slack openid.connect.userInfo failed", "err", err)
		installJSON(w, http.StatusBadGateway, map[string]any{"error": "Slack did not say who signed in: " + err.Error()})
		return
	}
	member := info.UserID
	if member == "" {
		member = info.Sub
	}
	if info.TeamID == "" || member == "" {
		installJSON(w, http.StatusBadGateway, map[string]any{"error": "Slack's answer lacks the workspace or the member"})
		return
	}
	communityID, err := h.deps.Directory.CommunityOfTeam(ctx, info.TeamID)
	if errors.Is(err, ErrUnknownWorkspace) {
		installJSON(w, http.StatusForbidden, map[string]any{"error": "this workspace has not installed PolicyKit"})
		return
	}
	if err != nil {
		h.fail(w, "community of workspace", info.TeamID, err)
		return
	}
	userID, err := h.userOf(ctx, communityID, member)
	if err != nil {
		h.fail(w, "community user", member, err)
		return
	}
	if userID == "" {
		installJSON(w, http.StatusForbidden, map[string]any{"error": "you are not a member of this workspace's community"})
		return
	}
	_, secret, err := h.deps.Sessions.SignInWithPlatform(ctx, identity.PlatformMember{
		Platform: domain.PlatformSlack, ExternalID: member, CommunityID: communityID, UserID: userID,
	}, h.cfg.SessionTTL)
	if err != nil {
		h.fail(w, "session", member, err)
		return
	}
	identity.SetSessionCookie(w, secret, h.cfg.SessionTTL, h.secure())
	h.deps.Logger.Info("slack member signed in", "team", info.TeamID, "community", communityID, "member", member)
	next := s.Next
	if !localPath(next) {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusFound)
}

// userOf returns the community user of a Slack member, registering it when EnsureUser is
// set; "" when the member is unknown and cannot be registered.
func (h *SignInHandler) userOf(ctx context.Context, communityID, member string) (string, error) {
	id, err := h.deps.Directory.UserID(ctx, communityID, member)
	if err != nil || id != "" || h.deps.EnsureUser == nil {
		return id, err
	}
	return h.deps.EnsureUser(ctx, communityID, member)
}

func (h *SignInHandler) fail(w http.ResponseWriter, what, subject string, err error) {
	h.deps.Logger.Error("slack sign-in failed", "step", what, "subject", subject, "err", err)
	installJSON(w, http.StatusInternalServerError, map[string]any{"error": "the sign-in could not be completed"})
}

// localPath reports whether p is a path on this site: it starts with one "/" (not "//"
// or "/\", which browsers read as another host) and holds no control character.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// idTokenNonce reads the nonce claim of a JWT's payload.
func idTokenNonce(idToken string) (string, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", errors.New("id_token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("id_token payload: %w", err)
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", fmt.Errorf("id_token payload: %w", err)
	}
	return claims.Nonce, nil
}
