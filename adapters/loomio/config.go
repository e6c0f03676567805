package loomio

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Config is the Loomio adapter's part of the App's configuration (its platform.Section).
// URL and PollInterval come from the environment; the rest bounds the adapter's calls and has
// defaults.
type Config struct {
	// URL is the Loomio server's base URL (LOOMIO_URL), e.g. "https://www.loomio.com" or a
	// self-hosted Loomio's. A community's group and API key come from its connection.
	URL string
	// PollInterval is how often the open polls are read from Loomio's API, in case a webhook
	// delivery was missed (LOOMIO_POLL_INTERVAL, a Go duration; default 1m).
	PollInterval time.Duration
	// HTTPTimeout bounds one HTTP request to Loomio (default 10s).
	HTTPTimeout time.Duration
	// EffectTimeout bounds one attempt at an effect, its requests and waits included
	// (default 20s).
	EffectTimeout time.Duration
	// Retries is how often a request Loomio refused for now is tried again (default 3).
	Retries int
	// RetryWait is the first wait before trying again when Loomio says no Retry-After; it
	// doubles with each try (default 500ms).
	RetryWait time.Duration
	// RetryMaxWait bounds the waits of one request (default 5s); it must be under
	// EffectTimeout.
	RetryMaxWait time.Duration
	// DirectoryWait is how long a request waits for the directory to learn its community's
	// Loomio connection (default 5s), for one made right after the connection was.
	DirectoryWait time.Duration

	// pollIntervalErr is LOOMIO_POLL_INTERVAL's problem, reported by Validate.
	pollIntervalErr error
}

// ConfigFromEnv reads LOOMIO_URL and LOOMIO_POLL_INTERVAL.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{URL: strings.TrimSpace(getenv("LOOMIO_URL"))}
	if v := strings.TrimSpace(getenv("LOOMIO_POLL_INTERVAL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			c.pollIntervalErr = fmt.Errorf("loomio: LOOMIO_POLL_INTERVAL %q is not a positive duration (like 1m or 30s)", v)
		}
		c.PollInterval = d
	}
	return c
}

// Enabled: the adapter runs when LOOMIO_URL is set.
func (c Config) Enabled() bool { return c.URL != "" }

// WithDefaults fills the unset bounds.
func (c Config) WithDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = time.Minute
	}
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
	if c.pollIntervalErr != nil {
		errs = append(errs, c.pollIntervalErr)
	}
	d := c.WithDefaults()
	for _, b := range []struct {
		name string
		v    time.Duration
	}{{"PollInterval", d.PollInterval}, {"HTTPTimeout", d.HTTPTimeout}, {"EffectTimeout", d.EffectTimeout},
		{"RetryWait", d.RetryWait}, {"RetryMaxWait", d.RetryMaxWait}, {"DirectoryWait", d.DirectoryWait}} {
		if b.v < 0 {
			errs = append(errs, fmt.Errorf("loomio: %s %s is negative", b.name, b.v))
		}
	}
	if d.Retries < 0 {
		errs = append(errs, fmt.Errorf("loomio: Retries %d is negative", d.Retries))
	}
	if d.RetryMaxWait >= d.EffectTimeout {
		errs = append(errs, fmt.Errorf("loomio: RetryMaxWait %s is not under EffectTimeout %s", d.RetryMaxWait, d.EffectTimeout))
	}
	return errors.Join(errs...)
}

// parseBaseURL checks LOOMIO_URL (platform.ParseBaseURL): the API's paths are appended to it.
func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("loomio: LOOMIO_URL is not set")
	}
	u, err := platform.ParseBaseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("loomio: LOOMIO_URL %w (like https://www.loomio.com)", err)
	}
	return u, nil
}
