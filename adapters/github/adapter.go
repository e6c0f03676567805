// Package github is the GitHub platform adapter, a GitHub App. Its webhook endpoint (POST
// /api/hooks/github) checks X-Hub-Signature-256, skips deliveries already handled (by
// X-GitHub-Delivery), and turns issues, pull requests, comments and pushes to protected
// branches into PolicyKit actions; its Performer carries out the engine's effect requests for
// platform "github" with the installation's token (go-github, ghinstallation), each once by
// idempotency key; a poller reads the 👍/👎 reactions of the vote issues it opened, since
// GitHub sends no event for a reaction. It meets the engine only on the bus.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v66/github"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ErrNotConnected is returned (wrapped) for an account or community with no GitHub
// connection.
var ErrNotConnected = errors.New("github: not connected")

// Deps are the adapter's collaborators.
type Deps struct {
	// Publisher receives the commands (bus.Bus.Publisher()). Required.
	Publisher message.Publisher
	// Directory maps accounts to communities and tells decided proposals. Required.
	Directory platform.Directory
	// DirectoryWait is how long a lookup waits for the directory to learn a community.
	DirectoryWait time.Duration
	// State is the adapter's memory of vote issues and installations (default in memory).
	State State
	// Ledger records the effects performed, each once (default in memory).
	Ledger platform.Ledger
	// Seen records the deliveries handled (default in memory).
	Seen   platform.Seen
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Transport carries the calls to GitHub (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Adapter is the GitHub adapter: ServeHTTP is the webhook endpoint, Perform the effects,
// PollVotes the reading of votes. Safe for concurrent use.
type Adapter struct {
	sec   Section
	deps  Deps
	log   *slog.Logger
	state State
	appID int64
	key   []byte
	api   *url.URL

	workers *platform.Workers
	publish platform.Publisher

	mu      sync.Mutex
	clients map[int64]*gh.Client // by installation
}

var _ effects.Performer = (*Adapter)(nil)

// New returns an adapter for sec (with its defaults).
func New(sec Section, deps Deps) (*Adapter, error) {
	sec = sec.WithDefaults()
	errs := []error{sec.Validate()}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("github: Deps.Publisher is nil"))
	}
	if deps.Directory == nil {
		errs = append(errs, errors.New("github: Deps.Directory is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	appID, _ := sec.appID()
	key, _ := sec.privateKey()
	api, _ := url.Parse(sec.APIURL)
	if deps.State == nil {
		deps.State = &MemoryState{}
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.Seen == nil {
		deps.Seen = &platform.MemorySeen{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Transport == nil {
		deps.Transport = http.DefaultTransport
	}
	return &Adapter{
		sec: sec, deps: deps, log: deps.Logger, state: deps.State, appID: appID, key: key, api: api,
		workers: platform.NewWorkers(sec.Workers, sec.WorkTimeout),
		publish: platform.Publisher{Publisher: deps.Publisher, Attempts: 3, Backoff: 100 * time.Millisecond},
		clients: map[int64]*gh.Client{},
	}, nil
}

// Run performs the engine's effect requests for platform "github" from b (consumer group
// "adapter-github") and polls the open vote issues every PollInterval, until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.pollLoop(ctx)
	err := effects.Run(ctx, b, domain.PlatformGithub, []string{domain.PlatformGithub}, a, a.log, ready)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close stops accepting deliveries and waits for those under way.
func (a *Adapter) Close() error {
	a.workers.Close()
	return nil
}

// pollLoop polls the vote issues until ctx ends; a failed round is logged and the next one
// tries again.
func (a *Adapter) pollLoop(ctx context.Context) {
	t := time.NewTicker(a.sec.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.PollVotes(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("github: polling vote issues", "err", err)
			}
		}
	}
}

// apiBase is the API URL without its trailing "/", as ghinstallation wants it.
func (a *Adapter) apiBase() string { return strings.TrimSuffix(a.sec.APIURL, "/") }

// client returns the API client acting as installation id (its tokens fetched and renewed
// by ghinstallation).
func (a *Adapter) client(id int64) (*gh.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[id]; ok {
		return c, nil
	}
	tr, err := ghinstallation.New(a.deps.Transport, a.appID, id, a.key)
	if err != nil {
		return nil, fmt.Errorf("github: installation %d: %w", id, err)
	}
	tr.BaseURL = a.apiBase()
	c := a.newClient(&http.Client{Transport: tr, Timeout: a.sec.EffectTimeout})
	a.clients[id] = c
	return c, nil
}

// appClient returns the API client acting as the App itself (a JWT): installations.
func (a *Adapter) appClient() (*gh.Client, error) {
	tr, err := ghinstallation.NewAppsTransport(a.deps.Transport, a.appID, a.key)
	if err != nil {
		return nil, fmt.Errorf("github: app: %w", err)
	}
	tr.BaseURL = a.apiBase()
	return a.newClient(&http.Client{Transport: tr, Timeout: a.sec.EffectTimeout}), nil
}

func (a *Adapter) newClient(hc *http.Client) *gh.Client {
	c := gh.NewClient(hc)
	u := *a.api
	c.BaseURL, c.UploadURL = &u, &u
	return c
}

// community returns the community connected to an account, waiting a moment for the
// directory to learn one connected just now.
func (a *Adapter) community(ctx context.Context, owner string) (string, error) {
	id, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (string, error) {
		return a.deps.Directory.Community(ctx, domain.PlatformGithub, owner)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return "", fmt.Errorf("%w: account %s: %w", ErrNotConnected, owner, err)
	}
	return id, err
}

// connection returns the account a community is connected to and the installation that
// acts for it: the connection's installation_id setting, else the installation the adapter
// learned of the account (its install flow, its webhooks); an installation deleted on
// GitHub is ErrNotConnected.
func (a *Adapter) connection(ctx context.Context, communityID string) (owner string, installation int64, err error) {
	conn, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return a.deps.Directory.Connection(ctx, communityID, domain.PlatformGithub)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return "", 0, fmt.Errorf("%w: community %s: %w", ErrNotConnected, communityID, err)
	}
	if err != nil {
		return "", 0, err
	}
	owner = conn.ExternalID
	var id int64
	if s := conn.Settings["installation_id"]; s != "" {
		id, err = strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return "", 0, fmt.Errorf("github: community %s: installation_id %q is not a number", communityID, s)
		}
	} else {
		in, ok, err := a.state.Installation(ctx, owner)
		if err != nil {
			return "", 0, err
		}
		if !ok {
			return "", 0, fmt.Errorf("%w: no installation of the App on %s is known (set installation_id)", ErrNotConnected, owner)
		}
		id = in.InstallationID
	}
	deleted, err := a.state.InstallationDeleted(ctx, id)
	if err != nil {
		return "", 0, err
	}
	if deleted {
		return "", 0, fmt.Errorf("%w: the App's installation %d on %s was deleted (install the App again)", ErrNotConnected, id, owner)
	}
	return owner, id, nil
}

// retry runs call, waiting out GitHub's rate limits: the primary limit (403 or 429 with
// X-RateLimit-Remaining 0, until X-RateLimit-Reset), the secondary (Retry-After), and a
// 429 with Retry-After, at most RateLimitMaxWait in all and never past ctx's deadline. A
// call GitHub refused for its rate did nothing, so calling it again repeats no effect.
func (a *Adapter) retry(ctx context.Context, call func() (*gh.Response, error)) error {
	var waited time.Duration
	for {
		resp, err := call()
		if err == nil {
			return nil
		}
		wait, limited := rateLimitWait(resp, err, a.deps.Now())
		if !limited {
			return err
		}
		if wait <= 0 {
			wait = time.Second
		}
		if waited+wait > a.sec.RateLimitMaxWait {
			return fmt.Errorf("rate limited: waited %s of at most %s, asked to wait %s more: %w", waited, a.sec.RateLimitMaxWait, wait, err)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return fmt.Errorf("rate limited: asked to wait %s, past the deadline: %w", wait, err)
		}
		waited += wait
		a.log.Info("github rate limited; waiting", "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// rateLimitWait says whether err is GitHub's refusal for rate, and how long to wait.
func rateLimitWait(resp *gh.Response, err error, now time.Time) (time.Duration, bool) {
	var primary *gh.RateLimitError
	var secondary *gh.AbuseRateLimitError
	switch {
	case errors.As(err, &secondary):
		if secondary.RetryAfter != nil {
			return *secondary.RetryAfter, true
		}
		return time.Minute, true
	case errors.As(err, &primary):
		return primary.Rate.Reset.Sub(now) + time.Second, true
	}
	if resp == nil || resp.Response == nil || resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		return time.Unix(s, 0).Sub(now) + time.Second, true
	}
	return time.Minute, true
}
