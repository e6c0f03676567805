package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Outbound decides where an adapter may send requests to a URL a community set (a Discourse
// site, a SourceCred instance): the URL is theirs to set, and the server is the one that
// fetches it, so it must not make the server reach what only it can reach (its own network,
// a cloud metadata address).
//
// With an allow-list (the adapter's setting named by Setting, e.g. DISCOURSE_ALLOWED_HOSTS),
// only the hosts on it are reached, at whatever address they resolve to. Without one, any
// host is, but only at a public address: the check is made on the address dialled, so a name
// that resolves to a private address is refused too.
type Outbound struct {
	setting string
	allowed map[string]bool // "host" or "host:port", lower case
}

// NewOutbound returns the guard of an adapter whose allow-list setting is named setting.
func NewOutbound(setting string, hosts []string) Outbound {
	g := Outbound{setting: setting, allowed: map[string]bool{}}
	for _, h := range hosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			g.allowed[h] = true
		}
	}
	return g
}

// Check parses a community's base URL (ParseBaseURL), on the allow-list when there is one.
func (g Outbound) Check(raw string) (*url.URL, error) {
	u, err := ParseBaseURL(raw)
	if err != nil {
		return nil, err
	}
	if len(g.allowed) > 0 && !g.allowed[strings.ToLower(u.Host)] && !g.allowed[strings.ToLower(u.Hostname())] {
		return nil, fmt.Errorf("%s is not among the hosts this server may reach (%s)", u.Host, g.setting)
	}
	return u, nil
}

// ParseBaseURL checks a base URL that a platform's API paths are appended to: absolute
// http(s), a host, no credentials, query or fragment. It returns the URL without a trailing
// "/".
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q has credentials, a query or a fragment: give the base URL only", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// ErrNotPublic is a dial refused (wrapped) because the address is not public.
var ErrNotPublic = errors.New("address is not public")

// Client returns an HTTP client that follows no redirects (a redirect could lead anywhere)
// and, without an allow-list, dials public addresses only.
func (g Outbound) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if len(g.allowed) == 0 {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !public(ip) {
				return fmt.Errorf("%s: %w (set %s to reach it)", host, ErrNotPublic, g.setting)
			}
			return nil
		}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func public(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}
