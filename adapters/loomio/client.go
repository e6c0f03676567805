package loomio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/policykit-go/policykit/adapters/platform"
)

const (
	// maxBody bounds what is read of a Loomio answer: a poll with its stances side-loaded.
	maxBody = 4 << 20
	// excerptLen bounds the part of an error answer's body an error quotes.
	excerptLen = 512
)

// client calls Loomio's bot API (/api/b2) with a group's API key, which travels as the
// api_key parameter (in the JSON body of a POST, the query of a GET), as Loomio asks.
type client struct {
	base  string // LOOMIO_URL without a trailing "/"
	http  *http.Client
	cfg   Config
	sleep func(ctx context.Context, d time.Duration) error
}

// StatusError is a Loomio answer with a status other than 2xx: 403 for a key Loomio does not
// know (or a group its user is not in), 404 for an unknown poll, 422 with the fields Loomio
// found invalid, 429 or 5xx when it refused for now.
type StatusError struct {
	Request string // "POST /api/b2/polls"
	Status  int
	Excerpt string // the start of the body
	Tries   int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: Loomio answered %d %s", e.Request, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		s += " (the connection's api_key is not a Loomio user's key, or its user is not in the group)"
	}
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	if e.Tries > 1 {
		s += fmt.Sprintf(" (tried %d times)", e.Tries)
	}
	return s
}

// post sends body with the api_key to path and decodes the answer into out.
func (c *client) post(ctx context.Context, key, path string, body map[string]any, out any) error {
	payload := make(map[string]any, len(body)+1)
	for k, v := range body {
		payload[k] = v
	}
	payload["api_key"] = key
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("POST %s body: %w", path, err)
	}
	return c.do(ctx, http.MethodPost, path, c.base+path, data, out)
}

// get reads path with the api_key and decodes the answer into out.
func (c *client) get(ctx context.Context, key, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, c.base+path+"?api_key="+url.QueryEscape(key), nil, out)
}

// do makes a request, trying again while Loomio refuses it for now: 429 and 503 (the request
// was not handled), and for a GET, which changes nothing, any 5xx or failed connection. A POST
// that failed otherwise may have been carried out (a poll created), so it is reported, not
// repeated. Waits follow Retry-After, else double from Config.RetryWait, within
// Config.RetryMaxWait and ctx's deadline.
func (c *client) do(ctx context.Context, method, path, rawURL string, payload []byte, out any) error {
	what := method + " " + path
	var waited time.Duration
	for try := 1; ; try++ {
		status, header, body, err := c.once(ctx, method, rawURL, payload, what)
		if err == nil && status >= 200 && status < 300 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(out); err != nil {
				return fmt.Errorf("%s: Loomio answered %d with a body that is not the JSON expected (%v): %s", what, status, err, excerpt(body))
			}
			return nil
		}
		var wait time.Duration
		if err != nil {
			if method != http.MethodGet || ctx.Err() != nil {
				return err
			}
			wait = c.backoff(try)
		} else {
			err = &StatusError{Request: what, Status: status, Excerpt: excerpt(body), Tries: try}
			retryable := status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
				(method == http.MethodGet && status >= 500)
			if !retryable {
				return err
			}
			var ok bool
			if wait, ok = platform.RetryAfter(header.Get("Retry-After"), time.Now()); !ok {
				wait = c.backoff(try)
			}
		}
		if try > c.cfg.Retries {
			return err
		}
		if waited+wait > c.cfg.RetryMaxWait {
			return fmt.Errorf("%w; asked to wait %s more, past the %s a request may wait", err, wait, c.cfg.RetryMaxWait)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return fmt.Errorf("%w; asked to wait %s, past the attempt's deadline", err, wait)
		}
		waited += wait
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (then %w)", err, serr)
		}
	}
}

// once makes one request; a non-2xx answer is not an error. Errors never carry the URL: a
// GET's holds the key.
func (c *client) once(ctx context.Context, method, rawURL string, payload []byte, what string) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: %w", what, scrub(err))
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: %w", what, scrub(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: reading Loomio's answer: %w", what, scrub(err))
	}
	if len(data) > maxBody {
		return 0, nil, nil, fmt.Errorf("%s: Loomio's answer (%d) is larger than %d bytes", what, resp.StatusCode, maxBody)
	}
	return resp.StatusCode, resp.Header, data, nil
}

// scrub returns err without the URL net/http puts in it.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *client) backoff(try int) time.Duration {
	return c.cfg.RetryWait << min(try-1, 16)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// excerpt is the start of body for an error message: valid UTF-8, whitespace folded.
func excerpt(body []byte) string {
	cut := len(body) > excerptLen
	if cut {
		body = body[:excerptLen]
		for i := 0; i < utf8.UTFMax-1 && len(body) > 0; i++ {
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
