// Package sourcecred is the adapter of the "sourcecred" platform: it answers policy code's
// sourcecred.get_cred(username, id) and get_grain(username, id) from the output a SourceCred
// instance publishes, output/accounts.json, read over HTTP from the community's instance and
// kept for a time-to-live. The engine records each answer in the log (AnswerRecorded), so a
// replay or an audit sees the value the policy saw, whatever the instance says later.
//
// A community connects SourceCred with the governed policykitaddintegration action, the
// setting "url" naming its instance's base URL (where output/accounts.json is published);
// SourceCred has no authentication. It is effect-only: no routes, events or votes.
package sourcecred

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// The methods policy code calls (policy/platforms.go).
const (
	MethodGetCred  = "get_cred"
	MethodGetGrain = "get_grain"
)

// SettingURL is the connection setting naming the instance's base URL.
const SettingURL = "url"

// AccountsPath is where an instance publishes its accounts, under its base URL.
const AccountsPath = "/output/accounts.json"

// Deps are what a Performer works with.
type Deps struct {
	// Directory gives each community's SourceCred connection (required).
	Directory platform.Directory
	// Ledger records each effect once (default: in memory).
	Ledger platform.Ledger
	// Client makes the requests (default: the guarded client of Config.AllowedHosts).
	Client *http.Client
	Log    *slog.Logger
	// Now is the clock of the cache (default time.Now).
	Now func() time.Time
}

// Performer answers the sourcecred platform's queries. It is safe for concurrent use.
type Performer struct {
	cfg    Config
	deps   Deps
	guard  platform.Outbound
	client *http.Client
	log    *slog.Logger

	mu    sync.Mutex
	cache map[string]*cached // by accounts.json URL
}

// cached is one instance's accounts as last read; loading is closed when a read under way
// ends, so that concurrent queries of one instance read it once.
type cached struct {
	loading chan struct{}
	at      time.Time
	data    *Accounts
	err     error
}

// New returns a Performer.
func New(cfg Config, deps Deps) (*Performer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if deps.Directory == nil {
		return nil, errors.New("sourcecred: no directory of the communities' connections")
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := platform.NewOutbound("SOURCECRED_ALLOWED_HOSTS", cfg.AllowedHosts)
	client := deps.Client
	if client == nil {
		client = g.Client(cfg.HTTPTimeout)
	}
	return &Performer{cfg: cfg, deps: deps, guard: g, client: client, log: log, cache: map[string]*cached{}}, nil
}

// Accounts is SourceCred's output/accounts.json (CredAccountData), the parts read here.
type Accounts struct {
	Accounts []CredAccount `json:"accounts"`
}

// CredAccount is one account's cred and grain. TotalCred is kept as SourceCred wrote it;
// Grain amounts are strings of attograin (10^-18 grain) integers, kept exact.
type CredAccount struct {
	TotalCred json.Number `json:"totalCred"`
	Account   struct {
		Identity struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Subtype string `json:"subtype"`
			Aliases []struct {
				Address     string `json:"address"`
				Description string `json:"description"`
			} `json:"aliases"`
		} `json:"identity"`
		Balance string `json:"balance"`
		Paid    string `json:"paid"`
		Active  bool   `json:"active"`
	} `json:"account"`
}

// lookupArgs are get_cred's and get_grain's arguments.
type lookupArgs struct {
	Username string `json:"username"`
	ID       string `json:"id"`
}

// Perform answers one query, once per idempotency key (platform.Once):
//
//   - get_cred(username, id): {"value": totalCred}, the account's total cred as a number;
//   - get_grain(username, id): {"value": balance}, its grain balance in attograin, an exact
//     integer (10^18 is one grain).
//
// The account is the one whose identity's name is username (compared without case, as
// SourceCred names are), or whose identity id is id, or one of whose aliases is the platform
// account id (the alias address's last part, as Metagov's SourceCred plugin reads it). An
// account not found fails the query, so that the policy sees None rather than a made-up zero.
func (p *Performer) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.Method != MethodGetCred && req.Method != MethodGetGrain {
		return nil, fmt.Errorf("sourcecred cannot %s: its methods are %s and %s", req.Method, MethodGetCred, MethodGetGrain)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, p.deps.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{Attempt: p.cfg.EffectTimeout},
		func(ctx context.Context) (map[string]any, error) { return p.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("sourcecred %s: %w", req.Method, err)
	}
	return res, nil
}

func (p *Performer) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	args, err := bus.DecodeArgs[lookupArgs](req)
	if err != nil {
		return nil, err
	}
	if args.Username == "" && args.ID == "" {
		return nil, errors.New("give a username or an id")
	}
	base, err := p.instance(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	data, err := p.accounts(ctx, base+AccountsPath)
	if err != nil {
		return nil, err
	}
	acct, ok := data.find(args.Username, args.ID)
	if !ok {
		who := args.Username
		if who == "" {
			who = "id " + args.ID
		}
		return nil, fmt.Errorf("%s has no account on the SourceCred instance %s", who, base)
	}
	if req.Method == MethodGetCred {
		if acct.TotalCred == "" {
			return nil, fmt.Errorf("the account of %s has no totalCred", acct.Account.Identity.Name)
		}
		return map[string]any{"value": acct.TotalCred}, nil
	}
	balance := strings.TrimSpace(acct.Account.Balance)
	if balance == "" {
		balance = "0"
	}
	if _, ok := new(big.Int).SetString(balance, 10); !ok {
		return nil, fmt.Errorf("the account of %s has a balance %q that is not an integer of attograin", acct.Account.Identity.Name, balance)
	}
	return map[string]any{"value": json.Number(balance)}, nil
}

// find looks an account up by username or id.
func (a *Accounts) find(username, id string) (*CredAccount, bool) {
	for i := range a.Accounts {
		acct := &a.Accounts[i]
		ident := acct.Account.Identity
		if username != "" && strings.EqualFold(ident.Name, username) {
			return acct, true
		}
		if id == "" {
			continue
		}
		if ident.ID == id {
			return acct, true
		}
		for _, al := range ident.Aliases {
			// A node address: parts separated by NUL and ending in one, the account's id on
			// its platform last ("N\x00sourcecred\x00discord\x00MEMBER\x00user\x00<id>\x00").
			parts := strings.Split(strings.TrimSuffix(al.Address, "\x00"), "\x00")
			if len(parts) > 1 && parts[len(parts)-1] == id {
				return acct, true
			}
		}
	}
	return nil, false
}

// instance returns the community's instance base URL, checked.
func (p *Performer) instance(ctx context.Context, communityID string) (string, error) {
	conn, err := platform.WaitFor(ctx, p.cfg.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return p.deps.Directory.Connection(ctx, communityID, domain.PlatformSourceCred)
	})
	if err != nil {
		return "", fmt.Errorf("community %s's SourceCred connection: %w", communityID, err)
	}
	raw := conn.Settings[SettingURL]
	if raw == "" {
		raw = conn.ExternalID
	}
	if raw == "" {
		return "", fmt.Errorf("community %s's SourceCred connection names no instance (setting %q)", communityID, SettingURL)
	}
	u, err := p.guard.Check(raw)
	if err != nil {
		return "", fmt.Errorf("community %s's SourceCred instance: %w", communityID, err)
	}
	return u.String(), nil
}

// accounts returns an instance's accounts, read at most once per CacheTTL: the first query
// after it expired reads it again, and queries made meanwhile wait for that read. A failed
// read is not kept.
func (p *Performer) accounts(ctx context.Context, u string) (*Accounts, error) {
	for {
		p.mu.Lock()
		c := p.cache[u]
		if c != nil {
			select {
			case <-c.loading:
				if c.err == nil && p.deps.Now().Sub(c.at) < p.cfg.CacheTTL {
					p.mu.Unlock()
					return c.data, nil
				}
				c = nil // expired or failed: read again
			default:
			}
		}
		if c == nil {
			c = &cached{loading: make(chan struct{})}
			p.cache[u] = c
			p.mu.Unlock()
			c.data, c.err = p.fetch(ctx, u)
			c.at = p.deps.Now()
			p.mu.Lock()
			if c.err != nil && p.cache[u] == c {
				delete(p.cache, u)
			}
			close(c.loading)
			p.mu.Unlock()
			return c.data, c.err
		}
		p.mu.Unlock()
		select {
		case <-c.loading:
			if c.err != nil {
				return nil, c.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fetch reads accounts.json, trying again while the host refuses it for now (429, 5xx, or
// no connection), after Retry-After or a doubling backoff: a GET changes nothing.
func (p *Performer) fetch(ctx context.Context, u string) (*Accounts, error) {
	var waited time.Duration
	for try := 1; ; try++ {
		data, wait, err := p.get(ctx, u)
		if err == nil {
			return data, nil
		}
		if wait < 0 || ctx.Err() != nil {
			return nil, err
		}
		if wait == 0 {
			wait = p.cfg.RetryWait << min(try-1, 16)
		}
		if try > p.cfg.Retries {
			return nil, fmt.Errorf("%w (tried %d times)", err, try)
		}
		if waited+wait > p.cfg.RetryMaxWait {
			return nil, fmt.Errorf("%w; asked to wait %s more, past the %s a read may wait", err, wait, p.cfg.RetryMaxWait)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, fmt.Errorf("%w; asked to wait %s, past the attempt's deadline", err, wait)
		}
		waited += wait
		p.log.Info("sourcecred: trying again", "url", u, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// get makes one read. wait is how long to wait before trying again: 0 for a backoff, a
// positive Retry-After, or -1 when trying again would not help.
func (p *Performer) get(ctx context.Context, u string) (*Accounts, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, platform.ErrNotPublic) {
			return nil, -1, fmt.Errorf("GET %s: %w", u, err)
		}
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		err := fmt.Errorf("GET %s: the instance answered %d %s: %s", u, resp.StatusCode, http.StatusText(resp.StatusCode),
			strings.Join(strings.Fields(strings.ToValidUTF8(string(excerpt), "?")), " "))
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return nil, -1, fmt.Errorf("%w (is output/accounts.json published? SourceCred writes it with `sourcecred analysis`)", err)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			wait, _ := platform.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
			return nil, wait, err
		}
		return nil, -1, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > p.cfg.MaxBytes {
		return nil, -1, fmt.Errorf("GET %s: accounts.json is larger than %d bytes", u, p.cfg.MaxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out Accounts
	if err := dec.Decode(&out); err != nil {
		return nil, -1, fmt.Errorf("GET %s: not SourceCred's accounts.json: %w", u, err)
	}
	return &out, 0, nil
}
