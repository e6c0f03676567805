package metagov

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Config is the Metagov adapter's part of the App's configuration (its platform.Section).
// Only URL comes from the environment; the rest bounds the adapter's calls and has defaults.
type Config struct {
	// URL is the Metagov server's base URL (METAGOV_URL), e.g. "http://metagov:8000". It is
	// the server's, not a community's: a community names its Metagov community in its
	// connection, never the server its requests go to.
	URL string
	// HTTPTimeout bounds one HTTP request to Metagov (default 10s).
	HTTPTimeout time.Duration
	// EffectTimeout bounds one attempt at an effect, its requests and waits included
	// (default 20s).
	EffectTimeout time.Duration
	// Retries is how often a request Metagov refused for now is tried again (default 3).
	Retries int
	// RetryWait is the first wait before trying again when Metagov says no Retry-After; it
	// doubles with each try (default 500ms).
	RetryWait time.Duration
	// RetryMaxWait bounds the waits of one request (default 5s); it must be under
	// EffectTimeout.
	RetryMaxWait time.Duration
	// DirectoryWait is how long an effect waits for the directory to learn its community's
	// Metagov connection (default 5s), for an effect asked right after the connection was made.
	DirectoryWait time.Duration
}

// ConfigFromEnv reads METAGOV_URL.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{URL: strings.TrimSpace(getenv("METAGOV_URL"))}
}

// Enabled: the adapter runs when METAGOV_URL is set.
func (c Config) Enabled() bool { return c.URL != "" }

// WithDefaults fills the unset bounds.
func (c Config) WithDefaults() Config {
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 10 * time.Second
	}
	if c.EffectTimeout == 0 {
		c.EffectTimeout = 20 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.RetryWait == 0 {
		c.RetryWait = 500 * time.Millisecond
	}
	if c.RetryMaxWait == 0 {
		c.RetryMaxWait = 5 * time.Second
	}
	if c.DirectoryWait == 0 {
		c.DirectoryWait = 5 * time.Second
	}
	return c
}

// Validate reports every problem of the settings at once.
func (c Config) Validate() error {
	var errs []error
	if _, err := parseBaseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	d := c.WithDefaults()
	for _, b := range []struct {
		name string
		v    time.Duration
	}{{"HTTPTimeout", d.HTTPTimeout}, {"EffectTimeout", d.EffectTimeout}, {"RetryWait", d.RetryWait},
		{"RetryMaxWait", d.RetryMaxWait}, {"DirectoryWait", d.DirectoryWait}} {
		if b.v < 0 {
			errs = append(errs, fmt.Errorf("metagov: %s %s is negative", b.name, b.v))
		}
	}
	if d.Retries < 0 {
		errs = append(errs, fmt.Errorf("metagov: Retries %d is negative", d.Retries))
	}
	if d.RetryMaxWait >= d.EffectTimeout {
		// The waits happen within the attempt: past it, the retry would never be made.
		errs = append(errs, fmt.Errorf("metagov: RetryMaxWait %s is not under EffectTimeout %s", d.RetryMaxWait, d.EffectTimeout))
	}
	return errors.Join(errs...)
}

// parseBaseURL checks METAGOV_URL (platform.ParseBaseURL): the API's paths are appended to it.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("metagov: METAGOV_URL is not set")
	}
	u, err := platform.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("metagov: METAGOV_URL %w (like http://metagov:8000)", err)
	}
	return u, nil
}
