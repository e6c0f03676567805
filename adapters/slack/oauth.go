package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Scopes the app asks for when it is installed (README, "Connecting Slack").
var (
	BotScopes = []string{
		"app_mentions:read", "channels:history", "channels:join", "channels:manage", "channels:read",
		"chat:write", "chat:write.customize", "chat:write.public", "commands", "dnd:read", "emoji:read",
		"files:read", "groups:read", "groups:write", "im:history", "im:read", "im:write",
		"incoming-webhook", "links:read", "links:write", "mpim:history", "mpim:read", "mpim:write",
		"pins:read", "pins:write", "reactions:read", "reactions:write", "team:read", "usergroups:read",
		"usergroups:write", "users.profile:read", "users:read", "users:read.email", "users:write",
	}
	UserScopes = []string{"chat:write", "reactions:read"}
)

// AuthorizeURL is Slack's OAuth v2 authorization page.
const AuthorizeURL = "https://slack.com/oauth/v2/authorize"

// OAuthApp is the Slack app as an OAuth client, as both the install flow and "Sign in with
// Slack" use it.
type OAuthApp struct {
	ClientID     string // SLACK_CLIENT_ID
	ClientSecret string // SLACK_CLIENT_SECRET
	// RedirectURL is the flow's callback, which Slack sends the browser back to; it must be
	// one of the app's redirect URLs (install: <POLICYKIT_BASE_URL>/auth/slack/callback,
	// sign-in: <POLICYKIT_BASE_URL>/auth/slack/signin/callback).
	RedirectURL string
	// APIURL is the Web API base for the code exchange (oauth.v2.access, or
	// openid.connect.token and openid.connect.userInfo), ending in "/" (default slack.APIURL).
	APIURL string
	// AuthorizeURL is Slack's authorization page (default AuthorizeURL for the install flow,
	// OpenIDAuthorizeURL for sign-in).
	AuthorizeURL string
	// StateKey signs the state parameter (HMAC-SHA256). Default: derived from ClientSecret,
	// the same for both flows; a state made for one flow is refused by the other.
	StateKey []byte
	// StateTTL is how long a link to the authorization page stays good (default 10 minutes).
	StateTTL time.Duration
}

// validate reports every problem of a, each message starting with flow ("slack install").
func (a OAuthApp) validate(flow string) []error {
	var errs []error
	if a.ClientID == "" || a.ClientSecret == "" {
		errs = append(errs, fmt.Errorf("%s: ClientID and ClientSecret are required", flow))
	}
	if u, err := url.Parse(a.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: RedirectURL %q is not an absolute URL", flow, a.RedirectURL))
	}
	return errs
}

// withDefaults returns a with its unset fields defaulted; authorizeURL is the flow's
// authorization page.
func (a OAuthApp) withDefaults(authorizeURL string) OAuthApp {
	if a.APIURL == "" {
		a.APIURL = slack.APIURL
	}
	if a.AuthorizeURL == "" {
		a.AuthorizeURL = authorizeURL
	}
	if len(a.StateKey) == 0 {
		a.StateKey = defaultStateKey(a.ClientSecret)
	}
	if a.StateTTL <= 0 {
		a.StateTTL = 10 * time.Minute
	}
	return a
}

// OAuthDeps are the collaborators both OAuth flows share; each defaults when nil.
type OAuthDeps struct {
	HTTPClient *http.Client     // talks to Slack (default: a 30-second timeout)
	Logger     *slog.Logger     // default: discards
	Now        func() time.Time // the clock of the state's expiry (default time.Now)
	// Nonces makes each state open one callback only (default: a platform.MemoryNonces of
	// the flow's own; give a platform.PostgresNonces when several processes serve it).
	Nonces platform.NonceStore
}

func (d OAuthDeps) withDefaults() OAuthDeps {
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Nonces == nil {
		d.Nonces = &platform.MemoryNonces{Now: d.Now}
	}
	return d
}

// serveGET answers a GET or HEAD request with the route of its path, a trailing "/" aside;
// other methods get 405 and other paths 404, in JSON.
func serveGET(w http.ResponseWriter, r *http.Request, routes map[string]http.HandlerFunc) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		installJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed"})
		return
	}
	route, ok := routes[strings.TrimSuffix(r.URL.Path, "/")]
	if !ok {
		installJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
		return
	}
	route(w, r)
}

// authorizedCode returns the code of Slack's callback query q, or answers 400 and returns ""
// when Slack did not authorize the flow (what: "the installation") or sent no code.
func authorizedCode(w http.ResponseWriter, q url.Values, what string) string {
	if e := q.Get("error"); e != "" {
		installJSON(w, http.StatusBadRequest, map[string]any{"error": "Slack did not authorize " + what + ": " + e})
		return ""
	}
	code := q.Get("code")
	if code == "" {
		installJSON(w, http.StatusBadRequest, map[string]any{"error": "missing code"})
	}
	return code
}

// InstallConfig configures the OAuth v2 install flow.
type InstallConfig struct {
	OAuthApp
	// DefaultKit is the starter kit when the install link names none (default "testing").
	DefaultKit string
}

// Installation is a completed OAuth exchange: the workspace, its bot, the installing member
// and the starter kit they chose.
type Installation struct {
	TeamID      string
	TeamName    string
	BotUserID   string
	InstallerID string // the installing member (authed_user.id)
	Kit         string
}

// InstallDeps are the install flow's collaborators.
type InstallDeps struct {
	// Tokens receives the workspace's bot token and the installer's user token. Required.
	Tokens TokenStore
	// Directory tells whether the workspace already has a community. Required.
	Directory Directory
	// CreateCommunity creates the community of a workspace that has none (its first admin is
	// the installer) and returns its id; created is false when it already existed. Required.
	CreateCommunity func(ctx context.Context, in Installation) (communityID string, created bool, err error)
	// CheckKit reports an unknown starter kit name (nil: every name is accepted).
	CheckKit func(name string) error
	// Installed, when set, is told of each workspace installed (or installed again) once
	// its tokens and community are in place: Adapter.LearnWorkspace, so that the rename of
	// a channel can be reverted from the workspace's first event on.
	Installed func(teamID string)
	OAuthDeps
}

// Installer serves GET /auth/slack/install (a redirect to Slack's authorization page with a
// signed, expiring state carrying the chosen starter kit) and GET /auth/slack/callback (the
// code exchange: the bot token is stored and the workspace's community created if it has
// none). It keeps no server-side session.
type Installer struct {
	cfg  InstallConfig
	deps InstallDeps
}

// NewInstaller returns the install flow's handler.
func NewInstaller(cfg InstallConfig, deps InstallDeps) (*Installer, error) {
	errs := cfg.validate("slack install")
	if deps.Tokens == nil || deps.Directory == nil || deps.CreateCommunity == nil {
		errs = append(errs, errors.New("slack install: Tokens, Directory and CreateCommunity are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg.OAuthApp = cfg.withDefaults(AuthorizeURL)
	if cfg.DefaultKit == "" {
		cfg.DefaultKit = "testing"
	}
	deps.OAuthDeps = deps.OAuthDeps.withDefaults()
	return &Installer{cfg: cfg, deps: deps}, nil
}

// ServeHTTP routes /auth/slack/install and /auth/slack/callback (GET only).
func (in *Installer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveGET(w, r, map[string]http.HandlerFunc{
		"/auth/slack/install":  in.install,
		"/auth/slack/callback": in.callback,
	})
}

func (in *Installer) install(w http.ResponseWriter, r *http.Request) {
	kit := strings.TrimSpace(r.URL.Query().Get("kit"))
	if kit == "" {
		kit = in.cfg.DefaultKit
	}
	if in.deps.CheckKit != nil {
		if err := in.deps.CheckKit(kit); err != nil {
			installJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
	}
	state, err := in.signState(kit)
	if err != nil {
		installJSON(w, http.StatusInternalServerError, map[string]any{"error": "cannot make state"})
		return
	}
	q := url.Values{
		"client_id":    {in.cfg.ClientID},
		"scope":        {strings.Join(BotScopes, ",")},
		"user_scope":   {strings.Join(UserScopes, ",")},
		"redirect_uri": {in.cfg.RedirectURL},
		"state":        {state},
	}
	http.Redirect(w, r, in.cfg.AuthorizeURL+"?"+q.Encode(), http.StatusFound)
}

func (in *Installer) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kit, err := in.verifyState(q.Get("state"))
	if err != nil {
		in.deps.Logger.Warn("slack install callback refused", "err", err)
		installJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state: start the installation again"})
		return
	}
	code := authorizedCode(w, q, "the installation")
	if code == "" {
		return
	}
	ctx := r.Context()
	resp, err := slack.GetOAuthV2ResponseContext(ctx, in.deps.HTTPClient, in.cfg.ClientID, in.cfg.ClientSecret, code,
		in.cfg.RedirectURL, slack.OAuthOptionAPIURL(in.cfg.APIURL))
	if err != nil {
		in.deps.Logger.Warn("slack oauth.v2.access failed", "err", err)
		installJSON(w, http.StatusBadGateway, map[string]any{"error": "Slack refused the code: " + err.Error()})
		return
	}
	if resp.Team.ID == "" || resp.AccessToken == "" || resp.AuthedUser.ID == "" {
		installJSON(w, http.StatusBadGateway, map[string]any{"error": "Slack's answer lacks the team, the bot token or the installing user"})
		return
	}
	inst := Installation{TeamID: resp.Team.ID, TeamName: resp.Team.Name, BotUserID: resp.BotUserID,
		InstallerID: resp.AuthedUser.ID, Kit: kit}
	if err := in.deps.Tokens.SaveBotToken(ctx, inst.TeamID, resp.AccessToken); err != nil {
		in.deps.Logger.Error("slack install: token not stored", "team", inst.TeamID, "err", err)
		installJSON(w, http.StatusInternalServerError, map[string]any{"error": "the bot token could not be stored"})
		return
	}
	// The installer's own token is what lets the adapter delete other members' posts.
	if t := resp.AuthedUser.AccessToken; t != "" {
		if err := in.deps.Tokens.SaveUserToken(ctx, inst.TeamID, t); err != nil {
			in.deps.Logger.Error("slack install: user token not stored", "team", inst.TeamID, "err", err)
			installJSON(w, http.StatusInternalServerError, map[string]any{"error": "the installer's user token could not be stored"})
			return
		}
	}
	communityID, err := in.deps.Directory.CommunityOfTeam(ctx, inst.TeamID)
	created := false
	if errors.Is(err, ErrUnknownWorkspace) {
		communityID, created, err = in.deps.CreateCommunity(ctx, inst)
	}
	if err != nil {
		in.deps.Logger.Error("slack install: community not created", "team", inst.TeamID, "err", err)
		installJSON(w, http.StatusInternalServerError, map[string]any{"error": "the community could not be created"})
		return
	}
	in.deps.Logger.Info("slack app installed", "team", inst.TeamID, "community", communityID, "created", created, "kit", kit)
	if in.deps.Installed != nil {
		in.deps.Installed(inst.TeamID)
	}
	installJSON(w, http.StatusOK, map[string]any{
		"ok": true, "team_id": inst.TeamID, "team_name": inst.TeamName, "community_id": communityID, "created": created,
	})
}

// signState returns an install state carrying the starter kit.
func (in *Installer) signState(kit string) (string, error) {
	state, _, err := in.states().sign(oauthState{Flow: flowInstall, Kit: kit})
	return state, err
}

// verifyState checks an install state and returns its kit.
func (in *Installer) verifyState(state string) (string, error) {
	s, err := in.states().verify(state, flowInstall)
	if err != nil {
		return "", err
	}
	if s.Kit == "" {
		return "", errors.New("state without kit")
	}
	return s.Kit, nil
}

func (in *Installer) states() stateSigner {
	return stateSigner{key: in.cfg.StateKey, ttl: in.cfg.StateTTL, now: in.deps.Now, used: in.deps.Nonces}
}

// The flows a state is signed for: a state made for one is refused by the other.
const (
	flowInstall = "install"
	flowSignIn  = "signin"
)

// oauthState is what the state parameter carries through Slack's authorization page: a
// platform.OAuthState with Slack's two data.
type oauthState struct {
	Flow  string
	Kit   string
	Next  string
	Nonce string
}

// stateSigner signs and checks the state parameter of the OAuth flows with the kit's
// platform.StateSigner (HMAC-SHA256, expiring, single use with a nonce store).
type stateSigner struct {
	key  []byte
	ttl  time.Duration
	now  func() time.Time
	used platform.NonceStore
}

// defaultStateKey derives the state's signing key from the app's client secret.
func defaultStateKey(clientSecret string) []byte {
	return platform.DeriveKey("slack oauth state", clientSecret)
}

func (ss stateSigner) signer() platform.StateSigner {
	return platform.StateSigner{Key: ss.key, TTL: ss.ttl, Now: ss.now, Used: ss.used}
}

// sign gives s a fresh random nonce and an expiry ttl from now, and returns it signed and
// as signed.
func (ss stateSigner) sign(s oauthState) (string, oauthState, error) {
	data := map[string]string{}
	if s.Kit != "" {
		data["kit"] = s.Kit
	}
	if s.Next != "" {
		data["next"] = s.Next
	}
	state, signed, err := ss.signer().Sign(platform.OAuthState{Flow: s.Flow, Data: data})
	if err != nil {
		return "", oauthState{}, err
	}
	s.Nonce = signed.Nonce
	return state, s, nil
}

// verify checks the state's signature, expiry, flow and first use, and returns its payload.
func (ss stateSigner) verify(state, flow string) (oauthState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := ss.signer().Verify(ctx, state, flow)
	if err != nil {
		return oauthState{}, err
	}
	return oauthState{Flow: s.Flow, Kit: s.Data["kit"], Next: s.Data["next"], Nonce: s.Nonce}, nil
}

func installJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
