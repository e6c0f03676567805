// Package metagov is the adapter of the "metagov" platform: it performs what policy code
// asks of a Metagov server (metagov.perform_action, start_process and close_process) over
// Metagov's internal HTTP API, each effect once (platform.Once with the kit's ledger).
//
// It is effect-only. A governance process's updates arrive from Metagov on the generic hook
// (/api/hooks/metagov/{community}), which another part of the server serves; this adapter
// only gives Metagov that hook as the process's callback_url.
//
// The server's Metagov is METAGOV_URL. Each community's connection to "metagov" names its
// Metagov community (the connection's setting "community", else its external id), sent as
// X-Metagov-Community; a sealed "api_key" secret, when the connection has one, is sent as
// "Authorization: Bearer <key>" (for a Metagov server behind a gateway that asks for one;
// Metagov itself does not).
package metagov

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
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

// The metagov methods policy code calls (policy/platforms.go).
const (
	MethodPerformAction = "perform_action"
	MethodStartProcess  = "start_process"
	MethodCloseProcess  = "close_process"
)

const (
	// maxBody bounds what is read of a Metagov answer.
	maxBody = 1 << 20
	// excerptLen bounds the part of an error answer's body an error quotes.
	excerptLen = 512
	// secretAPIKey is the connection secret sent as a bearer token.
	secretAPIKey = "api_key"
	// settingCommunity is the connection setting naming the Metagov community.
	settingCommunity = "community"
)

// Deps are what a Performer works with.
type Deps struct {
	// Directory gives each community's Metagov connection (required).
	Directory platform.Directory
	// Box opens the connections' sealed api_key (nil: a connection with one fails its effects).
	Box *sealed.Box
	// Ledger records each effect once (default: in memory).
	Ledger platform.Ledger
	// BaseURL is the site's public base URL, without a trailing "/": the callback_url of a
	// started process is on it (required).
	BaseURL string
	// Client makes the requests (default: one with Config.HTTPTimeout that follows no
	// redirects).
	Client *http.Client
	Log    *slog.Logger
}

// Performer performs the metagov platform's effects against a Metagov server. It is safe
// for concurrent use.
type Performer struct {
	cfg    Config
	base   string // METAGOV_URL without a trailing "/"
	baseU  *url.URL
	deps   Deps
	client *http.Client
	log    *slog.Logger
}

// New returns a Performer of cfg's Metagov server.
func New(cfg Config, deps Deps) (*Performer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	u, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if deps.Directory == nil {
		return nil, errors.New("metagov: no directory of the communities' connections")
	}
	if deps.BaseURL == "" {
		return nil, errors.New("metagov: no base URL for the processes' callbacks")
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := deps.Client
	if client == nil {
		client = &http.Client{
			Timeout: cfg.HTTPTimeout,
			// A redirect is answered as what it is, an error naming the status: following it
			// would send the community's key to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Performer{cfg: cfg, base: u.String(), baseU: u, deps: deps, client: client, log: log}, nil
}

// Perform carries out one effect request of the metagov platform, once per idempotency key:
// a request whose key the ledger completed is answered with the stored answer without calling
// Metagov, and a delivery of it while another is under way waits for that one's answer. A
// failed attempt is not recorded, so a redelivery tries again.
//
//   - perform_action(name, parameters): POST /api/internal/action/{name} with
//     {"parameters": ...}; answers Metagov's object (a JSON value that is not an object as
//     {"value": v}, an empty body as {"value": null}).
//   - start_process(name, parameters): POST /api/internal/process/{name} with the parameters
//     and a callback_url on the site's hook, then GET the Location Metagov answered; answers
//     the process ({"id", "name", "community", "status", "errors", "outcome"}).
//   - close_process(id, name): DELETE /api/internal/process/{name}/{id}; answers the closed
//     process.
//
// Any other method is refused without calling Metagov.
func (p *Performer) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	switch req.Method {
	case MethodPerformAction, MethodStartProcess, MethodCloseProcess:
	default:
		return nil, fmt.Errorf("metagov cannot %s: its methods are %s, %s and %s", req.Method,
			MethodPerformAction, MethodStartProcess, MethodCloseProcess)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, p.deps.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{Attempt: p.cfg.EffectTimeout},
		func(ctx context.Context) (map[string]any, error) { return p.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("metagov %s: %w", req.Method, err)
	}
	return res, nil
}

// nameArgs are the arguments of perform_action and start_process.
type nameArgs struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// processArgs are the arguments of close_process: the proposal's process.
type processArgs struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (p *Performer) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	// The arguments first: a request Metagov would never be asked is refused before the
	// directory is.
	var call func(context.Context, target) (map[string]any, error)
	switch req.Method {
	case MethodPerformAction, MethodStartProcess:
		args, err := bus.DecodeArgs[nameArgs](req)
		if err != nil {
			return nil, err
		}
		if err := checkName(args.Name); err != nil {
			return nil, err
		}
		if req.Method == MethodPerformAction {
			call = func(ctx context.Context, t target) (map[string]any, error) { return p.performAction(ctx, t, args) }
		} else {
			if req.ProposalID == "" {
				return nil, errors.New("a process is started for a proposal, and this request has none")
			}
			call = func(ctx context.Context, t target) (map[string]any, error) {
				return p.startProcess(ctx, t, req.CommunityID, req.ProposalID, args)
			}
		}
	case MethodCloseProcess:
		args, err := bus.DecodeArgs[processArgs](req)
		if err != nil {
			return nil, err
		}
		if args.ID == "" || args.Name == "" {
			return nil, errors.New("close_process needs the process's id and name (the proposal follows no process)")
		}
		if err := checkName(args.Name); err != nil {
			return nil, err
		}
		if !idPattern.MatchString(args.ID) {
			return nil, fmt.Errorf("%q is not a Metagov process id", args.ID)
		}
		call = func(ctx context.Context, t target) (map[string]any, error) { return p.closeProcess(ctx, t, args) }
	}
	t, err := p.target(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	return call(ctx, t)
}

// namePattern is a Metagov action or process name ("loomio.poll", "opencollective.create-issue"):
// it becomes a path segment, so nothing that would leave it.
var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func checkName(name string) error {
	if name == "" {
		return errors.New("no Metagov name given (like \"loomio.poll\")")
	}
	if !namePattern.MatchString(name) || strings.Contains(name, "..") || len(name) > 200 {
		return fmt.Errorf("%q is not a Metagov action or process name (like \"loomio.poll\")", name)
	}
	return nil
}

// target is whom a community's requests are for: its Metagov community and, behind a
// gateway, its key.
type target struct {
	community string
	key       string
}

func (p *Performer) target(ctx context.Context, communityID string) (target, error) {
	conn, err := platform.WaitFor(ctx, p.cfg.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return p.deps.Directory.Connection(ctx, communityID, domain.PlatformMetagov)
	})
	if err != nil {
		return target{}, fmt.Errorf("community %s's Metagov connection: %w", communityID, err)
	}
	t := target{community: conn.Settings[settingCommunity]}
	if t.community == "" {
		t.community = conn.ExternalID
	}
	if t.community == "" {
		return target{}, fmt.Errorf("community %s's Metagov connection names no Metagov community (setting %q or its external id)", communityID, settingCommunity)
	}
	if sealedKey := conn.Secrets[secretAPIKey]; sealedKey != "" {
		if t.key, err = p.deps.Box.Open(communityID, domain.PlatformMetagov, secretAPIKey, sealedKey); err != nil {
			return target{}, fmt.Errorf("community %s's Metagov %s: %w", communityID, secretAPIKey, err)
		}
	}
	return t, nil
}

func (p *Performer) performAction(ctx context.Context, t target, args nameArgs) (map[string]any, error) {
	params := args.Parameters
	if params == nil {
		params = map[string]any{}
	}
	resp, err := p.call(ctx, t, http.MethodPost, "/api/internal/action/"+args.Name, map[string]any{"parameters": params})
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return bus.Answer(bus.QueryAnswer{})
	}
	v, err := decode(resp)
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return bus.Answer(bus.QueryAnswer{Value: v})
}

func (p *Performer) startProcess(ctx context.Context, t target, communityID, proposalID string, args nameArgs) (map[string]any, error) {
	body := make(map[string]any, len(args.Parameters)+1)
	for k, v := range args.Parameters {
		body[k] = v
	}
	// The process reports to this proposal's hook, whatever the parameters say: the engine
	// follows the process by its updates there.
	body["callback_url"] = p.deps.BaseURL + "/api/hooks/metagov/" + url.PathEscape(communityID) + "?proposal=" + url.QueryEscape(proposalID)
	resp, err := p.call(ctx, t, http.MethodPost, "/api/internal/process/"+args.Name, body)
	if err != nil {
		return nil, err
	}
	loc := resp.header.Get("Location")
	if loc == "" {
		// Not Metagov's way (202 with a Location), but an answer that is the process will do.
		if v, err := decode(resp); err == nil {
			if m, ok := v.(map[string]any); ok && m["id"] != nil {
				return m, nil
			}
		}
		return nil, fmt.Errorf("the Metagov server answered %d to starting %s and said not where the process is (no Location)", resp.status, args.Name)
	}
	where, err := p.locate(loc)
	if err != nil {
		return nil, err
	}
	got, err := p.callURL(ctx, t, http.MethodGet, where, nil)
	if err == nil {
		var proc map[string]any
		if proc, err = object(got); err == nil {
			return proc, nil
		}
	}
	// The process was started: failing the effect would lose it (a redelivery would start
	// another, and the proposal could never close this one). Its Location says which it is,
	// and 202 that it is under way; its updates on the hook tell the rest.
	locU, _ := url.Parse(where) // where was built from a URL that parsed
	id := path.Base(locU.Path)
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("started %s at %s, and could not read it: %w", args.Name, loc, err)
	}
	p.log.Warn("metagov: started a process but could not read it; answering what its Location says",
		"name", args.Name, "location", loc, "err", err)
	return map[string]any{"id": id, "name": args.Name, "status": "pending"}, nil
}

func (p *Performer) closeProcess(ctx context.Context, t target, args processArgs) (map[string]any, error) {
	resp, err := p.call(ctx, t, http.MethodDelete, "/api/internal/process/"+args.Name+"/"+args.ID, nil)
	if err != nil {
		return nil, err
	}
	return object(resp)
}

// locate turns a Location Metagov answered into the URL to read: a path is under METAGOV_URL
// (METAGOV_URL + Location, so that a server behind a gateway's prefix is still reached); an
// absolute URL must be on METAGOV_URL's server, since the request carries the community's key.
func (p *Performer) locate(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("the Metagov server answered a Location %q that is not a URL: %w", loc, err)
	}
	if u.IsAbs() || u.Host != "" {
		if !strings.EqualFold(u.Host, p.baseU.Host) || (u.Scheme != "" && u.Scheme != p.baseU.Scheme) {
			return "", fmt.Errorf("the Metagov server answered a Location on another server (%s): not followed", u.Redacted())
		}
		if u.Scheme == "" {
			u.Scheme = p.baseU.Scheme
		}
		return u.String(), nil
	}
	if !strings.HasPrefix(loc, "/") {
		loc = "/" + loc
	}
	return p.base + loc, nil
}

// response is a Metagov answer with a 2xx status.
type response struct {
	status int
	header http.Header
	body   []byte
	what   string // "GET /api/internal/..." for errors
}

// StatusError is a Metagov answer with a status other than 2xx.
type StatusError struct {
	Request string // "POST /api/internal/action/x"
	Status  int
	Excerpt string // the start of the body
	Tries   int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: Metagov answered %d %s", e.Request, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	if e.Tries > 1 {
		s += fmt.Sprintf(" (tried %d times)", e.Tries)
	}
	return s
}

func (p *Performer) call(ctx context.Context, t target, method, path string, body any) (*response, error) {
	return p.callURL(ctx, t, method, p.base+path, body)
}

// callURL makes a request to Metagov, trying again while Metagov refuses it for now: 429 and
// 503 (the request was not handled), and for a GET, which changes nothing, any 5xx or failed
// connection. A POST or DELETE that failed otherwise may have been carried out, so it is
// reported, not repeated. Waits follow Retry-After, else double from Config.RetryWait, within
// Config.RetryMaxWait and the attempt's deadline.
func (p *Performer) callURL(ctx context.Context, t target, method, rawURL string, body any) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s body: %w", method, err)
		}
	}
	what := method + " " + p.shown(rawURL)
	var waited time.Duration
	for try := 1; ; try++ {
		resp, err := p.once(ctx, t, method, rawURL, payload, what)
		if err == nil && resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		var wait time.Duration
		if err != nil {
			if method != http.MethodGet || ctx.Err() != nil {
				return nil, err
			}
			wait = p.backoff(try)
		} else {
			err = &StatusError{Request: what, Status: resp.status, Excerpt: excerpt(resp.body), Tries: try}
			retryable := resp.status == http.StatusTooManyRequests || resp.status == http.StatusServiceUnavailable ||
				(method == http.MethodGet && resp.status >= 500)
			if !retryable {
				return nil, err
			}
			var ok bool
			if wait, ok = platform.RetryAfter(resp.header.Get("Retry-After"), time.Now()); !ok {
				wait = p.backoff(try)
			}
		}
		if try > p.cfg.Retries {
			return nil, err
		}
		if waited+wait > p.cfg.RetryMaxWait {
			return nil, fmt.Errorf("%w; asked to wait %s more, past the %s a request may wait", err, wait, p.cfg.RetryMaxWait)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, fmt.Errorf("%w; asked to wait %s, past the attempt's deadline", err, wait)
		}
		waited += wait
		p.log.Info("metagov: trying again", "request", what, "wait", wait, "err", err)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

// once makes one request; a non-2xx answer is a response, not an error.
func (p *Performer) once(ctx context.Context, t target, method, rawURL string, payload []byte, what string) (*response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Metagov-Community", t.community)
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, scrub(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading Metagov's answer: %w", what, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("%s: Metagov's answer (%d) is larger than %d bytes", what, resp.StatusCode, maxBody)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data, what: what}, nil
}

// scrub returns err without the URL net/http puts in it, which is told by what already.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (p *Performer) backoff(try int) time.Duration {
	return p.cfg.RetryWait << min(try-1, 16)
}

// shown is a URL as errors and logs name it: its path under METAGOV_URL.
func (p *Performer) shown(rawURL string) string {
	if rest, ok := strings.CutPrefix(rawURL, p.base); ok && strings.HasPrefix(rest, "/") {
		return rest
	}
	return rawURL
}

// decode reads a JSON answer, numbers kept exact.
func decode(resp *response) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(resp.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: Metagov answered %d with a body that is not JSON: %s", resp.what, resp.status, excerpt(resp.body))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: Metagov answered %d with more than one JSON value: %s", resp.what, resp.status, excerpt(resp.body))
	}
	return v, nil
}

// object reads a JSON object answer (a process).
func object(resp *response) (map[string]any, error) {
	v, err := decode(resp)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: Metagov answered %d with JSON that is not an object: %s", resp.what, resp.status, excerpt(resp.body))
	}
	return m, nil
}

// excerpt is the start of body for an error message: valid UTF-8, whitespace folded.
func excerpt(body []byte) string {
	cut := len(body) > excerptLen
	if cut {
		body = body[:excerptLen]
		// A rune cut in two at the end is dropped rather than shown as "?".
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
