package platform

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OAuthState is what the state parameter of an OAuth flow carries through the platform's
// authorization page and back to the callback.
type OAuthState struct {
	// Flow names the flow ("install", "signin"): a state made for one is refused by another.
	Flow string `json:"f"`
	// Data is the flow's own (a starter kit, the page to go back to).
	Data map[string]string `json:"d,omitempty"`
	// Exp is when the state expires (Unix seconds); Nonce makes each state unique.
	Exp   int64  `json:"exp"`
	Nonce string `json:"n"`
}

// Errors of StateSigner.Verify (wrapped).
var (
	ErrStateInvalid = errors.New("invalid OAuth state")
	ErrStateExpired = errors.New("OAuth state expired")
	ErrStateUsed    = errors.New("OAuth state already used")
)

// StateSigner signs and checks the state parameter of OAuth flows, so that they keep no
// server-side session: base64url(JSON payload) "." base64url(HMAC-SHA256(payload)). With
// Used set, a state opens one callback only.
type StateSigner struct {
	Key []byte
	TTL time.Duration // default 10 minutes
	Now func() time.Time
	// Used remembers the nonces of verified states until they expire (nil: a state may be
	// used until it expires).
	Used NonceStore
}

// NonceStore records used nonces. Use reports whether nonce is new, recording it until until.
type NonceStore interface {
	Use(ctx context.Context, nonce string, until time.Time) (bool, error)
}

// DeriveKey derives a signing key for purpose from a secret the platform gave (a client
// secret), so that one secret does not sign two kinds of thing.
func DeriveKey(purpose, secret string) []byte {
	k := sha256.Sum256([]byte("policykit " + purpose + "\x00" + secret))
	return k[:]
}

func (ss StateSigner) now() time.Time {
	if ss.Now != nil {
		return ss.Now()
	}
	return time.Now()
}

// Sign gives s a fresh random nonce and an expiry TTL from now, and returns it signed and
// as signed.
func (ss StateSigner) Sign(s OAuthState) (string, OAuthState, error) {
	if len(ss.Key) == 0 {
		return "", OAuthState{}, errors.New("oauth state: no signing key")
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", OAuthState{}, err
	}
	ttl := ss.TTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	s.Nonce = base64.RawURLEncoding.EncodeToString(nonce[:])
	s.Exp = ss.now().Add(ttl).Unix()
	payload, err := json.Marshal(s)
	if err != nil {
		return "", OAuthState{}, err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(ss.mac(p)), s, nil
}

func (ss StateSigner) mac(p string) []byte {
	m := hmac.New(sha256.New, ss.Key)
	m.Write([]byte(p))
	return m.Sum(nil)
}

// Verify checks the state's signature, expiry and flow, and that it was not used before
// (with Used), and returns its payload. Errors wrap ErrStateInvalid, ErrStateExpired or
// ErrStateUsed.
func (ss StateSigner) Verify(ctx context.Context, state, flow string) (OAuthState, error) {
	p, sig, ok := strings.Cut(state, ".")
	if !ok || p == "" || len(ss.Key) == 0 {
		return OAuthState{}, fmt.Errorf("%w: malformed", ErrStateInvalid)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, ss.mac(p)) {
		return OAuthState{}, fmt.Errorf("%w: signature does not match", ErrStateInvalid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return OAuthState{}, fmt.Errorf("%w: malformed payload", ErrStateInvalid)
	}
	var s OAuthState
	if err := json.Unmarshal(raw, &s); err != nil {
		return OAuthState{}, fmt.Errorf("%w: malformed payload", ErrStateInvalid)
	}
	if ss.now().Unix() > s.Exp {
		return OAuthState{}, ErrStateExpired
	}
	if s.Flow != flow {
		return OAuthState{}, fmt.Errorf("%w: a state of flow %q, want %q", ErrStateInvalid, s.Flow, flow)
	}
	if ss.Used != nil {
		first, err := ss.Used.Use(ctx, s.Nonce, time.Unix(s.Exp, 0))
		if err != nil {
			return OAuthState{}, fmt.Errorf("oauth state: %w", err)
		}
		if !first {
			return OAuthState{}, ErrStateUsed
		}
	}
	return s, nil
}

var _ NonceStore = (*MemoryNonces)(nil)

// MemoryNonces is a NonceStore in memory (one process); its zero value is empty. Now is
// the clock by which recorded nonces are forgotten (default time.Now).
type MemoryNonces struct {
	Now func() time.Time

	mu   sync.Mutex
	used map[string]time.Time
}

func (m *MemoryNonces) Use(_ context.Context, nonce string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	for n, t := range m.used {
		if now.After(t) {
			delete(m.used, n) // expired states are refused anyway
		}
	}
	if _, ok := m.used[nonce]; ok {
		return false, nil
	}
	if m.used == nil {
		m.used = map[string]time.Time{}
	}
	m.used[nonce] = until
	return true, nil
}

var _ NonceStore = PostgresNonces{}

// PostgresNonces is a NonceStore in platform_oauth_nonces, shared by every process.
type PostgresNonces struct{ Pool *pgxpool.Pool }

func (p PostgresNonces) Use(ctx context.Context, nonce string, until time.Time) (bool, error) {
	if _, err := p.Pool.Exec(ctx, `DELETE FROM platform_oauth_nonces WHERE expires_at < now() - interval '1 hour'`); err != nil {
		return false, fmt.Errorf("expire oauth nonces: %w", err)
	}
	tag, err := p.Pool.Exec(ctx, `INSERT INTO platform_oauth_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, nonce, until)
	if err != nil {
		return false, fmt.Errorf("use oauth nonce: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
