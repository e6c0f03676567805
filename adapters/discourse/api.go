package discourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// The connection's settings and secrets.
const (
	SettingURL         = "url"
	SettingAPIUsername = "api_username"
	SecretAPIKey       = "api_key"
	SecretUserAPIKey   = "user_api_key"
	SecretWebhook      = "webhook_secret"
)

const (
	maxBody    = 4 << 20
	excerptLen = 300
)

// site is a community's Discourse: where requests go and how they are authorised.
type site struct {
	community   string
	base        string // without a trailing "/"
	apiKey      string // an admin API key, sent with Api-Username
	apiUsername string
	userAPIKey  string // or a User API key
	webhook     string // the webhook secret
}

// site reads a community's connection: its URL (setting url, else the external id) checked
// against the guard, and its secrets opened.
func (a *Adapter) site(ctx context.Context, communityID string) (site, error) {
	conn, err := platform.WaitFor(ctx, a.sec.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return a.deps.Directory.Connection(ctx, communityID, domain.PlatformDiscourse)
	})
	if err != nil {
		return site{}, fmt.Errorf("community %s's Discourse connection: %w", communityID, err)
	}
	raw := conn.Settings[SettingURL]
	if raw == "" {
		raw = conn.ExternalID
	}
	u, err := a.guard.Check(raw)
	if err != nil {
		return site{}, fmt.Errorf("community %s's Discourse site: %w", communityID, err)
	}
	s := site{community: communityID, base: u.String(), apiUsername: conn.Settings[SettingAPIUsername]}
	for name, to := range map[string]*string{SecretAPIKey: &s.apiKey, SecretUserAPIKey: &s.userAPIKey, SecretWebhook: &s.webhook} {
		sealedValue := conn.Secrets[name]
		if sealedValue == "" {
			continue
		}
		if *to, err = a.deps.Box.Open(communityID, domain.PlatformDiscourse, name, sealedValue); err != nil {
			return site{}, fmt.Errorf("community %s's Discourse %s: %w", communityID, name, err)
		}
	}
	return s, nil
}

func (s site) authorised() error {
	if s.userAPIKey == "" && (s.apiKey == "" || s.apiUsername == "") {
		return fmt.Errorf("community %s's Discourse connection has neither an %s with the setting %s nor a %s",
			s.community, SecretAPIKey, SettingAPIUsername, SecretUserAPIKey)
	}
	return nil
}

// StatusError is a Discourse answer other than 2xx.
type StatusError struct {
	Request string
	Status  int
	Excerpt string
	Tries   int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: Discourse answered %d %s", e.Request, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	if e.Tries > 1 {
		s += fmt.Sprintf(" (tried %d times)", e.Tries)
	}
	return s
}

// call makes an API request (path under the site, with its query) and decodes the JSON
// answer (nil for an empty one). A 429 is tried again after the wait Discourse asks for
// (Retry-After, or the body's extras.wait_seconds), since a rate-limited request was not
// carried out; a GET is also tried again after a 5xx or a failed connection. A POST, PUT or
// DELETE that failed otherwise may have been carried out, so it is reported, not repeated.
func (a *Adapter) call(ctx context.Context, s site, method, path string, body any) (any, error) {
	if err := s.authorised(); err != nil {
		return nil, err
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s %s body: %w", method, path, err)
		}
	}
	what := method + " " + strings.SplitN(path, "?", 2)[0]
	var waited time.Duration
	for try := 1; ; try++ {
		status, header, data, err := a.once(ctx, s, method, path, payload)
		if err == nil && status >= 200 && status < 300 {
			return decode(data, what, status)
		}
		var wait time.Duration
		if err != nil {
			err = fmt.Errorf("%s: %w", what, err)
			if method != http.MethodGet || ctx.Err() != nil {
				return nil, err
			}
			wait = a.sec.RetryWait << min(try-1, 16)
		} else {
			err = &StatusError{Request: what, Status: status, Excerpt: excerpt(data), Tries: try}
			if status != http.StatusTooManyRequests && !(method == http.MethodGet && status >= 500) {
				return nil, err
			}
			var ok bool
			if wait, ok = rateLimitWait(header, data, time.Now()); !ok {
				wait = a.sec.RetryWait << min(try-1, 16)
			}
		}
		if try > a.sec.Retries {
			return nil, err
		}
		if waited+wait > a.sec.RetryMaxWait {
			return nil, fmt.Errorf("%w; asked to wait %s more, past the %s a request may wait", err, wait, a.sec.RetryMaxWait)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, fmt.Errorf("%w; asked to wait %s, past the attempt's deadline", err, wait)
		}
		waited += wait
		a.log.Info("discourse: trying again", "request", what, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

func (a *Adapter) once(ctx context.Context, s site, method, path string, payload []byte) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if s.userAPIKey != "" {
		req.Header.Set("User-Api-Key", s.userAPIKey)
	} else {
		req.Header.Set("Api-Key", s.apiKey)
		req.Header.Set("Api-Username", s.apiUsername)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the caller names
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading Discourse's answer: %w", err)
	}
	if len(data) > maxBody {
		return 0, nil, nil, fmt.Errorf("the answer (%d) is larger than %d bytes", resp.StatusCode, maxBody)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// rateLimitWait reads how long Discourse asks to wait: Retry-After, else the body's
// {"extras": {"wait_seconds": n}}.
func rateLimitWait(h http.Header, body []byte, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	var b struct {
		Extras struct {
			WaitSeconds *float64 `json:"wait_seconds"`
		} `json:"extras"`
	}
	if json.Unmarshal(body, &b) == nil && b.Extras.WaitSeconds != nil && *b.Extras.WaitSeconds >= 0 {
		return time.Duration(*b.Extras.WaitSeconds * float64(time.Second)), true
	}
	return 0, false
}

// decode reads a JSON answer, numbers kept exact; an empty body is nil.
func decode(data []byte, what string, status int) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: Discourse answered %d with a body that is not JSON: %s", what, status, excerpt(data))
	}
	return v, nil
}

func excerpt(body []byte) string {
	cut := len(body) > excerptLen
	if cut {
		body = body[:excerptLen]
		for len(body) > 0 {
			if r, _ := utf8.DecodeLastRune(body); r != utf8.RuneError {
				break
			}
			body = body[:len(body)-1]
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
	if cut {
		s += "…"
	}
	return s
}

// idOf reads an id from a decoded answer or a field: a JSON number, a number, or its text.
func idOf(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
