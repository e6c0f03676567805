package opencollective

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

// DefaultAPIURL is Open Collective's GraphQL API v2.
const DefaultAPIURL = "https://api.opencollective.com/graphql/v2"

// DefaultSiteURL is where an expense is shown: {site}/{collective}/expenses/{id}.
const DefaultSiteURL = "https://opencollective.com"

// minKeyLen is the shortest OPENCOLLECTIVE_WEBHOOK_KEY accepted: the key makes each
// connection's webhook URL unguessable.
const minKeyLen = 32

// Config is the Open Collective adapter's part of the App's configuration (its
// platform.Section). WebhookKey enables it; the rest has defaults.
type Config struct {
	// WebhookKey (OPENCOLLECTIVE_WEBHOOK_KEY) is the server's key from which each
	// connection's webhook URL secret is derived (HMAC-SHA256), so that the secret needs no
	// storage and changes with every new connection. At least 32 characters.
	WebhookKey string
	// APIURL is the GraphQL endpoint (OPENCOLLECTIVE_API_URL, default DefaultAPIURL).
	APIURL string
	// SiteURL is the site an expense's url points to (OPENCOLLECTIVE_SITE_URL, default
	// DefaultSiteURL).
	SiteURL string
	// HTTPTimeout bounds one request to the API (default 10s).
	HTTPTimeout time.Duration
	// EffectTimeout bounds one attempt at an effect, its retries included (default 30s).
	EffectTimeout time.Duration
	// Retries is how often a request the API refused for now is tried again (default 4).
	Retries int
	// RetryWait is the first wait without Retry-After; it doubles (default 500ms).
	RetryWait time.Duration
	// RetryMaxWait bounds the waits of one request (default 10s), under EffectTimeout.
	RetryMaxWait time.Duration
	// DirectoryWait is how long a request waits for the directory to learn a connection
	// made a moment ago (default 5s).
	DirectoryWait time.Duration
	// MaxEventAge refuses a webhook delivery whose activity is older than this (default
	// 1h): Open Collective delivers an activity when it happens, so an old one is a replay.
	MaxEventAge time.Duration
}

// ConfigFromEnv reads OPENCOLLECTIVE_WEBHOOK_KEY, OPENCOLLECTIVE_API_URL and
// OPENCOLLECTIVE_SITE_URL.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		WebhookKey: strings.TrimSpace(getenv("OPENCOLLECTIVE_WEBHOOK_KEY")),
		APIURL:     strings.TrimSpace(getenv("OPENCOLLECTIVE_API_URL")),
		SiteURL:    strings.TrimSpace(getenv("OPENCOLLECTIVE_SITE_URL")),
	}
}

// Enabled: the adapter runs when OPENCOLLECTIVE_WEBHOOK_KEY is set.
func (c Config) Enabled() bool { return c.WebhookKey != "" }

// WithDefaults fills the unset settings.
func (c Config) WithDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.SiteURL == "" {
		c.SiteURL = DefaultSiteURL
	}
	c.SiteURL = strings.TrimRight(c.SiteURL, "/")
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 10 * time.Second
	}
	if c.EffectTimeout == 0 {
		c.EffectTimeout = 30 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 4
	}
	if c.RetryWait == 0 {
		c.RetryWait = 500 * time.Millisecond
	}
	if c.RetryMaxWait == 0 {
		c.RetryMaxWait = 10 * time.Second
	}
	if c.DirectoryWait == 0 {
		c.DirectoryWait = 5 * time.Second
	}
	if c.MaxEventAge == 0 {
		c.MaxEventAge = time.Hour
	}
	return c
}

// Validate reports every problem of the settings at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.WebhookKey) < minKeyLen {
		errs = append(errs, fmt.Errorf("opencollective: OPENCOLLECTIVE_WEBHOOK_KEY has %d characters, want at least %d (e.g. openssl rand -base64 32)", len(c.WebhookKey), minKeyLen))
	}
	d := c.WithDefaults()
	for _, u := range []struct{ name, v string }{{"OPENCOLLECTIVE_API_URL", d.APIURL}, {"OPENCOLLECTIVE_SITE_URL", d.SiteURL}} {
		if err := checkURL(u.name, u.v); err != nil {
			errs = append(errs, err)
		}
	}
	for _, b := range []struct {
		name string
		v    time.Duration
	}{{"HTTPTimeout", d.HTTPTimeout}, {"EffectTimeout", d.EffectTimeout}, {"RetryWait", d.RetryWait},
		{"RetryMaxWait", d.RetryMaxWait}, {"DirectoryWait", d.DirectoryWait}, {"MaxEventAge", d.MaxEventAge}} {
		if b.v < 0 {
			errs = append(errs, fmt.Errorf("opencollective: %s %s is negative", b.name, b.v))
		}
	}
	if d.Retries < 0 {
		errs = append(errs, fmt.Errorf("opencollective: Retries %d is negative", d.Retries))
	}
	if d.RetryMaxWait >= d.EffectTimeout {
		errs = append(errs, fmt.Errorf("opencollective: RetryMaxWait %s is not under EffectTimeout %s", d.RetryMaxWait, d.EffectTimeout))
	}
	return errors.Join(errs...)
}

func checkURL(name, raw string) error {
	if _, err := platform.ParseBaseURL(raw); err != nil {
		return fmt.Errorf("opencollective: %s %w", name, err)
	}
	return nil
}
