// Package discord is the Discord platform adapter. Its interactions endpoint (an
// http.Handler for POST /api/hooks/discord) checks Discord's Ed25519 signatures, answers
// PING, turns the /policykit slash command into PolicyKit's discordslashcommand trigger
// action and a click on a vote button into a CastVote; its Gateway connection turns guild
// messages and channel changes into governable actions; its Performer carries out the
// engine's effect requests for platform "discord" through Discord's REST API v10, each once
// by idempotency key. It meets the engine only on the bus.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/bwmarrin/discordgo"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ErrUnknownGuild is returned (wrapped) for a guild no community is connected to.
var ErrUnknownGuild = errors.New("discord: unknown guild")

// Deps are the adapter's collaborators.
type Deps struct {
	// Publisher receives the commands (bus.Bus.Publisher()). Required.
	Publisher message.Publisher
	// Directory maps guilds to communities and tells decided proposals. Required.
	Directory platform.Directory
	// DirectoryWait is how long a lookup of a guild waits for the directory to learn it.
	DirectoryWait time.Duration
	// State is the adapter's memory of votes and its own changes (default in memory).
	State State
	// Ledger records the effects performed, each once (default in memory).
	Ledger platform.Ledger
	// Seen records the events handled (default in memory).
	Seen   platform.Seen
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Adapter is the Discord adapter: ServeHTTP is the interactions endpoint, Perform the
// effects, RunGateway the Gateway connection. Safe for concurrent use.
type Adapter struct {
	sec       Section
	deps      Deps
	log       *slog.Logger
	state     State
	publicKey []byte
	rest      *discordgo.Session

	workers *platform.Workers
	publish platform.Publisher

	mu       sync.Mutex
	gateway  *discordgo.Session
	names    map[string]string // channel id -> its last name seen on the Gateway
	botUser  string            // our bot's user id, from READY
	commands map[string]bool   // guilds whose /policykit command is registered
}

var _ effects.Performer = (*Adapter)(nil)

// New returns an adapter for sec (with its defaults). It points discordgo at sec.APIURL:
// process-wide (see useAPI).
func New(sec Section, deps Deps) (*Adapter, error) {
	sec = sec.WithDefaults()
	errs := []error{sec.Validate()}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("discord: Deps.Publisher is nil"))
	}
	if deps.Directory == nil {
		errs = append(errs, errors.New("discord: Deps.Directory is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	key, _ := sec.publicKey()
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
	useAPI(sec.APIURL)
	rest, err := discordgo.New("Bot " + sec.BotToken)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	// 429s are waited out by retry, within the effect's attempt; discordgo's own wait knows
	// no deadline.
	rest.ShouldRetryOnRateLimit = false
	rest.Client = &http.Client{Timeout: sec.EffectTimeout}
	return &Adapter{
		sec: sec, deps: deps, log: deps.Logger, state: deps.State, publicKey: key, rest: rest,
		workers:  platform.NewWorkers(sec.Workers, sec.WorkTimeout),
		publish:  platform.Publisher{Publisher: deps.Publisher, Attempts: 3, Backoff: 100 * time.Millisecond},
		names:    map[string]string{},
		commands: map[string]bool{},
	}, nil
}

// Run performs the engine's effect requests for platform "discord" from b (consumer group
// "adapter-discord"), shows the result on the vote messages of decided proposals, and, with
// Section.Gateway, keeps the Gateway connection, until ctx ends. ready, if not nil, is
// closed once the effect requests are subscribed.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.sec.GuildID != "" {
		a.workers.Background(func(ctx context.Context) {
			if err := a.RegisterCommand(ctx, a.sec.GuildID); err != nil {
				a.log.Error("discord: the /policykit command is not registered", "guild", a.sec.GuildID, "err", err)
			}
		})
	}
	errc := make(chan error, 3)
	n := 2
	go func() {
		errc <- effects.Run(ctx, b, domain.PlatformDiscord, []string{domain.PlatformDiscord}, a, a.log, ready)
	}()
	go func() { errc <- a.runVoteResults(ctx, b) }()
	if a.sec.Gateway {
		n++
		go func() { errc <- a.RunGateway(ctx) }()
	}
	var first error
	for i := range n {
		err := <-errc
		if i == 0 {
			first = err
			cancel()
		}
	}
	if errors.Is(first, context.Canceled) {
		return nil
	}
	return first
}

// Close stops accepting background work and waits for what is under way.
func (a *Adapter) Close() error {
	a.workers.Close()
	return nil
}

// community returns the community of a guild, waiting a moment for the directory to learn
// a guild installed just now.
func (a *Adapter) community(ctx context.Context, guildID string) (string, error) {
	id, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (string, error) {
		return a.deps.Directory.Community(ctx, domain.PlatformDiscord, guildID)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return "", fmt.Errorf("%w: %s: %w", ErrUnknownGuild, guildID, err)
	}
	return id, err
}

// guild returns the guild of a community.
func (a *Adapter) guild(ctx context.Context, communityID string) (string, error) {
	id, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (string, error) {
		return a.deps.Directory.ExternalID(ctx, communityID, domain.PlatformDiscord)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return "", fmt.Errorf("%w: community %s: %w", ErrUnknownGuild, communityID, err)
	}
	return id, err
}

// retry runs call, waiting out Discord's rate limit (429 with retry_after, of a route or
// global) up to RateLimitRetries times and RateLimitMaxWait in all. A wait that would go
// past either bound or ctx's deadline is not started: the error is returned, the effect's
// claim released, and the bus's redelivery tries again. A call answered 429 did nothing, so
// retrying it repeats no effect.
func (a *Adapter) retry(ctx context.Context, call func() error) error {
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		err := call()
		var rl *discordgo.RateLimitError
		if !errors.As(err, &rl) || attempt >= a.sec.RateLimitRetries {
			return err
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		if waited+wait > a.sec.RateLimitMaxWait {
			return fmt.Errorf("rate limited: waited %s of at most %s, asked to wait %s more: %w", waited, a.sec.RateLimitMaxWait, wait, err)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return fmt.Errorf("rate limited: asked to wait %s, past the deadline: %w", wait, err)
		}
		waited += wait
		a.log.Info("discord rate limited; waiting", "retry_after", wait, "url", rl.URL)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RegisterCommand registers the /policykit slash command in a guild (once per process):
// "/policykit <value>", whose text becomes the discordslashcommand action's value.
func (a *Adapter) RegisterCommand(ctx context.Context, guildID string) error {
	a.mu.Lock()
	done := a.commands[guildID]
	a.mu.Unlock()
	if done {
		return nil
	}
	cmd := []*discordgo.ApplicationCommand{{
		Name: slashCommand, Description: "Propose something to your community's PolicyKit policies",
		Type: discordgo.ChatApplicationCommand,
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: "value", Description: "what to propose (e.g. vote should we meet on Friday?)",
		}},
	}}
	err := a.retry(ctx, func() error {
		_, err := a.rest.ApplicationCommandBulkOverwrite(a.sec.ApplicationID, guildID, cmd, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return fmt.Errorf("discord: register /%s in guild %s: %w", slashCommand, guildID, err)
	}
	a.mu.Lock()
	a.commands[guildID] = true
	a.mu.Unlock()
	return nil
}

// slashCommand is the name of the command PolicyKit registers.
const slashCommand = "policykit"
