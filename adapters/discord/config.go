package discord

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

// DefaultAPIURL is Discord's own base URL; the REST API is under api/v10/ of it.
const DefaultAPIURL = "https://discord.com/"

// Section is the Discord adapter's part of the App's configuration, from DISCORD_* settings.
// One Discord application (its id, public key and bot) serves every installed guild.
type Section struct {
	// ApplicationID is the application's id (DISCORD_APPLICATION_ID), also its OAuth2
	// client id.
	ApplicationID string
	// PublicKey is the hex of the application's Ed25519 public key (DISCORD_PUBLIC_KEY):
	// every request to the interactions endpoint must be signed with its private key.
	PublicKey string
	// BotToken is the application's bot token (DISCORD_BOT_TOKEN): REST calls and the
	// Gateway.
	BotToken string
	// ClientSecret (DISCORD_CLIENT_SECRET) serves the install flow and Sign in with Discord
	// at /auth/discord/.
	ClientSecret string
	// TokenKey is the base64 of the 32-byte AES-256-GCM key that encrypts the OAuth2 tokens
	// kept of installs (DISCORD_TOKEN_KEY); without it they are kept in memory.
	TokenKey string
	// APIURL is Discord's base URL, ending in "/" (DISCORD_API_URL, default
	// https://discord.com/; tests point it at a fake). The REST API is APIURL + "api/v10/".
	APIURL string
	// Gateway: receive guild messages and channel changes over the Gateway, to govern them
	// (default on; DISCORD_GATEWAY=off leaves only the interactions endpoint).
	Gateway bool
	// GuildID (DISCORD_GUILD_ID) is a guild whose /policykit command is registered at start,
	// for a guild set up by hand; installed guilds get theirs when installed.
	GuildID string

	// MaxBodyBytes bounds an interaction's body (default 1 MiB).
	MaxBodyBytes int64
	// Workers bounds the interactions handled at once after they were answered (default 16).
	Workers int
	// WorkTimeout bounds the handling of one event (default 30s).
	WorkTimeout time.Duration
	// MaxAge is how old a signed interaction may be (default 5 minutes): a replay is refused.
	MaxAge time.Duration
	// RateLimitRetries is how many times a call answered 429 is retried after retry_after
	// (default 5), RateLimitMaxWait the time one call may spend waiting in all (default 5s).
	RateLimitRetries int
	RateLimitMaxWait time.Duration
	// EffectTimeout bounds one attempt at an effect request, rate-limit waits included
	// (default 10s); well under the bus's AckTimeout.
	EffectTimeout time.Duration
}

// SectionFromEnv reads the DISCORD_* settings.
func SectionFromEnv(getenv func(string) string) Section {
	return Section{
		ApplicationID: getenv("DISCORD_APPLICATION_ID"), PublicKey: getenv("DISCORD_PUBLIC_KEY"),
		BotToken: getenv("DISCORD_BOT_TOKEN"), ClientSecret: getenv("DISCORD_CLIENT_SECRET"),
		TokenKey: getenv("DISCORD_TOKEN_KEY"), APIURL: getenv("DISCORD_API_URL"),
		Gateway: !strings.EqualFold(getenv("DISCORD_GATEWAY"), "off"), GuildID: getenv("DISCORD_GUILD_ID"),
	}
}

// Enabled: Discord runs when the application's public key is set.
func (s Section) Enabled() bool { return s.PublicKey != "" }

// WithDefaults returns s with its zero fields set to the defaults.
func (s Section) WithDefaults() Section {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if s.Workers == 0 {
		s.Workers = 16
	}
	if s.WorkTimeout == 0 {
		s.WorkTimeout = 30 * time.Second
	}
	if s.MaxAge == 0 {
		s.MaxAge = 5 * time.Minute
	}
	if s.RateLimitRetries == 0 {
		s.RateLimitRetries = 5
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
	if _, err := s.publicKey(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(s.ApplicationID) == "" {
		errs = append(errs, errors.New("discord: DISCORD_APPLICATION_ID is empty"))
	}
	if strings.TrimSpace(s.BotToken) == "" {
		errs = append(errs, errors.New("discord: DISCORD_BOT_TOKEN is empty"))
	}
	if u, err := url.Parse(s.APIURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(s.APIURL, "/") {
		errs = append(errs, fmt.Errorf("discord: DISCORD_API_URL %q is not an absolute URL ending in /", s.APIURL))
	}
	if s.TokenKey != "" {
		if _, err := platform.DecodeKey(s.TokenKey); err != nil {
			errs = append(errs, fmt.Errorf("discord: DISCORD_TOKEN_KEY: %w", err))
		}
	}
	if s.MaxBodyBytes <= 0 || s.Workers <= 0 || s.WorkTimeout <= 0 || s.MaxAge <= 0 || s.RateLimitRetries < 0 {
		errs = append(errs, errors.New("discord: MaxBodyBytes, Workers, WorkTimeout and MaxAge must be positive, RateLimitRetries not negative"))
	}
	if s.RateLimitMaxWait <= 0 || s.EffectTimeout <= 0 || s.RateLimitMaxWait >= s.EffectTimeout {
		errs = append(errs, fmt.Errorf("discord: RateLimitMaxWait %s must be positive and under EffectTimeout %s", s.RateLimitMaxWait, s.EffectTimeout))
	}
	return errors.Join(errs...)
}

// publicKey decodes PublicKey: 32 bytes, hex.
func (s Section) publicKey() ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s.PublicKey))
	if err != nil || len(k) != 32 {
		return nil, errors.New("discord: DISCORD_PUBLIC_KEY is not the hex of a 32-byte Ed25519 public key")
	}
	return k, nil
}
