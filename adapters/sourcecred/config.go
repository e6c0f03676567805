package sourcecred

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the SourceCred adapter's part of the App's configuration (its platform.Section).
// Which instance a community reads is its connection's, never the server's.
type Config struct {
	// On runs the adapter (SOURCECRED_ENABLED=true, or an allow-list set).
	On bool
	// AllowedHosts are the only hosts an instance URL may name (SOURCECRED_ALLOWED_HOSTS,
	// comma separated, "host" or "host:port"); empty: any host at a public address.
	AllowedHosts []string
	// CacheTTL is how long an instance's accounts.json is kept before it is read again
	// (SOURCECRED_CACHE_TTL, default 5m; SourceCred publishes it a few times a day at most).
	CacheTTL time.Duration
	// MaxBytes bounds what is read of accounts.json (default 64 MiB).
	MaxBytes int64
	// HTTPTimeout bounds one request (default 20s), EffectTimeout one attempt at an effect,
	// its retries included (default 30s).
	HTTPTimeout   time.Duration
	EffectTimeout time.Duration
	// Retries is how often a request refused for now (429, 5xx) is tried again (default 3),
	// waiting Retry-After or a backoff from RetryWait (default 500ms), RetryMaxWait in all
	// (default 10s).
	Retries      int
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// DirectoryWait is how long an effect waits for the directory to learn its community's
	// connection (default 5s).
	DirectoryWait time.Duration

	problems []error
}

// ConfigFromEnv reads SOURCECRED_ENABLED, SOURCECRED_ALLOWED_HOSTS and SOURCECRED_CACHE_TTL.
func ConfigFromEnv(getenv func(string) string) Config {
	var c Config
	if v := strings.TrimSpace(getenv("SOURCECRED_ENABLED")); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			c.problems = append(c.problems, fmt.Errorf("sourcecred: SOURCECRED_ENABLED %q is not a boolean", v))
		}
		c.On = on
	}
	for _, h := range strings.Split(getenv("SOURCECRED_ALLOWED_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowedHosts = append(c.AllowedHosts, h)
		}
	}
	if len(c.AllowedHosts) > 0 {
		c.On = true
	}
	if v := strings.TrimSpace(getenv("SOURCECRED_CACHE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.problems = append(c.problems, fmt.Errorf("sourcecred: SOURCECRED_CACHE_TTL %q is not a duration (like 5m)", v))
		}
		c.CacheTTL = d
	}
	return c
}

// Enabled: SOURCECRED_ENABLED is true or SOURCECRED_ALLOWED_HOSTS is set.
func (c Config) Enabled() bool { return c.On }

// WithDefaults fills the unset bounds.
func (c Config) WithDefaults() Config {
	if c.CacheTTL == 0 {
		c.CacheTTL = 5 * time.Minute
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 20
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 20 * time.Second
	}
	if c.EffectTimeout == 0 {
		c.EffectTimeout = 30 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 3
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
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := append([]error(nil), c.problems...)
	d := c.WithDefaults()
	if d.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("sourcecred: SOURCECRED_CACHE_TTL %s is negative", d.CacheTTL))
	}
	for _, h := range c.AllowedHosts {
		if strings.ContainsAny(h, "/ @?#") {
			errs = append(errs, fmt.Errorf("sourcecred: SOURCECRED_ALLOWED_HOSTS: %q is not a host or host:port", h))
		}
	}
	if d.RetryMaxWait >= d.EffectTimeout {
		errs = append(errs, fmt.Errorf("sourcecred: RetryMaxWait %s is not under EffectTimeout %s", d.RetryMaxWait, d.EffectTimeout))
	}
	return errors.Join(errs...)
}
