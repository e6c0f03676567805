package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
)

// InstallPermissions are the bot's permissions the install asks for: what the governed
// actions need (kick members, manage channels, view channels, send messages, manage
// messages, read message history).
const InstallPermissions = 1<<1 | 1<<4 | 1<<10 | 1<<11 | 1<<13 | 1<<16

// InstallScopes and SignInScopes are the OAuth2 scopes of the two flows: the bot and its
// commands (and who installs it, the community's first admin), and who signs in.
var (
	InstallScopes = []string{"bot", "applications.commands", "identify"}
	SignInScopes  = []string{"identify"}
)

const (
	flowInstall = "install"
	flowSignIn  = "signin"
	sessionTTL  = 14 * 24 * time.Hour
)

// signInCookie holds the nonce of a sign-in in progress, so that the callback completes only
// the sign-in this browser started: without it, a callback link made from someone else's
// code would sign the browser in as them (login CSRF).
const signInCookie = "policykit_discord_signin"

// authRoutes is the handler of /auth/discord/: the bot install (/auth/discord/install?kit=
// or ?community=, /auth/discord/callback) and Sign in with Discord (/auth/discord/login?guild=,
// /auth/discord/signin/callback), when DISCORD_CLIENT_SECRET is set. The states are signed
// with a key derived from the client secret and open one callback each.
func (p *Plugged) authRoutes(sec Section, host platform.Host, secrets platform.Secrets) http.Handler {
	if sec.ClientSecret == "" || host.BaseURL == "" {
		return platform.NotConfigured("Discord installation is not configured on this server: set DISCORD_CLIENT_SECRET and POLICYKIT_BASE_URL")
	}
	if secrets == nil {
		host.Log.Warn("DISCORD_TOKEN_KEY is unset: the OAuth2 tokens of installs are not kept")
	}
	var nonces platform.NonceStore = &platform.MemoryNonces{}
	if host.Pool != nil {
		nonces = platform.PostgresNonces{Pool: host.Pool}
	}
	o := &oauth{p: p, sec: sec, host: host, secrets: secrets,
		states: platform.StateSigner{Key: platform.DeriveKey("discord oauth state", sec.ClientSecret), Used: nonces}}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/discord/install", o.install)
	mux.HandleFunc("/auth/discord/callback", o.installed)
	mux.HandleFunc("/auth/discord/login", o.login)
	mux.HandleFunc("/auth/discord/signin/callback", o.signedIn)
	return mux
}

type oauth struct {
	p       *Plugged
	sec     Section
	host    platform.Host
	secrets platform.Secrets
	states  platform.StateSigner
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// authorize redirects to Discord's authorization page. A sign-in's nonce is also set in a
// cookie, which its callback requires.
func (o *oauth) authorize(w http.ResponseWriter, r *http.Request, flow, callback string, scopes []string, data map[string]string, extra url.Values) {
	state, s, err := o.states.Sign(platform.OAuthState{Flow: flow, Data: data})
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]any{"error": "cannot make state"})
		return
	}
	if flow == flowSignIn {
		o.setNonceCookie(w, s.Nonce, int(time.Until(time.Unix(s.Exp, 0))/time.Second)+1)
	}
	q := url.Values{"client_id": {o.sec.ApplicationID}, "response_type": {"code"}, "scope": {strings.Join(scopes, " ")},
		"redirect_uri": {o.host.BaseURL + callback}, "state": {state}}
	for k, v := range extra {
		q[k] = v
	}
	http.Redirect(w, r, o.sec.APIURL+"oauth2/authorize?"+q.Encode(), http.StatusFound)
}

// install starts the bot install: with a starter kit (?kit=, default "testing") the guild
// gets a community of its own; with ?community=<id> it is connected to that existing
// community (one made on the web or for another platform), which needs a signed-in member of
// it who may propose policykitaddintegration (the Integration Admin role).
func (o *oauth) install(w http.ResponseWriter, r *http.Request) {
	if communityID := r.URL.Query().Get("community"); communityID != "" {
		m, code, msg := o.connector(r, communityID)
		if code != 0 {
			answer(w, code, map[string]any{"error": msg})
			return
		}
		o.authorize(w, r, flowInstall, "/auth/discord/callback", InstallScopes,
			map[string]string{"community": communityID, "user": m.UserID, "account": m.account},
			url.Values{"permissions": {strconv.Itoa(InstallPermissions)}})
		return
	}
	kit := r.URL.Query().Get("kit")
	if kit == "" {
		kit = "testing"
	}
	if o.host.CheckKit != nil {
		if err := o.host.CheckKit(kit); err != nil {
			answer(w, http.StatusBadRequest, map[string]any{"error": "unknown starter kit " + strconv.Quote(kit)})
			return
		}
	}
	o.authorize(w, r, flowInstall, "/auth/discord/callback", InstallScopes, map[string]string{"kit": kit},
		url.Values{"permissions": {strconv.Itoa(InstallPermissions)}})
}

// Callers finds who a browser session is: identity's Store, which the App gives as
// Host.Sessions, has it. Without it, no guild can be connected to an existing community.
type Callers interface {
	CallerBySession(ctx context.Context, secret string) (*identity.Caller, error)
}

// connectingMember is the signed-in member who connects a guild to their community.
type connectingMember struct {
	identity.Membership
	account string
}

// connector returns the member of communityID that r's session is, if they may propose
// connecting a platform; otherwise the status and message to answer.
func (o *oauth) connector(r *http.Request, communityID string) (connectingMember, int, string) {
	callers, ok := o.host.Sessions.(Callers)
	if !ok {
		return connectingMember{}, http.StatusServiceUnavailable, "this server cannot connect a guild to an existing community"
	}
	secret := identity.CredentialsOf(r).Session
	if secret == "" {
		return connectingMember{}, http.StatusUnauthorized, "sign in to PolicyKit first: connecting a guild to a community needs a member of it"
	}
	c, err := callers.CallerBySession(r.Context(), secret)
	if err != nil {
		o.host.Log.Error("discord install: session lookup failed", "err", err)
		return connectingMember{}, http.StatusInternalServerError, "cannot tell who you are"
	}
	if c == nil {
		return connectingMember{}, http.StatusUnauthorized, "your session has ended: sign in to PolicyKit again"
	}
	m, ok := c.Members[communityID]
	if !ok {
		return connectingMember{}, http.StatusForbidden, "you are not a member of community " + strconv.Quote(communityID)
	}
	if !m.Can(domain.VerbPropose, domain.ActionAddIntegration, domain.KindConstitution) {
		return connectingMember{}, http.StatusForbidden, "you may not propose connecting a platform to this community (the Integration Admin role may)"
	}
	return connectingMember{Membership: m, account: c.Account.ID}, 0, ""
}

// tokenAnswer is Discord's OAuth2 token response; a bot install's names the guild.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Guild        *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"guild"`
}

// exchange trades the callback's code for tokens and asks who the member is.
func (o *oauth) exchange(ctx context.Context, code, callback string) (tokenAnswer, string, error) {
	var tok tokenAnswer
	form := url.Values{"client_id": {o.sec.ApplicationID}, "client_secret": {o.sec.ClientSecret}, "grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {o.host.BaseURL + callback}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.sec.APIURL+"api/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := doJSON(req, &tok); err != nil || tok.AccessToken == "" {
		return tok, "", fmt.Errorf("token exchange: %w", errors.Join(err, errors.New("no access token")))
	}
	var me struct {
		ID string `json:"id"`
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, o.sec.APIURL+"api/v"+apiVersion+"/users/@me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if err := doJSON(req, &me); err != nil || me.ID == "" {
		return tok, "", fmt.Errorf("users/@me: %w", errors.Join(err, errors.New("no user id")))
	}
	return tok, me.ID, nil
}

// setNonceCookie sets (maxAge > 0) or clears (maxAge < 0) the sign-in's nonce cookie.
func (o *oauth) setNonceCookie(w http.ResponseWriter, nonce string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: signInCookie, Value: nonce, Path: "/auth/discord/", MaxAge: maxAge,
		HttpOnly: true, Secure: o.secure(), SameSite: http.SameSiteLaxMode,
	})
}

// secure reports whether the site is served over TLS: its cookies are then sent over TLS only.
func (o *oauth) secure() bool { return strings.HasPrefix(o.host.BaseURL, "https://") }

func doJSON(req *http.Request, out any) error {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discord answered %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// installed is the install's callback: the guild gets its community (created with the
// chosen kit and the installer its admin, or the one it has; or, for an install into an
// existing community, a proposal to connect it: see connect), its /policykit command, and
// the install's tokens are kept encrypted.
func (o *oauth) installed(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	s, err := o.states.Verify(ctx, q.Get("state"), flowInstall)
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state: install again"})
		return
	}
	if q.Get("code") == "" {
		answer(w, http.StatusBadRequest, map[string]any{"error": "the install was not authorized: " + q.Get("error")})
		return
	}
	tok, installer, err := o.exchange(ctx, q.Get("code"), "/auth/discord/callback")
	if err != nil || tok.Guild == nil || tok.Guild.ID == "" {
		o.host.Log.Warn("discord install: the code was refused", "err", err)
		answer(w, http.StatusBadGateway, map[string]any{"error": "Discord refused the install"})
		return
	}
	guild := tok.Guild.ID
	if s.Data["community"] != "" {
		o.connect(w, r, s, tok)
		return
	}
	if o.host.CreateCommunity == nil {
		answer(w, http.StatusServiceUnavailable, map[string]any{"error": "this server cannot create communities"})
		return
	}
	communityID, created, err := o.host.CreateCommunity(ctx, platform.Installation{Platform: domain.PlatformDiscord, ExternalID: guild,
		Name: tok.Guild.Name, InstallerID: installer, Kit: s.Data["kit"]})
	if err != nil {
		o.host.Log.Error("discord install: no community", "guild", guild, "err", err)
		answer(w, http.StatusInternalServerError, map[string]any{"error": "the community was not created"})
		return
	}
	o.keepTokens(ctx, guild, tok)
	if err := o.p.RegisterCommand(ctx, guild); err != nil {
		o.host.Log.Error("discord install: /policykit not registered", "guild", guild, "err", err)
	}
	answer(w, http.StatusOK, map[string]any{"community_id": communityID, "created": created, "guild": guild})
}

// connect is the callback of an install into an existing community: the member who started
// it (still signed in, in this browser) proposes policykitaddintegration for the guild on
// their community, and the community's constitution policies decide. Once it passes, the
// directory learns the guild's community from PlatformConnected.
func (o *oauth) connect(w http.ResponseWriter, r *http.Request, s platform.OAuthState, tok tokenAnswer) {
	ctx, guild, communityID := r.Context(), tok.Guild.ID, s.Data["community"]
	m, code, msg := o.connector(r, communityID)
	if code == 0 && (m.UserID != s.Data["user"] || m.account != s.Data["account"]) {
		code, msg = http.StatusForbidden, "this install was started by someone else: start it again"
	}
	if code != 0 {
		answer(w, code, map[string]any{"error": msg})
		return
	}
	if other, err := o.host.Directory.Community(ctx, domain.PlatformDiscord, guild); err == nil {
		answer(w, http.StatusConflict, map[string]any{"error": "this guild is connected to a community already", "community_id": other})
		return
	} else if !errors.Is(err, platform.ErrUnknown) {
		o.host.Log.Error("discord install: directory lookup failed", "guild", guild, "err", err)
		answer(w, http.StatusInternalServerError, map[string]any{"error": "cannot tell whether the guild is connected"})
		return
	}
	// One proposal per install flow (its state's nonce): a repeated callback is one action.
	id := platform.EventID(domain.PlatformDiscord, "connect", guild, s.Nonce)
	a, err := domain.NewConstitutionAction(id, communityID, m.UserID,
		domain.AddIntegration{Platform: domain.PlatformDiscord, ExternalID: guild, Name: tok.Guild.Name}, o.now())
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	if err := o.p.publish.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, bus.ProposeAction{Action: a}); err != nil {
		o.host.Log.Error("discord install: the connection was not proposed", "guild", guild, "community", communityID, "err", err)
		answer(w, http.StatusInternalServerError, map[string]any{"error": "the connection was not proposed"})
		return
	}
	o.keepTokens(ctx, guild, tok)
	if err := o.p.RegisterCommand(ctx, guild); err != nil {
		o.host.Log.Error("discord install: /policykit not registered", "guild", guild, "err", err)
	}
	answer(w, http.StatusAccepted, map[string]any{"community_id": communityID, "guild": guild, "action_id": id,
		"status": "proposed: the community's constitution policies decide whether the guild is connected"})
}

// keepTokens keeps the install's tokens, encrypted, when the server can.
func (o *oauth) keepTokens(ctx context.Context, guild string, tok tokenAnswer) {
	if o.secrets == nil {
		return
	}
	raw, _ := json.Marshal(map[string]string{"access_token": tok.AccessToken, "refresh_token": tok.RefreshToken, "scope": tok.Scope})
	if err := o.secrets.Put(ctx, "install:"+guild, string(raw)); err != nil {
		o.host.Log.Error("discord install: tokens not kept", "guild", guild, "err", err)
	}
}

func (o *oauth) now() time.Time {
	if o.host.Now != nil {
		return o.host.Now()
	}
	return time.Now()
}

// login starts Sign in with Discord for a member of a guild (?guild=).
func (o *oauth) login(w http.ResponseWriter, r *http.Request) {
	guild := r.URL.Query().Get("guild")
	if guild == "" {
		answer(w, http.StatusBadRequest, map[string]any{"error": "say which guild: ?guild=<id>"})
		return
	}
	o.authorize(w, r, flowSignIn, "/auth/discord/signin/callback", SignInScopes, map[string]string{"guild": guild}, nil)
}

// signedIn is Sign in with Discord's callback: a member of the guild's community gets a
// dashboard session in the account linked to them.
func (o *oauth) signedIn(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	s, err := o.states.Verify(ctx, q.Get("state"), flowSignIn)
	if err == nil {
		if ck, cerr := r.Cookie(signInCookie); cerr != nil || ck.Value != s.Nonce {
			err = errors.New("the state is not this browser's sign-in")
		}
	}
	if err != nil || q.Get("code") == "" {
		o.host.Log.Warn("discord sign-in callback refused", "err", err)
		answer(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state: sign in again"})
		return
	}
	o.setNonceCookie(w, "", -1)
	_, member, err := o.exchange(ctx, q.Get("code"), "/auth/discord/signin/callback")
	if err != nil {
		o.host.Log.Warn("discord sign-in: the code was refused", "err", err)
		answer(w, http.StatusBadGateway, map[string]any{"error": "Discord did not say who signed in"})
		return
	}
	communityID, err := o.p.community(ctx, s.Data["guild"])
	if err != nil {
		answer(w, http.StatusForbidden, map[string]any{"error": "this guild has not installed PolicyKit"})
		return
	}
	userID, err := o.host.Directory.UserID(ctx, communityID, domain.PlatformDiscord, member)
	if err != nil || userID == "" || o.host.Sessions == nil {
		answer(w, http.StatusForbidden, map[string]any{"error": "you are not a member of this guild's community"})
		return
	}
	_, secret, err := o.host.Sessions.SignInWithPlatform(ctx, identity.PlatformMember{Platform: domain.PlatformDiscord, ExternalID: member,
		CommunityID: communityID, UserID: userID}, sessionTTL)
	if err != nil {
		o.host.Log.Error("discord sign-in: no session", "member", member, "err", err)
		answer(w, http.StatusInternalServerError, map[string]any{"error": "no session"})
		return
	}
	identity.SetSessionCookie(w, secret, sessionTTL, o.secure())
	http.Redirect(w, r, "/", http.StatusFound)
}
