package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/adapters/platform"
)

// Config configures the Slack adapter. Bot tokens are per workspace and live in a
// TokenStore, not here.
type Config struct {
	// SigningSecret is the app's signing secret (SLACK_SIGNING_SECRET): every request to the
	// hook must carry Slack's v0 signature made with it.
	SigningSecret string
	// APIURL is the Slack Web API base, ending in "/" (default slack.APIURL; tests point it
	// at slacktest).
	APIURL string
	// AppToken is an app-level token ("xapp-...", SLACK_APP_TOKEN) with the connections:write
	// scope. Set, the adapter can also receive events and vote clicks over Socket Mode
	// (RunSocketMode), so that Slack needs no public Request URL; the hook keeps working.
	AppToken string
	// TokenKey is the base64 of the 32-byte AES-256-GCM key that encrypts bot tokens at rest
	// (SLACK_TOKEN_KEY); needed only by PostgresTokens.
	TokenKey string
	// MaxBodyBytes bounds a hook request's body (default 1 MiB); a larger one gets 413.
	MaxBodyBytes int64
	// Workers bounds the events handled at once after they were acknowledged (default 16).
	Workers int
	// WorkTimeout bounds the handling of one event (default 30s).
	WorkTimeout time.Duration
	// RateLimitRetries is how many times a call answered 429 is retried after Retry-After
	// (default 5).
	RateLimitRetries int
	// RateLimitMaxWait bounds the time one call spends waiting out Retry-After, all its
	// retries together (default 5s). A call Slack would have wait longer fails with the rate
	// limit error instead.
	RateLimitMaxWait time.Duration
	// EffectTimeout bounds one attempt at an effect request, rate-limit waits included
	// (default 10s). It must stay well under the bus's AckTimeout (30s by default), or NATS
	// and Postgres deliver the request again while it is still being performed.
	EffectTimeout time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = slack.APIURL
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Workers == 0 {
		c.Workers = 16
	}
	if c.WorkTimeout == 0 {
		c.WorkTimeout = 30 * time.Second
	}
	if c.RateLimitRetries == 0 {
		c.RateLimitRetries = 5
	}
	if c.RateLimitMaxWait == 0 {
		c.RateLimitMaxWait = 5 * time.Second
	}
	if c.EffectTimeout == 0 {
		c.EffectTimeout = 10 * time.Second
	}
	return c
}

// ConfigFromEnv reads SLACK_SIGNING_SECRET, SLACK_API_URL, SLACK_APP_TOKEN and
// SLACK_TOKEN_KEY.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		SigningSecret: getenv("SLACK_SIGNING_SECRET"),
		APIURL:        getenv("SLACK_API_URL"),
		AppToken:      getenv("SLACK_APP_TOKEN"),
		TokenKey:      getenv("SLACK_TOKEN_KEY"),
	}
}

// Validate reports every problem of c at once, naming the field in each.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.SigningSecret) == "" {
		errs = append(errs, errors.New("slack: SigningSecret is empty"))
	}
	if u, err := url.Parse(c.APIURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(c.APIURL, "/") {
		errs = append(errs, fmt.Errorf("slack: APIURL %q is not an absolute URL ending in /", c.APIURL))
	}
	// A bot or user token here is a common mistake; apps.connections.open refuses it.
	if c.AppToken != "" && !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("slack: AppToken is not an app-level token (xapp-...)"))
	}
	if c.TokenKey != "" {
		if _, err := decodeKey(c.TokenKey); err != nil {
			errs = append(errs, fmt.Errorf("slack: TokenKey: %w", err))
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("slack: MaxBodyBytes %d is not positive", c.MaxBodyBytes))
	}
	if c.Workers <= 0 {
		errs = append(errs, fmt.Errorf("slack: Workers %d is not positive", c.Workers))
	}
	if c.WorkTimeout <= 0 {
		errs = append(errs, fmt.Errorf("slack: WorkTimeout %s is not positive", c.WorkTimeout))
	}
	if c.RateLimitRetries < 0 {
		errs = append(errs, fmt.Errorf("slack: RateLimitRetries %d is negative", c.RateLimitRetries))
	}
	if c.RateLimitMaxWait <= 0 {
		errs = append(errs, fmt.Errorf("slack: RateLimitMaxWait %s is not positive", c.RateLimitMaxWait))
	}
	if c.EffectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("slack: EffectTimeout %s is not positive", c.EffectTimeout))
	} else if c.RateLimitMaxWait >= c.EffectTimeout {
		// The attempt would always end before the wait did.
		errs = append(errs, fmt.Errorf("slack: RateLimitMaxWait %s is not under EffectTimeout %s", c.RateLimitMaxWait, c.EffectTimeout))
	}
	return errors.Join(errs...)
}

// Key returns the decoded TokenKey.
func (c Config) Key() ([]byte, error) { return decodeKey(c.TokenKey) }

func decodeKey(s string) ([]byte, error) { return platform.DecodeKey(s) }
