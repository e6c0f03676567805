package opencollective

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/policykit-go/policykit/adapters/platform"
)

const (
	// maxBody bounds what is read of an API answer.
	maxBody = 1 << 20
	// excerptLen bounds the part of an answer an error quotes.
	excerptLen = 300
)

// credential is how a request authenticates: a personal token (header Personal-Token) or
// an OAuth access token (Authorization: Bearer).
type credential struct {
	header, value string
}

func (c credential) set(h http.Header) {
	if c.header == "Authorization" {
		h.Set("Authorization", "Bearer "+c.value)
		return
	}
	h.Set(c.header, c.value)
}

// client speaks Open Collective's GraphQL API v2: a POST of {"query", "variables"} as JSON,
// answered {"data", "errors"}.
type client struct {
	endpoint string
	http     *http.Client
	cfg      Config
	log      *slog.Logger
}

// GraphQLError is an answer whose "errors" say the API refused the operation (a state it
// cannot change, a missing permission, an unknown expense). It is final: asking again
// would be answered the same.
type GraphQLError struct {
	Op       string
	Messages []string
	Codes    []string
}

func (e *GraphQLError) Error() string {
	s := fmt.Sprintf("Open Collective refused %s: %s", e.Op, strings.Join(e.Messages, "; "))
	if len(e.Codes) > 0 {
		s += " (" + strings.Join(e.Codes, ", ") + ")"
	}
	return s
}

// Has reports whether one of the errors has code (Open Collective's extensions.code:
// "NotFound", "Forbidden", "Unauthorized").
func (e *GraphQLError) Has(code string) bool {
	for _, c := range e.Codes {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

// StatusError is an HTTP answer other than 200.
type StatusError struct {
	Op      string
	Status  int
	Excerpt string
	Tries   int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: Open Collective answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	if e.Tries > 1 {
		s += fmt.Sprintf(" (tried %d times)", e.Tries)
	}
	return s
}

// ambiguous reports whether err leaves it unknown if a mutation was carried out: the
// request may have reached the API, and its answer was lost or a server error.
func ambiguous(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 && se.Status != http.StatusServiceUnavailable
	}
	var ge *GraphQLError
	return !errors.As(err, &ge) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// do performs one operation and decodes its data into out. A query (readOnly) is tried
// again after any server error or failed connection; a mutation only after 429 and 503,
// which say the request was not handled. Waits follow Retry-After, else double from
// Config.RetryWait, within Config.RetryMaxWait and ctx's deadline.
func (c *client) do(ctx context.Context, cred credential, op, query string, vars map[string]any, readOnly bool, out any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var waited time.Duration
	for try := 1; ; try++ {
		status, header, body, err := c.once(ctx, cred, payload, op)
		var wait time.Duration
		switch {
		case err != nil:
			if !readOnly || ctx.Err() != nil {
				return err
			}
			wait = c.backoff(try)
		case status == http.StatusOK:
			return decodeAnswer(op, body, out)
		default:
			err = &StatusError{Op: op, Status: status, Excerpt: excerpt(body), Tries: try}
			retryable := status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
				(readOnly && status >= 500)
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
		c.log.Info("opencollective: trying again", "op", op, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

func (c *client) once(ctx context.Context, cred credential, payload []byte, op string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	cred.set(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the endpoint's, told by op already
		}
		return 0, nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	if len(body) > maxBody {
		return 0, nil, nil, fmt.Errorf("%s: the answer is larger than %d bytes", op, maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// decodeAnswer reads a GraphQL answer: its errors as a GraphQLError, else its data into out.
func decodeAnswer(op string, body []byte, out any) error {
	var ans struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("%s: the answer is not GraphQL's JSON: %s", op, excerpt(body))
	}
	if len(ans.Errors) > 0 {
		ge := &GraphQLError{Op: op}
		for _, e := range ans.Errors {
			ge.Messages = append(ge.Messages, e.Message)
			if code, _ := e.Extensions["code"].(string); code != "" {
				ge.Codes = append(ge.Codes, code)
			}
		}
		return ge
	}
	if out == nil {
		return nil
	}
	if len(ans.Data) == 0 || string(ans.Data) == "null" {
		return fmt.Errorf("%s: the answer has neither data nor errors", op)
	}
	if err := json.Unmarshal(ans.Data, out); err != nil {
		return fmt.Errorf("%s: the answer's data: %w", op, err)
	}
	return nil
}

func (c *client) backoff(try int) time.Duration { return c.cfg.RetryWait << min(try-1, 16) }

// excerpt is the start of body for an error message: valid UTF-8, whitespace folded.
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
