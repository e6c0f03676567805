// Package opencollective is the adapter of the "opencollective" platform, on Open
// Collective's GraphQL API v2:
//
//   - Connecting a collective (the governed policykitaddintegration with platform
//     "opencollective", external_id the collective's slug, a sealed secret "api_token", a
//     personal token, or "access_token", an OAuth token) registers the adapter's webhooks
//     for the collective's expense activities (createWebhook), at
//     {POLICYKIT_BASE_URL}/api/hooks/opencollective/{community}/{secret}; disconnecting
//     removes them (deleteWebhook). The secret is derived from OPENCOLLECTIVE_WEBHOOK_KEY and
//     the connection, so each connection has its own and none is stored.
//   - An expense activity delivered there (created, approved, rejected, deleted,
//     unapproved, paid) becomes the trigger action expensecreated, expenseapproved ... with
//     the expense as the API tells it: the body only says which expense to read, so a
//     forged delivery cannot make up an expense or its state.
//   - opencollective.post_message(text, expense_id) comments on an expense, and
//     opencollective.process_expense(action, expense_id) approves, rejects ... it, each once
//     (platform.Once with the kit's ledger).
package opencollective

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

// The opencollective methods policy code calls (policy/platforms.go).
const (
	MethodPostMessage    = bus.MethodPostMessage
	MethodProcessExpense = "process_expense"
)

// The connection secrets a community's requests authenticate with: a personal token
// (sent as Personal-Token) or an OAuth access token (Authorization: Bearer).
const (
	SecretAPIToken    = "api_token"
	SecretAccessToken = "access_token"
)

// Deps are what the adapter works with.
type Deps struct {
	// Directory gives each community's Open Collective connection (required).
	Directory platform.Directory
	// Box opens the connections' sealed tokens (nil: every request fails).
	Box *sealed.Box
	// Ledger records each effect, each webhook created and deleted, once (default: memory).
	Ledger platform.Ledger
	// State keeps the webhooks registered for each connection (default: memory).
	State State
	// Seen remembers the activities handled (default: memory).
	Seen platform.Seen
	// Publisher publishes the trigger actions (required for the webhook route).
	Publisher platform.Publisher
	// BaseURL is the site's public base URL, without a trailing "/": the webhooks point
	// there (required).
	BaseURL string
	// Client makes the API requests (default: one with Config.HTTPTimeout that follows no
	// redirects, which would carry the token elsewhere).
	Client *http.Client
	Log    *slog.Logger
	Now    func() time.Time
}

// Adapter is the Open Collective adapter: effects, the webhook route, and the
// registration of webhooks when a collective is connected. Safe for concurrent use.
type Adapter struct {
	cfg  Config
	deps Deps
	api  *client
	log  *slog.Logger
	key  []byte
}

var _ platform.Adapter = (*Adapter)(nil)

// New returns the adapter of cfg.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if deps.Directory == nil {
		return nil, errors.New("opencollective: no directory of the communities' connections")
	}
	if deps.BaseURL == "" {
		return nil, errors.New("opencollective: no base URL for the webhooks (POLICYKIT_BASE_URL)")
	}
	deps.BaseURL = strings.TrimRight(deps.BaseURL, "/")
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.State == nil {
		deps.State = &MemoryState{}
	}
	if deps.Seen == nil {
		deps.Seen = &platform.MemorySeen{}
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := deps.Client
	if hc == nil {
		hc = &http.Client{Timeout: cfg.HTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Adapter{cfg: cfg, deps: deps, log: log, key: []byte(cfg.WebhookKey),
		api: &client{endpoint: cfg.APIURL, http: hc, cfg: cfg, log: log}}, nil
}

// Name is "opencollective".
func (a *Adapter) Name() string { return domain.PlatformOpenCollective }

// target is a community's collective and how to authenticate for it.
type target struct {
	collective string
	cred       credential
}

// connection returns the community's connection, waiting a moment for one just made.
func (a *Adapter) connection(ctx context.Context, communityID string) (platform.Connection, error) {
	return platform.WaitFor(ctx, a.cfg.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return a.deps.Directory.Connection(ctx, communityID, domain.PlatformOpenCollective)
	})
}

func (a *Adapter) target(ctx context.Context, communityID string) (target, error) {
	conn, err := a.connection(ctx, communityID)
	if err != nil {
		return target{}, fmt.Errorf("community %s's Open Collective connection: %w", communityID, err)
	}
	return a.targetOf(communityID, conn.ExternalID, conn.Secrets)
}

// targetOf opens a connection's token.
func (a *Adapter) targetOf(communityID, collective string, secrets map[string]string) (target, error) {
	if collective == "" {
		return target{}, fmt.Errorf("community %s's Open Collective connection names no collective (its external id is the collective's slug)", communityID)
	}
	name, header := SecretAPIToken, "Personal-Token"
	sealedToken := secrets[name]
	if sealedToken == "" {
		name, header = SecretAccessToken, "Authorization"
		sealedToken = secrets[name]
	}
	if sealedToken == "" {
		return target{}, fmt.Errorf("community %s's Open Collective connection has no %s (a personal token) or %s", communityID, SecretAPIToken, SecretAccessToken)
	}
	token, err := a.deps.Box.Open(communityID, domain.PlatformOpenCollective, name, sealedToken)
	if err != nil {
		return target{}, fmt.Errorf("community %s's Open Collective %s: %w", communityID, name, err)
	}
	return target{collective: collective, cred: credential{header: header, value: token}}, nil
}

// Perform carries out one effect request of the opencollective platform, once per
// idempotency key:
//
//   - post_message(text, expense_id): createComment on the expense; answers
//     {"comment_id", "expense_id"}.
//   - process_expense(action, expense_id): reads the expense, then processExpense with the
//     action unless the expense is in the action's outcome already; answers {"expense_id",
//     "action", "status"}. An expense in a state the action does not apply to (rejected
//     before it is approved) fails the effect without asking the API to process it.
//
// A failure is not recorded, so a redelivery tries again; the engine records it as the
// effect's failure.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	var perform func(context.Context) (map[string]any, error)
	switch req.Method {
	case MethodPostMessage:
		args, err := bus.DecodeArgs[commentArgs](req)
		if err != nil {
			return nil, fmt.Errorf("opencollective post_message: %w", err)
		}
		perform = func(ctx context.Context) (map[string]any, error) { return a.postMessage(ctx, req.CommunityID, args) }
	case MethodProcessExpense:
		args, err := bus.DecodeArgs[processArgs](req)
		if err != nil {
			return nil, fmt.Errorf("opencollective process_expense: %w", err)
		}
		perform = func(ctx context.Context) (map[string]any, error) { return a.processExpense(ctx, req.CommunityID, args) }
	default:
		return nil, fmt.Errorf("opencollective cannot %s: its methods are %s and %s", req.Method, MethodPostMessage, MethodProcessExpense)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{Attempt: a.cfg.EffectTimeout}, perform)
	if err != nil {
		return nil, fmt.Errorf("opencollective %s: %w", req.Method, err)
	}
	return res, nil
}

type commentArgs struct {
	Text      string `json:"text"`
	ExpenseID string `json:"expense_id"`
}

type processArgs struct {
	Action    string `json:"action"`
	ExpenseID string `json:"expense_id"`
}

func (a *Adapter) postMessage(ctx context.Context, communityID string, args commentArgs) (map[string]any, error) {
	if strings.TrimSpace(args.Text) == "" {
		return nil, errors.New("no text to post")
	}
	ref, err := expenseRef(args.ExpenseID)
	if err != nil {
		return nil, err
	}
	t, err := a.target(ctx, communityID)
	if err != nil {
		return nil, err
	}
	// A comment is not repeated after an answer that leaves it unknown whether it was
	// made: two comments would be worse than the policy's failure.
	id, err := a.api.createComment(ctx, t.cred, ref, args.Text)
	if err != nil {
		return nil, err
	}
	return map[string]any{"comment_id": id, "expense_id": args.ExpenseID}, nil
}

// transition is what an action of processExpense does: the states it applies to, and the
// state it leaves the expense in.
type transition struct {
	from []string
	to   string
}

// transitions are the ExpenseProcessAction values policies may ask (policy/platforms.go).
var transitions = map[string]transition{
	"APPROVE":              {from: []string{"PENDING", "INCOMPLETE"}, to: "APPROVED"},
	"UNAPPROVE":            {from: []string{"APPROVED", "ERROR"}, to: "PENDING"},
	"REJECT":               {from: []string{"PENDING", "APPROVED", "INCOMPLETE", "UNVERIFIED"}, to: "REJECTED"},
	"PAY":                  {from: []string{"APPROVED", "SCHEDULED_FOR_PAYMENT", "ERROR"}, to: "PAID"},
	"MARK_AS_UNPAID":       {from: []string{"PAID"}, to: "APPROVED"},
	"SCHEDULE_FOR_PAYMENT": {from: []string{"APPROVED"}, to: "SCHEDULED_FOR_PAYMENT"},
	"MARK_AS_SPAM":         {from: []string{"PENDING", "APPROVED", "REJECTED", "INCOMPLETE", "UNVERIFIED"}, to: "SPAM"},
}

// ErrStateChanged is the failure of a process_expense whose expense is in a state the
// action does not apply to (it changed since the policy looked).
var ErrStateChanged = errors.New("the expense is not in a state the action applies to")

func (a *Adapter) processExpense(ctx context.Context, communityID string, args processArgs) (map[string]any, error) {
	action := strings.ToUpper(strings.TrimSpace(args.Action))
	tr, ok := transitions[action]
	if !ok {
		names := make([]string, 0, len(transitions))
		for k := range transitions {
			names = append(names, k)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("%q is not an expense action (%s)", args.Action, strings.Join(names, ", "))
	}
	ref, err := expenseRef(args.ExpenseID)
	if err != nil {
		return nil, err
	}
	t, err := a.target(ctx, communityID)
	if err != nil {
		return nil, err
	}
	answer := func(e *Expense, already bool) map[string]any {
		return map[string]any{"expense_id": args.ExpenseID, "action": action, "status": e.Status, "already": already}
	}
	// Each round reads the expense first: after an answer that left it unknown whether the
	// last try was carried out, the expense's state tells, so the action is carried out once.
	var lastErr error
	for round := 0; round <= a.cfg.Retries; round++ {
		e, err := a.api.expense(ctx, t.cred, ref)
		if err != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("%w (and reading the expense after it: %w)", lastErr, err)
			}
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("expense %s: Open Collective has no such expense (deleted?)", args.ExpenseID)
		}
		if acc := e.Account.slug(); acc != "" && !strings.EqualFold(acc, t.collective) {
			return nil, fmt.Errorf("expense %s is %s's, not the connected collective %s's", args.ExpenseID, acc, t.collective)
		}
		if e.Status == tr.to {
			return answer(e, lastErr == nil), nil
		}
		if !slices.Contains(tr.from, e.Status) {
			return nil, fmt.Errorf("%s expense %s: it is %s now: %w", action, args.ExpenseID, e.Status, ErrStateChanged)
		}
		done, err := a.api.processExpense(ctx, t.cred, ref, action)
		if err == nil {
			return answer(done, false), nil
		}
		if !ambiguous(err) {
			return nil, err
		}
		lastErr = err
		a.log.Warn("opencollective: processExpense answered nothing certain; reading the expense again", "expense", args.ExpenseID, "action", action, "err", err)
		if err := sleep(ctx, a.api.backoff(round+1)); err != nil {
			return nil, fmt.Errorf("%w (then %w)", lastErr, err)
		}
	}
	return nil, lastErr
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
