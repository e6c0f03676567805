package identity

import (
	"net/http"
	"strings"
	"time"
)

// SessionCookie is the name of the browser session's cookie.
const SessionCookie = "policykit_session"

// DefaultSessionTTL is how long a browser session lasts unless configured otherwise.
const DefaultSessionTTL = 7 * 24 * time.Hour

// SetSessionCookie sets the browser session's cookie on w: the session's secret, for the
// whole site, lasting ttl, out of scripts' reach (HttpOnly), not sent on cross-site
// subrequests (SameSite=Lax) and, when secure (the site is served over TLS), only over TLS.
func SetSessionCookie(w http.ResponseWriter, secret string, ttl time.Duration, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/", MaxAge: int(ttl / time.Second),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie tells the browser to drop the session's cookie (at logout).
func ClearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// Credentials are the secrets a request carries: an API token (Authorization: Bearer) and
// the session cookie's value; either may be empty.
type Credentials struct {
	Token   string
	Session string
}

// CredentialsOf reads the credentials of r.
func CredentialsOf(r *http.Request) Credentials {
	var c Credentials
	if ck, err := r.Cookie(SessionCookie); err == nil {
		c.Session = ck.Value
	}
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c.Token = strings.TrimSpace(token)
	}
	return c
}
