package reddit

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Reddit's OAuth API and its site (authorization and tokens).
const (
	DefaultAPIURL  = "https://oauth.reddit.com/"
	DefaultAuthURL = "https://www.reddit.com/"
)

// Section is the Reddit adapter's part of the App's configuration, from REDDIT_* settings:
// one Reddit "web app" serves every subreddit that installs it.
type Section struct {
	// ClientID and ClientSecret are the app's (REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET).
	ClientID, ClientSecret string
	// TokenKey is the base64 of the 32-byte key that encrypts the refresh tokens kept of
	// installs (REDDIT_TOKEN_KEY); without it they are kept in memory only.
	TokenKey string
	// APIURL and AuthURL end in "/" (REDDIT_API_URL, REDDIT_AUTH_URL; tests point them at
	// a fake).
	APIURL, AuthURL string
	// UserAgent is sent with every call, as Reddit's API rules ask (REDDIT_USER_AGENT).
	UserAgent string
	// PollInterval is how often the subreddits' new posts and the vote comments' replies
	// are read (REDDIT_POLL_INTERVAL, default 30s).
	PollInterval time.Duration
	// RateLimitMaxWait is the time one call may spend waiting out Reddit's rate limit
	// (default 5s); EffectTimeout bounds one attempt at an effect (default 15s).
	RateLimitMaxWait time.Duration
	EffectTimeout    time.Duration
}

// SectionFromEnv reads the REDDIT_* settings.
func SectionFromEnv(getenv func(string) string) Section {
	s := Section{ClientID: getenv("REDDIT_CLIENT_ID"), ClientSecret: getenv("REDDIT_CLIENT_SECRET"), TokenKey: getenv("REDDIT_TOKEN_KEY"),
		APIURL: getenv("REDDIT_API_URL"), AuthURL: getenv("REDDIT_AUTH_URL"), UserAgent: getenv("REDDIT_USER_AGENT")}
	if d, err := time.ParseDuration(getenv("REDDIT_POLL_INTERVAL")); err == nil {
		s.PollInterval = d
	}
	return s
}

// Enabled: Reddit runs when the app's client secret is set.
func (s Section) Enabled() bool { return s.ClientSecret != "" }

// WithDefaults returns s with its zero fields set to the defaults.
func (s Section) WithDefaults() Section {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if s.AuthURL == "" {
		s.AuthURL = DefaultAuthURL
	}
	if s.UserAgent == "" {
		s.UserAgent = "server:policykit-go:v1 (PolicyKit governance)"
	}
	if s.PollInterval == 0 {
		s.PollInterval = 30 * time.Second
	}
	if s.RateLimitMaxWait == 0 {
		s.RateLimitMaxWait = 5 * time.Second
	}
	if s.EffectTimeout == 0 {
		s.EffectTimeout = 15 * time.Second
	}
	return s
}

// Validate reports every problem of the settings (with their defaults) at once.
func (s Section) Validate() error {
	s = s.WithDefaults()
	var errs []error
	if strings.TrimSpace(s.ClientID) == "" {
		errs = append(errs, errors.New("reddit: REDDIT_CLIENT_ID is empty"))
	}
	if strings.TrimSpace(s.ClientSecret) == "" {
		errs = append(errs, errors.New("reddit: REDDIT_CLIENT_SECRET is empty"))
	}
	for name, v := range map[string]string{"REDDIT_API_URL": s.APIURL, "REDDIT_AUTH_URL": s.AuthURL} {
		if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(v, "/") {
			errs = append(errs, fmt.Errorf("reddit: %s %q is not an absolute URL ending in /", name, v))
		}
	}
	if s.TokenKey != "" {
		if _, err := platform.DecodeKey(s.TokenKey); err != nil {
			errs = append(errs, fmt.Errorf("reddit: REDDIT_TOKEN_KEY: %w", err))
		}
	}
	if s.PollInterval <= 0 || s.RateLimitMaxWait <= 0 || s.EffectTimeout <= s.RateLimitMaxWait {
		errs = append(errs, errors.New("reddit: PollInterval and RateLimitMaxWait must be positive, EffectTimeout above RateLimitMaxWait"))
	}
	return errors.Join(errs...)
}
