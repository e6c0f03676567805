package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// Registration is the GitHub adapter as the App registers it.
func Registration() platform.Registration {
	return platform.Registration{
		Name:  domain.PlatformGithub,
		Short: "the GitHub App adapter: its webhook endpoint, install flow, vote polling and effects",
		Config: func(getenv func(string) string) platform.Section {
			return SectionFromEnv(getenv)
		},
		New:            newPlugged,
		Migrate:        Migrate,
		NeedsDirectory: true,
		Standalone:     true,
		Unconfigured: map[string]string{
			"/api/hooks/github": "GitHub is not configured on this server: set GITHUB_WEBHOOK_SECRET, GITHUB_APP_ID and GITHUB_PRIVATE_KEY",
			"/auth/github/":     "GitHub installation is not configured on this server: set GITHUB_WEBHOOK_SECRET, GITHUB_APP_ID, GITHUB_PRIVATE_KEY and GITHUB_APP_SLUG",
		},
	}
}

// directoryWait is how long a lookup of an account waits for the directory to learn it.
const directoryWait = 5 * time.Second

// Plugged is the GitHub adapter as a platform.Adapter.
type Plugged struct {
	*Adapter
	routes map[string]http.Handler
}

var _ platform.Adapter = (*Plugged)(nil)

// NewPlugged builds the GitHub adapter from its settings and the App's host: its state,
// ledger and handled deliveries in host.Pool (in memory without one).
func NewPlugged(ctx context.Context, sec Section, host platform.Host) (*Plugged, error) {
	if err := sec.Validate(); err != nil {
		return nil, err
	}
	if host.Directory == nil {
		return nil, errors.New("github: the host keeps no directory")
	}
	deps := Deps{Publisher: host.Bus.Publisher(), Directory: host.Directory, DirectoryWait: directoryWait, Logger: host.Log, Now: host.Now}
	if host.Pool != nil {
		if err := Migrate(ctx, host.Pool); err != nil {
			return nil, fmt.Errorf("migrate github adapter: %w", err)
		}
		deps.State = PostgresState{Pool: host.Pool}
		deps.Ledger = platform.PostgresLedger{Pool: host.Pool, Platform: domain.PlatformGithub}
		deps.Seen = platform.PostgresSeen{Pool: host.Pool, Platform: domain.PlatformGithub}
	}
	a, err := New(sec, deps)
	if err != nil {
		return nil, err
	}
	p := &Plugged{Adapter: a, routes: map[string]http.Handler{"POST /api/hooks/github": a}}
	p.routes["/auth/github/"] = p.installRoutes(sec.WithDefaults(), host)
	return p, nil
}

func newPlugged(ctx context.Context, sec platform.Section, host platform.Host) (platform.Adapter, error) {
	s, ok := sec.(Section)
	if !ok {
		return nil, fmt.Errorf("github: a %T is not its settings", sec)
	}
	return NewPlugged(ctx, s, host)
}

// Name is "github".
func (p *Plugged) Name() string { return domain.PlatformGithub }

// Routes: POST /api/hooks/github (the App's webhook) and /auth/github/ (the install).
func (p *Plugged) Routes() map[string]http.Handler { return p.routes }

const flowInstall = "install"

// installRoutes is /auth/github/: /auth/github/install?kit= sends the installer to the
// App's installation page with a signed state; GitHub comes back to the App's Setup URL,
// /auth/github/setup?installation_id=&setup_action=install&state=, where the installation's
// account (read as the App: GET /app/installations/{id}) gets its community, created with
// the chosen kit, or the one it has. Installation tokens are made from the App's key when
// needed and never kept.
func (p *Plugged) installRoutes(sec Section, host platform.Host) http.Handler {
	if sec.AppSlug == "" || host.BaseURL == "" {
		return platform.NotConfigured("GitHub installation is not configured on this server: set GITHUB_APP_SLUG and POLICYKIT_BASE_URL")
	}
	var nonces platform.NonceStore = &platform.MemoryNonces{}
	if host.Pool != nil {
		nonces = platform.PostgresNonces{Pool: host.Pool}
	}
	states := platform.StateSigner{Key: platform.DeriveKey("github install state", sec.WebhookSecret), Used: nonces}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/github/install", func(w http.ResponseWriter, r *http.Request) {
		kit := r.URL.Query().Get("kit")
		if kit == "" {
			kit = "testing"
		}
		if host.CheckKit != nil {
			if err := host.CheckKit(kit); err != nil {
				answer(w, http.StatusBadRequest, map[string]any{"error": "unknown starter kit " + strconv.Quote(kit)})
				return
			}
		}
		state, _, err := states.Sign(platform.OAuthState{Flow: flowInstall, Data: map[string]string{"kit": kit}})
		if err != nil {
			answer(w, http.StatusInternalServerError, map[string]any{"error": "cannot make state"})
			return
		}
		http.Redirect(w, r, sec.WebURL+"apps/"+url.PathEscape(sec.AppSlug)+"/installations/new?"+url.Values{"state": {state}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("/auth/github/setup", func(w http.ResponseWriter, r *http.Request) {
		ctx, q := r.Context(), r.URL.Query()
		s, err := states.Verify(ctx, q.Get("state"), flowInstall)
		if err != nil {
			answer(w, http.StatusBadRequest, map[string]any{"error": "invalid or expired state: install again"})
			return
		}
		id, err := strconv.ParseInt(q.Get("installation_id"), 10, 64)
		if err != nil || id <= 0 {
			answer(w, http.StatusBadRequest, map[string]any{"error": "no installation_id"})
			return
		}
		communityID, created, owner, err := p.install(ctx, host, id, s.Data["kit"])
		if err != nil {
			host.Log.Error("github install: no community", "installation", id, "err", err)
			answer(w, http.StatusBadGateway, map[string]any{"error": "the installation could not be connected"})
			return
		}
		answer(w, http.StatusOK, map[string]any{"community_id": communityID, "created": created, "account": owner})
	})
	return mux
}

// install connects installation id's account to a community: it reads the installation as
// the App, remembers it, and creates the account's community. Its first admin is who
// installed the App when its installation event came first, else the account itself.
func (p *Plugged) install(ctx context.Context, host platform.Host, id int64, kit string) (communityID string, created bool, owner string, err error) {
	if host.CreateCommunity == nil {
		return "", false, "", errors.New("this server cannot create communities")
	}
	app, err := p.appClient()
	if err != nil {
		return "", false, "", err
	}
	inst, _, err := app.Apps.GetInstallation(ctx, id)
	if err != nil {
		return "", false, "", fmt.Errorf("read installation %d: %w", id, err)
	}
	owner = inst.GetAccount().GetLogin()
	if owner == "" {
		return "", false, "", fmt.Errorf("installation %d names no account", id)
	}
	if err := p.state.SaveInstallation(ctx, InstallationRecord{Owner: owner, InstallationID: id}); err != nil {
		return "", false, "", err
	}
	installer := owner
	if rec, ok, err := p.state.Installation(ctx, owner); err == nil && ok && rec.Installer != "" {
		installer = rec.Installer
	}
	communityID, created, err = host.CreateCommunity(ctx, platform.Installation{Platform: domain.PlatformGithub, ExternalID: owner,
		Name: owner, InstallerID: installer, Kit: kit})
	return communityID, created, owner, err
}

func answer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
