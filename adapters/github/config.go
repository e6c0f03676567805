package github

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIURL is GitHub's REST API.
const DefaultAPIURL = "https://api.github.com/"

// DefaultWebURL is GitHub's site, where an App is installed.
const DefaultWebURL = "https://github.com/"

// Section is the GitHub adapter's part of the App's configuration, from GITHUB_* settings.
// One GitHub App (its id, private key and webhook secret) serves every installation.
type Section struct {
	// AppID is the GitHub App's id (GITHUB_APP_ID).
	AppID string
	// PrivateKey is the App's private key, PEM (GITHUB_PRIVATE_KEY): it signs the JWTs
	// that obtain installation tokens.
	PrivateKey string
	// WebhookSecret is the App's webhook secret (GITHUB_WEBHOOK_SECRET): every delivery
	// must carry X-Hub-Signature-256 made with it.
	WebhookSecret string
	// AppSlug is the App's name in its URLs (GITHUB_APP_SLUG): the install flow sends the
	// installer to {WebURL}apps/{slug}/installations/new.
	AppSlug string
	// APIURL is the REST API's base URL ending in "/" (GITHUB_API_URL; tests point it at a
	// fake), WebURL GitHub's site (GITHUB_WEB_URL).
	APIURL string
	WebURL string

	// PollInterval is how often the reactions of open vote issues are read (default 15s):
	// GitHub sends no event for a reaction.
	PollInterval time.Duration
	// MaxAge is how old an event may be (default four days: GitHub redelivers for three):
	// an older delivery is a replay, refused with 401.
	MaxAge time.Duration
	// MaxBodyBytes bounds a delivery's body (default 5 MiB, GitHub's own cap is 25 MiB for
	// a payload it sends at all; an event larger than this is refused).
	MaxBodyBytes int64
	// Workers bounds the deliveries handled at once after they were answered (default 16),
	// WorkTimeout the handling of one (default 30s).
	Workers     int
	WorkTimeout time.Duration
	// RateLimitMaxWait is the time one effect may spend waiting out GitHub's rate limits
	// (default 5s); EffectTimeout bounds one attempt at an effect (default 10s).
	RateLimitMaxWait time.Duration
	EffectTimeout    time.Duration
}

// SectionFromEnv reads the GITHUB_* settings.
func SectionFromEnv(getenv func(string) string) Section {
	s := Section{
		AppID: getenv("GITHUB_APP_ID"), PrivateKey: getenv("GITHUB_PRIVATE_KEY"), WebhookSecret: getenv("GITHUB_WEBHOOK_SECRET"),
		AppSlug: getenv("GITHUB_APP_SLUG"), APIURL: getenv("GITHUB_API_URL"), WebURL: getenv("GITHUB_WEB_URL"),
	}
	if d, err := time.ParseDuration(getenv("GITHUB_POLL_INTERVAL")); err == nil {
		s.PollInterval = d
	}
	return s
}

// Enabled: GitHub runs when the App's webhook secret is set.
func (s Section) Enabled() bool { return s.WebhookSecret != "" }

// WithDefaults returns s with its zero fields set to the defaults.
func (s Section) WithDefaults() Section {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if s.WebURL == "" {
		s.WebURL = DefaultWebURL
	}
	if s.PollInterval == 0 {
		s.PollInterval = 15 * time.Second
	}
	if s.MaxAge == 0 {
		s.MaxAge = 96 * time.Hour
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 5 << 20
	}
	if s.Workers == 0 {
		s.Workers = 16
	}
	if s.WorkTimeout == 0 {
		s.WorkTimeout = 30 * time.Second
	}
	if s.RateLimitMaxWait == 0 {
		s.RateLimitMaxWait = 5 * time.Second
	}
	if s.EffectTimeout == 0 {
		s.EffectTimeout = 10 * time.Second
	}
	return s
}

// Validate reports every problem of the settings (with their defaults) at once.
func (s Section) Validate() error {
	s = s.WithDefaults()
	var errs []error
	if strings.TrimSpace(s.WebhookSecret) == "" {
		errs = append(errs, errors.New("github: GITHUB_WEBHOOK_SECRET is empty"))
	}
	if _, err := s.appID(); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.privateKey(); err != nil {
		errs = append(errs, err)
	}
	for name, v := range map[string]string{"GITHUB_API_URL": s.APIURL, "GITHUB_WEB_URL": s.WebURL} {
		if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(v, "/") {
			errs = append(errs, fmt.Errorf("github: %s %q is not an absolute URL ending in /", name, v))
		}
	}
	if s.PollInterval <= 0 || s.MaxAge <= 0 || s.MaxBodyBytes <= 0 || s.Workers <= 0 || s.WorkTimeout <= 0 {
		errs = append(errs, errors.New("github: PollInterval, MaxAge, MaxBodyBytes, Workers and WorkTimeout must be positive"))
	}
	if s.RateLimitMaxWait <= 0 || s.EffectTimeout <= 0 || s.RateLimitMaxWait >= s.EffectTimeout {
		errs = append(errs, fmt.Errorf("github: RateLimitMaxWait %s must be positive and under EffectTimeout %s", s.RateLimitMaxWait, s.EffectTimeout))
	}
	return errors.Join(errs...)
}

func (s Section) appID() (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s.AppID), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("github: GITHUB_APP_ID %q is not an App's id", s.AppID)
	}
	return id, nil
}

// privateKey returns the PEM of the App's RSA key, checked to parse.
func (s Section) privateKey() ([]byte, error) {
	// A key given in one line (an environment file) has its newlines escaped.
	pemText := strings.ReplaceAll(strings.TrimSpace(s.PrivateKey), `\n`, "\n")
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("github: GITHUB_PRIVATE_KEY is not a PEM private key")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		if _, err8 := x509.ParsePKCS8PrivateKey(block.Bytes); err8 != nil {
			return nil, fmt.Errorf("github: GITHUB_PRIVATE_KEY: %w", err)
		}
	}
	return []byte(pemText), nil
}
