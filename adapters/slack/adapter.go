// Package slack is the Slack platform adapter. Its ingress (an http.Handler for
// POST /api/hooks/slack) verifies Slack's signed Events API and interactivity requests and
// publishes ProposeAction and CastVote commands; its Performer carries out the engine's
// effect requests for platform "slack" (posts, Block Kit votes, executes and reverts of
// governable Slack actions) through the Slack Web API, each once by idempotency key.
// It meets the engine only on the bus.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ErrUnknownWorkspace is returned (wrapped) for a Slack team no community is connected to.
var ErrUnknownWorkspace = errors.New("slack: unknown workspace")

// Directory maps Slack workspaces to communities and Slack members to community users.
type Directory interface {
	CommunityOfTeam(ctx context.Context, teamID string) (string, error)
	TeamOfCommunity(ctx context.Context, communityID string) (string, error)
	// UserID returns the community user id of a Slack member, "" when not registered.
	UserID(ctx context.Context, communityID, memberID string) (string, error)
}

var _ Directory = StaticDirectory{}

// StaticDirectory is a Directory from fixed maps (tests, demos).
type StaticDirectory struct {
	Teams map[string]string            // team id -> community id
	Users map[string]map[string]string // community id -> member id -> user id
}

func (d StaticDirectory) CommunityOfTeam(_ context.Context, teamID string) (string, error) {
	if c, ok := d.Teams[teamID]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%w: team %q", ErrUnknownWorkspace, teamID)
}

func (d StaticDirectory) TeamOfCommunity(_ context.Context, communityID string) (string, error) {
	for t, c := range d.Teams {
		if c == communityID {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: community %q", ErrUnknownWorkspace, communityID)
}

func (d StaticDirectory) UserID(_ context.Context, communityID, memberID string) (string, error) {
	return d.Users[communityID][memberID], nil
}

// Proposals says how the proposals the adapter's votes are about stand, so that a click on a
// decided one's buttons is answered at once instead of being sent to the engine to refuse.
type Proposals interface {
	// Status returns the proposal's status (domain.StatusProposed, StatusPassed or
	// StatusFailed), "" when it is not known (yet).
	Status(ctx context.Context, communityID, proposalID string) (string, error)
}

// StaticProposals is Proposals from a fixed map, proposal id -> status (tests, demos).
type StaticProposals map[string]string

func (s StaticProposals) Status(_ context.Context, _, proposalID string) (string, error) {
	return s[proposalID], nil
}

// Deps are the adapter's collaborators.
type Deps struct {
	// Publisher receives the commands (bus.Bus.Publisher()). Required.
	Publisher message.Publisher
	// Tokens holds each workspace's bot token. Required.
	Tokens TokenStore
	// Directory maps teams to communities (members are named by id on the bus; the engine
	// maps them to users). Required.
	Directory Directory
	// Proposals tells decided proposals from open ones (optional: without it every click is
	// sent, and the engine refuses those on decided proposals).
	Proposals Proposals
	// State is the adapter's memory of votes and channels (default: NewMemoryState()).
	State State
	// Ledger records the effects performed, each once (default: platform.NewMemoryLedger()).
	Ledger platform.Ledger
	// Seen records the events handled (default: a platform.MemorySeen).
	Seen   platform.Seen
	Logger *slog.Logger
	// Now is the clock of votes (default time.Now).
	Now func() time.Time
}

// Adapter is the Slack adapter: ServeHTTP is the ingress, Perform the effects. Safe for
// concurrent use. Close waits for the events being handled.
type Adapter struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	state State

	workers *platform.Workers
	publish platform.Publisher

	mu       sync.Mutex
	clients  map[string]*slack.Client // by token
	botUsers map[string]string        // team id -> our bot's user id

	channelSyncs map[string]*channelSync // team id -> its conversations.list
}

var _ effects.Performer = (*Adapter)(nil)

// New returns an adapter; cfg gets its defaults and is validated.
func New(cfg Config, deps Deps) (*Adapter, error) {
	cfg = cfg.WithDefaults()
	errs := []error{cfg.Validate()}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("slack: Deps.Publisher is nil"))
	}
	if deps.Tokens == nil {
		errs = append(errs, errors.New("slack: Deps.Tokens is nil"))
	}
	if deps.Directory == nil {
		errs = append(errs, errors.New("slack: Deps.Directory is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.State == nil {
		deps.State = NewMemoryState()
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.Seen == nil {
		deps.Seen = &platform.MemorySeen{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Adapter{
		cfg: cfg, deps: deps, log: deps.Logger, state: deps.State,
		workers: platform.NewWorkers(cfg.Workers, cfg.WorkTimeout),
		publish: platform.Publisher{Publisher: deps.Publisher, Attempts: publishAttempts, Backoff: publishBackoff},
		clients: map[string]*slack.Client{}, botUsers: map[string]string{}, channelSyncs: map[string]*channelSync{},
	}, nil
}

// Run performs the engine's effect requests for platform "slack" from b until ctx ends
// (consumer group "adapter-slack"). ready, if not nil, is closed once subscribed. It also
// starts learning, in the background, the channel names of the workspaces whose bot tokens
// are stored (see channels.go).
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	a.syncStoredTeams()
	return effects.Run(ctx, b, "slack", []string{domain.PlatformSlack}, a, a.log, ready)
}

// Tokens is the adapter's store of bot tokens (the install flow saves into it).
func (a *Adapter) Tokens() TokenStore { return a.deps.Tokens }

// Close stops accepting background work and waits for the events being handled.
func (a *Adapter) Close() error {
	a.workers.Close()
	return nil
}

// client returns the Web API client of a team's bot.
func (a *Adapter) client(ctx context.Context, teamID string) (*slack.Client, error) {
	token, err := a.deps.Tokens.BotToken(ctx, teamID)
	if err != nil {
		return nil, err
	}
	return a.clientOf(token), nil
}

// userClient returns the Web API client of the member who installed the app in the team;
// nil, nil when no user token is stored.
func (a *Adapter) userClient(ctx context.Context, teamID string) (*slack.Client, error) {
	token, err := a.deps.Tokens.UserToken(ctx, teamID)
	if errors.Is(err, ErrNoToken) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return a.clientOf(token), nil
}

func (a *Adapter) clientOf(token string) *slack.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.clients[token]
	if !ok {
		c = slack.New(token, slack.OptionAPIURL(a.cfg.APIURL))
		a.clients[token] = c
	}
	return c
}

// botUser returns our bot's member id in the team ("" when auth.test fails).
func (a *Adapter) botUser(ctx context.Context, teamID string, c *slack.Client) string {
	a.mu.Lock()
	id, ok := a.botUsers[teamID]
	a.mu.Unlock()
	if ok {
		return id
	}
	var resp *slack.AuthTestResponse
	err := a.retry(ctx, func() (err error) { resp, err = c.AuthTestContext(ctx); return err })
	if err != nil {
		a.log.Warn("slack auth.test failed", "team", teamID, "err", err)
		return ""
	}
	a.mu.Lock()
	a.botUsers[teamID] = resp.UserID
	a.mu.Unlock()
	return resp.UserID
}

// retry runs call, waiting out Slack's rate limit (429 with Retry-After) up to
// cfg.RateLimitRetries times and cfg.RateLimitMaxWait in all. A wait that would go past
// either bound, or past ctx's deadline, is not started: the rate limit error is returned at
// once, since the call could not be retried in time anyway and the caller's bus message or
// Slack delivery would be redelivered behind its back.
func (a *Adapter) retry(ctx context.Context, call func() error) error {
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		err := call()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt >= a.cfg.RateLimitRetries {
			return err
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		if waited+wait > a.cfg.RateLimitMaxWait {
			return fmt.Errorf("rate limited: waited %s of at most %s, asked to wait %s more: %w", waited, a.cfg.RateLimitMaxWait, wait, err)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return fmt.Errorf("rate limited: asked to wait %s, past the deadline: %w", wait, err)
		}
		waited += wait
		a.log.Info("slack rate limited; waiting", "retry_after", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
