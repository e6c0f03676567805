package reddit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/policykit-go/policykit/adapters/platform"
)

// oauthConfig is the app's OAuth2 client against Reddit's authorization server (HTTP Basic
// client authentication, as Reddit requires).
func oauthConfig(sec Section, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: sec.ClientID, ClientSecret: sec.ClientSecret, RedirectURL: redirect,
		Scopes:   []string{"identity", "read", "submit", "modposts", "history"},
		Endpoint: oauth2.Endpoint{AuthURL: sec.AuthURL + "api/v1/authorize", TokenURL: sec.AuthURL + "api/v1/access_token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// tokenName is the secret holding a subreddit's install token.
func tokenName(sub string) string { return "token:" + strings.ToLower(sub) }

// savingSource keeps a refreshed token encrypted, so that the refresh token Reddit may
// rotate is the one used next time.
type savingSource struct {
	src     oauth2.TokenSource
	secrets platform.Secrets
	name    string
	mu      sync.Mutex
	last    string
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.AccessToken != s.last {
		raw, _ := json.Marshal(t)
		if err := s.secrets.Put(context.Background(), s.name, string(raw)); err != nil {
			return nil, fmt.Errorf("keep refreshed token: %w", err)
		}
		s.last = t.AccessToken
	}
	return t, nil
}

// httpClient returns the client acting as the installer of sub, its token refreshed when it
// expires.
func (a *Adapter) httpClient(ctx context.Context, sub string) (*http.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[strings.ToLower(sub)]; ok {
		return c, nil
	}
	raw, err := a.deps.Secrets.Get(ctx, tokenName(sub))
	if err == nil && raw == "" {
		err = errors.New("its install was refused")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: r/%s has no install token: %w", ErrNotConnected, sub, err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal([]byte(raw), &tok); err != nil {
		return nil, fmt.Errorf("reddit: token of r/%s: %w", sub, err)
	}
	base := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: a.deps.Transport, Timeout: a.sec.EffectTimeout})
	src := &savingSource{src: oauthConfig(a.sec, "").TokenSource(base, &tok), secrets: a.deps.Secrets, name: tokenName(sub), last: tok.AccessToken}
	c := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, src), Base: a.deps.Transport}, Timeout: a.sec.EffectTimeout}
	a.clients[strings.ToLower(sub)] = c
	return c, nil
}

// apiError is Reddit's refusal of a call.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("reddit answered %d: %.200s", e.Status, e.Body) }

// call makes one API call as sub's installer and decodes its JSON answer into out (when
// not nil). Reddit's rate limit is honoured: when X-Ratelimit-Remaining said none are left,
// the next call waits X-Ratelimit-Reset seconds first; a 429 is waited out (its
// X-Ratelimit-Reset, else Retry-After) and tried again; at most RateLimitMaxWait in all and
// never past ctx's deadline. A call answered 429 did nothing, so it repeats no effect.
func (a *Adapter) call(ctx context.Context, sub, method, path string, form url.Values, out any) error {
	c, err := a.httpClient(ctx, sub)
	if err != nil {
		return err
	}
	var waited time.Duration
	for {
		if wait := a.limitWait(); wait > 0 {
			if err := a.sleep(ctx, wait, &waited); err != nil {
				return err
			}
		}
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, a.sec.APIURL+strings.TrimPrefix(path, "/"), body)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", a.sec.UserAgent)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		reset := a.noteLimit(resp.Header)
		if resp.StatusCode == http.StatusTooManyRequests {
			wait := reset
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && wait <= 0 {
				wait = time.Duration(s) * time.Second
			}
			if wait <= 0 {
				wait = time.Second
			}
			a.log.Info("reddit rate limited; waiting", "wait", wait)
			if err := a.sleep(ctx, wait, &waited); err != nil {
				return fmt.Errorf("rate limited: %w", err)
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return &apiError{Status: resp.StatusCode, Body: string(raw)}
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("reddit: decode %s %s: %w", method, path, err)
		}
		return nil
	}
}

// noteLimit remembers the rate limit a response reports and returns its reset.
func (a *Adapter) noteLimit(h http.Header) time.Duration {
	rem, err1 := strconv.ParseFloat(h.Get("X-Ratelimit-Remaining"), 64)
	reset, err2 := strconv.ParseFloat(h.Get("X-Ratelimit-Reset"), 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	d := time.Duration(reset * float64(time.Second))
	a.mu.Lock()
	defer a.mu.Unlock()
	if rem < 1 {
		a.limitedUntil = a.deps.Now().Add(d)
	} else {
		a.limitedUntil = time.Time{}
	}
	return d
}

func (a *Adapter) limitWait() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limitedUntil.Sub(a.deps.Now())
}

func (a *Adapter) sleep(ctx context.Context, wait time.Duration, waited *time.Duration) error {
	if *waited+wait > a.sec.RateLimitMaxWait {
		return fmt.Errorf("waited %s of at most %s, asked to wait %s more", *waited, a.sec.RateLimitMaxWait, wait)
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
		return errors.New("asked to wait past the deadline")
	}
	*waited += wait
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
