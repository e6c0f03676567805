package identity

import (
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit allows Burst attempts at once, then one more every Every.
type RateLimit struct {
	Every time.Duration
	Burst int
}

// Default sign-in limits: an address may try 10 times at once and then 10 a minute (a
// household or office behind one address), a username 5 times and then 5 a minute, so
// that guessing a password, even from many addresses, goes at a few attempts a minute.
var (
	DefaultSignInPerAddress = RateLimit{Every: 6 * time.Second, Burst: 10}
	DefaultSignInPerAccount = RateLimit{Every: 12 * time.Second, Burst: 5}
)

// maxLimiterKeys bounds the keys a keyedLimiter remembers: beyond it, keys idle long
// enough to have their whole burst back are forgotten (they lose nothing), and if none is,
// the request is refused rather than remembered.
const maxLimiterKeys = 100_000

// keyedLimiter is a token bucket per key (an address, a username). It is safe for
// concurrent use.
type keyedLimiter struct {
	limit RateLimit
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

func newKeyedLimiter(l RateLimit, now func() time.Time) *keyedLimiter {
	return &keyedLimiter{limit: l, now: now, keys: map[string]*rate.Limiter{}}
}

// allow takes one attempt from key's bucket; false when it is empty.
func (k *keyedLimiter) allow(key string) bool {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	lim, ok := k.keys[key]
	if !ok {
		if len(k.keys) >= maxLimiterKeys {
			k.forgetFull(now)
			if len(k.keys) >= maxLimiterKeys {
				return false
			}
		}
		lim = rate.NewLimiter(rate.Every(k.limit.Every), k.limit.Burst)
		k.keys[key] = lim
	}
	return lim.AllowN(now, 1)
}

// forgetFull drops the buckets that are full again.
func (k *keyedLimiter) forgetFull(now time.Time) {
	for key, lim := range k.keys {
		if lim.TokensAt(now) >= float64(k.limit.Burst) {
			delete(k.keys, key)
		}
	}
}

// SignInLimits are the limits of password sign-ins and registrations: per remote address
// and per username. It is safe for concurrent use.
type SignInLimits struct {
	perAddress, perAccount *keyedLimiter
}

// NewSignInLimits returns limits allowing perAddress attempts from one address and
// perAccount for one username (zero values: DefaultSignInPerAddress,
// DefaultSignInPerAccount), on the clock now (nil: time.Now).
func NewSignInLimits(perAddress, perAccount RateLimit, now func() time.Time) *SignInLimits {
	if perAddress == (RateLimit{}) {
		perAddress = DefaultSignInPerAddress
	}
	if perAccount == (RateLimit{}) {
		perAccount = DefaultSignInPerAccount
	}
	if now == nil {
		now = time.Now
	}
	return &SignInLimits{perAddress: newKeyedLimiter(perAddress, now), perAccount: newKeyedLimiter(perAccount, now)}
}

// Allow takes one attempt of the address (a request's RemoteAddr) and of the username;
// false when either has none left. The address is asked first, so that trying many
// usernames from one address does not lock those accounts for others.
func (s *SignInLimits) Allow(remoteAddr, username string) bool {
	return s.perAddress.allow(addressKey(remoteAddr)) && s.perAccount.allow(strings.ToLower(strings.TrimSpace(username)))
}

// addressKey is the host of a remote address (its port changes with every connection);
// IPv6 addresses count by their /64, which one client usually holds whole.
func addressKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
