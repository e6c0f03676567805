package reddit

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

	"golang.org/x/oauth2"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the Reddit adapter as the App registers it.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformReddit,
		Short: "the Reddit adapter: its install flow, the polling of subreddits and vote replies, and its effects",
		Config: func(getenv func(string) string) platform.Section {
			return SectionFromEnv(getenv)
		},
		New:            newPlugged,
		Migrate:        Migrate,
		NeedsDirectory: true,
		Standalone:     true,
		Unconfigured: map[string]string{
			"/auth/reddit/": "Reddit is not configured on this server: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
		},
	}
}

// Plugged is the Reddit adapter as a platform.Adapter.
type Plugged struct {
	*Adapter
	routes map[string]http.Handler
}

var _ platform.Adapter = (*Plugged)(nil)

// NewPlugged builds the Reddit adapter: its state, ledger, handled posts and (with
// REDDIT_TOKEN_KEY) encrypted install tokens in host.Pool, in memory without one.
func NewPlugged(ctx context.Context, sec Section, host platform.Host) (*Plugged, error) {
	if err := sec.Validate(); err != nil {
		return nil, err
	}
	if host.Directory == nil {
		return nil, errors.New("reddit: the host keeps no directory")
	}
	deps := Deps{Publisher: host.Bus.Publisher(), Directory: host.Directory, DirectoryWait: 5 * time.Second, Logger: host.Log, Now: host.Now}
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("migrate reddit adapter: %w", err)
		}
		deps.State = PostgresState{Pool: host.Pool}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformReddit}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformReddit}
		if sec.TokenKey != "" {
			key, err := platform.DecodeKey(sec.TokenKey)
			if err != nil {
				return nil, fmt.Errorf("reddit: REDDIT_TOKEN_KEY: %w", err)
			}
			if deps.Secrets, err = platform.NewPostgresSecrets(host.Pool, domain.PlatformReddit, key); err != nil {
				return nil, err
			}
		}
	}
	if deps.Secrets == nil && host.Log != nil {
		host.Log.Warn("REDDIT_TOKEN_KEY is unset: the install tokens are kept in memory only")
	}
	a, err := New(sec, deps)
	if err != nil {
		return nil, err
	}
	p := &Plugged{Adapter: a, routes: map[string]http.Handler{}}
	p.routes["/auth/reddit/"] = p.installRoutes(host)
	return p, nil
}

func newPlugged(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	s, ok := sec.(Section)
	if !ok {
		return nil, fmt.Errorf("reddit: a %T is not its settings", sec)
	}
	return NewPlugged(ctx, s, host)
}

// Name is "reddit".
func (p *Plugged) Name() string { return domain.PlatformReddit }

// Routes: /auth/reddit/ (the install).
func (p *Plugged) Routes() map[string]http.Handler { return p.routes }

const flowInstall = "install"

// installRoutes is /auth/reddit/: /auth/reddit/install?subreddit=&kit= sends a moderator to
// Reddit's authorization (duration permanent: a refresh token); /auth/reddit/callback
// exchanges the code, checks that the account moderates the subreddit (GET
// /r/{sub}/about: user_is_moderator), keeps the token encrypted, and creates the
// subreddit's community (external id: the subreddit) with the account its first admin.
func (p *Plugged) installRoutes(host platform.Host) http.Handler {
	if host.BaseURL == "" {
		return platform.NotConfigured("Reddit installation needs POLICYKIT_BASE_URL")
	}
	var nonces platform.NonceStore = &platform.MemoryNonces{}
	if host.Pool != nil {
		nonces = platform.PostgresNonces{Pool: host.Pool}
	}
	states := platform.StateSigner{Key: platform.DeriveKey("reddit oauth state", p.sec.ClientSecret), Used: nonces}
	conf := oauthConfig(p.sec, host.BaseURL+"/auth/reddit/callback")
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/reddit/install", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sub, kit := strings.TrimPrefix(q.Get("subreddit"), "r/"), q.Get("kit")
		if kit == "" {
			kit = "testing"
		}
		if sub == "" || strings.ContainsAny(sub, "/?#") {
			answer(w, http.StatusBadRequest, map[string]any{"error": "say which subreddit: ?subreddit=<name>"})
			return
		}
		if host.CheckKit != nil && host.CheckKit(kit) != nil {
			answer(w, http.StatusBadRequest, map[string]any{"error": "unknown starter kit " + strconv.Quote(kit)})
			return
		}
		state, _, err := states.Sign(platform.OAuthState{Flow: flowInstall, Data: map[string]string{"kit": kit, "subreddit": sub}})
		if err != nil {
			answer(w, http.StatusInternalServerError, map[string]any{"error": "cannot make state"})
			return
		}
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.SetAuthURLParam("duration", "permanent")), http.StatusFound)
	})
	mux.HandleFunc("/auth/reddit/callback", func(w http.ResponseWriter, r *http.Request) {
		ctx, q := r.Context(), r.URL.Query()
		s, err := states.Verify(ctx, q.Get("state"), flowInstall)
		if err != nil || q.Get("code") == "" {
			answer(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state, or not authorized: install again"})
			return
		}
		communityID, created, err := p.install(ctx, host, conf, q.Get("code"), s.Data["subreddit"], s.Data["kit"])
		if err != nil {
			host.Log.Warn("reddit install refused", "subreddit", s.Data["subreddit"], "err", err)
			answer(w, http.StatusForbidden, map[string]any{"error": err.Error()})
			return
		}
		answer(w, http.StatusOK, map[string]any{"community_id": communityID, "created": created, "subreddit": s.Data["subreddit"]})
	})
	return mux
}

func (p *Plugged) install(ctx context.Context, host platform.Host, conf *oauth2.Config, code, sub, kit string) (string, bool, error) {
	if host.CreateCommunity == nil {
		return "", false, errors.New("this server cannot create communities")
	}
	hc := &http.Client{Transport: p.deps.Transport, Timeout: p.sec.EffectTimeout}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), code)
	if err != nil {
		return "", false, fmt.Errorf("the code was refused: %w", err)
	}
	if tok.RefreshToken == "" {
		return "", false, errors.New("reddit gave no refresh token")
	}
	raw, _ := json.Marshal(tok)
	if err := p.deps.Secrets.Put(ctx, tokenName(sub), string(raw)); err != nil {
		return "", false, err
	}
	p.mu.Lock()
	delete(p.clients, strings.ToLower(sub))
	p.mu.Unlock()
	var me struct {
		Name string `json:"name"`
	}
	if err := p.call(ctx, sub, http.MethodGet, "api/v1/me", nil, &me); err != nil || me.Name == "" {
		return "", false, fmt.Errorf("who installed: %w", errors.Join(err, errors.New("no account name")))
	}
	var about struct {
		Data struct {
			DisplayName     string `json:"display_name"`
			UserIsModerator bool   `json:"user_is_moderator"`
		} `json:"data"`
	}
	if err := p.call(ctx, sub, http.MethodGet, "r/"+url.PathEscape(sub)+"/about", nil, &about); err != nil {
		return "", false, err
	}
	if !about.Data.UserIsModerator {
		// The token is blanked and the client made with it forgotten, so that neither the
		// polling nor an effect acts with it.
		_ = p.deps.Secrets.Put(ctx, tokenName(sub), "")
		p.mu.Lock()
		delete(p.clients, strings.ToLower(sub))
		p.mu.Unlock()
		return "", false, fmt.Errorf("u/%s does not moderate r/%s", me.Name, sub)
	}
	if err := p.deps.Secrets.Put(ctx, "user:"+strings.ToLower(sub), me.Name); err != nil {
		return "", false, err
	}
	return host.CreateCommunity(ctx, platform.Installation{Platform: domain.PlatformReddit, ExternalID: sub, Name: "r/" + sub,
		InstallerID: me.Name, Kit: kit})
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
