// Package loomio is the adapter of the "loomio" platform: policy code's loomio.initiate_vote
// starts a poll in the community's Loomio group and loomio.create_discussion a thread, over
// Loomio's bot API (/api/b2, with the API key of the Loomio user the connection names); the
// members' votes (stances) come back as the proposal's choice votes, and the poll's close
// closes the proposal's vote (bus.CloseVote), so that proposal.is_vote_closed turns true.
//
// A community connects its group with policykitaddintegration: platform "loomio", external
// id the group's id (or the setting "group_id"), the secret "api_key" (sealed), and, to be
// told of votes at once, the secret "webhook_secret": the group's webhook chatbot (format
// "markdown") then posts to /api/hooks/loomio/{community}/{webhook_secret}. A webhook event
// is only a hint: the poll it names is read from the API, and the votes are what Loomio
// answers, never what the event says. Polls are also read every Config.PollInterval until
// they close, in case a delivery was missed. Every webhook event also becomes a
// "webhooktriggeraction" (event_type "loomio.<kind>"), as the generic hook makes of events.
//
// Voters are the Loomio users who cast the stances, named by their Loomio user id (the
// username of the community user the engine registers, on platform "loomio"), so that a
// member's later stance replaces their vote and the engine's eligibility rules apply; the
// connection's "members" setting (SettingMembers) matches Loomio users to the community
// members they are elsewhere, so that their votes are those members' votes. The poll's
// outcome statement, when it has one as it closes, travels with the close and stays on the
// proposal (proposal.vote_outcome).
package loomio

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

// The loomio methods policy code calls (policy/platforms.go).
const (
	MethodInitiateVote     = bus.MethodInitiateVote
	MethodCreateDiscussion = "create_discussion"
)

// Connection secrets and settings.
const (
	SecretAPIKey     = "api_key"
	SecretWebhook    = "webhook_secret"
	SettingGroupID   = "group_id"
	defaultPollType  = "proposal"
	webhookPattern   = "POST /api/hooks/loomio/{community}/{secret}"
	maxWebhookBody   = 1 << 20
	webhookWorkers   = 8
	syncTimeout      = 30 * time.Second
	pollPathSegment  = "/p/"
	discussionPrefix = "/d/"
)

// PollTypes are the poll types Loomio's bot API creates.
var PollTypes = []string{"proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"}

// Deps are what an Adapter works with.
type Deps struct {
	// Directory gives each community's Loomio connection and its proposals' status (required).
	Directory platform.Directory
	// Box opens the connections' sealed api_key and webhook_secret.
	Box *sealed.Box
	// Ledger records each effect once (default: in memory).
	Ledger platform.Ledger
	// Store keeps the polls started (default: in memory).
	Store Store
	// Seen remembers the webhook events handled (default: in memory).
	Seen platform.Seen
	// Publisher publishes the votes, closes and trigger actions (required for them).
	Publisher platform.Publisher
	// Client makes the requests (default: one with Config.HTTPTimeout that follows no
	// redirects, which would carry the key elsewhere).
	Client *http.Client
	Log    *slog.Logger
	Now    func() time.Time
}

// Adapter performs the loomio platform's effects, serves its webhook and follows its open
// polls. It is safe for concurrent use.
type Adapter struct {
	cfg     Config
	base    string
	deps    Deps
	api     *client
	log     *slog.Logger
	workers *platform.Workers

	mu        sync.Mutex
	published map[string]bool // votes already published, by their message id
}

// New returns an Adapter of cfg's Loomio server.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	u, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if deps.Directory == nil {
		return nil, errors.New("loomio: no directory of the communities' connections")
	}
	if deps.Ledger == nil {
		deps.Ledger = platform.NewMemoryLedger()
	}
	if deps.Store == nil {
		deps.Store = &MemoryStore{}
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
	return &Adapter{cfg: cfg, base: u.String(), deps: deps, log: log,
		api:       &client{base: u.String(), http: hc, cfg: cfg, sleep: sleep},
		workers:   platform.NewWorkers(webhookWorkers, syncTimeout),
		published: map[string]bool{}}, nil
}

// Perform carries out one effect request of the loomio platform, once per idempotency key
// (platform.Once): initiate_vote creates a poll (POST /api/b2/polls) and answers its id and
// URL as the proposal's vote post; create_discussion creates a thread (POST
// /api/b2/discussions) and answers its id, key and URL. Any other method is refused without
// calling Loomio.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	switch req.Method {
	case MethodInitiateVote, MethodCreateDiscussion:
	default:
		return nil, fmt.Errorf("loomio cannot %s: its methods are %s and %s", req.Method, MethodInitiateVote, MethodCreateDiscussion)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{Attempt: a.cfg.EffectTimeout},
		func(ctx context.Context) (map[string]any, error) {
			if req.Method == MethodInitiateVote {
				return a.initiateVote(ctx, req)
			}
			return a.createDiscussion(ctx, req)
		})
	if err != nil {
		return nil, fmt.Errorf("loomio %s: %w", req.Method, err)
	}
	return res, nil
}

// target is a community's group on Loomio and the key its requests carry.
type target struct {
	group any // the group id: a number when it is one, as Loomio's examples send it
	key   string
}

func (a *Adapter) target(ctx context.Context, communityID string) (target, platform.Connection, error) {
	conn, err := platform.WaitFor(ctx, a.cfg.DirectoryWait, func(ctx context.Context) (platform.Connection, error) {
		return a.deps.Directory.Connection(ctx, communityID, domain.PlatformLoomio)
	})
	if err != nil {
		return target{}, conn, fmt.Errorf("community %s's Loomio connection: %w", communityID, err)
	}
	group := conn.Settings[SettingGroupID]
	if group == "" {
		group = conn.ExternalID
	}
	if group == "" {
		return target{}, conn, fmt.Errorf("community %s's Loomio connection names no group (setting %q or its external id)", communityID, SettingGroupID)
	}
	sealedKey := conn.Secrets[SecretAPIKey]
	if sealedKey == "" {
		return target{}, conn, fmt.Errorf("community %s's Loomio connection has no %s: connect the group with a Loomio user's API key", communityID, SecretAPIKey)
	}
	key, err := a.deps.Box.Open(communityID, domain.PlatformLoomio, SecretAPIKey, sealedKey)
	if err != nil {
		return target{}, conn, fmt.Errorf("community %s's Loomio %s: %w", communityID, SecretAPIKey, err)
	}
	t := target{group: group, key: key}
	if n, err := strconv.ParseInt(group, 10, 64); err == nil {
		t.group = n
	}
	return t, conn, nil
}

// reserved are arguments a policy may not set: the key is the connection's, and so is the
// group its polls go to.
var reserved = []string{"api_key", "group_id"}

func (a *Adapter) initiateVote(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("a poll is started for a proposal, and this request has none")
	}
	body := map[string]any{}
	for k, v := range req.Args {
		if !slices.Contains(reserved, k) && v != nil {
			body[k] = v
		}
	}
	title, _ := body["title"].(string)
	if strings.TrimSpace(title) == "" {
		return nil, errors.New("a poll needs a title")
	}
	pollType, _ := body["poll_type"].(string)
	if pollType == "" {
		pollType = defaultPollType
	}
	if !slices.Contains(PollTypes, pollType) {
		return nil, fmt.Errorf("poll_type %q is not one Loomio's API creates (%s)", pollType, strings.Join(PollTypes, ", "))
	}
	body["poll_type"] = pollType
	if opts, err := bus.DecodeArgs[struct {
		Options bus.Strings `json:"options"`
	}](req); err != nil {
		return nil, err
	} else if len(opts.Options) > 0 {
		body["options"] = []string(opts.Options)
	}
	t, _, err := a.target(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	if _, ok := body["discussion_id"]; !ok {
		body["group_id"] = t.group
	}
	var doc pollDoc
	if err := a.api.post(ctx, t.key, "/api/b2/polls", body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Polls) == 0 || doc.Polls[0].ID.String() == "" {
		return nil, errors.New("POST /api/b2/polls: Loomio answered no poll")
	}
	p := doc.Polls[0]
	poll := Poll{CommunityID: req.CommunityID, PollID: p.ID.String(), Key: p.Key, ProposalID: req.ProposalID, URL: a.base + pollPathSegment + p.Key}
	if p.Key == "" {
		poll.URL = a.base + pollPathSegment + p.ID.String()
	}
	// Kept before the effect completes: a poll the ledger says was made is always followed.
	if err := a.deps.Store.SavePoll(ctx, poll); err != nil {
		return nil, err
	}
	return bus.Answer(bus.VoteAnswer{PostID: poll.PollID, URL: poll.URL})
}

func (a *Adapter) createDiscussion(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	args, err := bus.DecodeArgs[struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Group       string `json:"group"`
	}](req)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(args.Title) == "" {
		return nil, errors.New("a discussion needs a title")
	}
	t, _, err := a.target(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	group := t.group
	if args.Group != "" {
		// A subgroup the key's user is in; Loomio refuses any other (403).
		group = args.Group
		if n, err := strconv.ParseInt(args.Group, 10, 64); err == nil {
			group = n
		}
	}
	body := map[string]any{"group_id": group, "title": args.Title}
	if args.Description != "" {
		body["description"] = args.Description
	}
	for _, k := range []string{"description_format", "recipient_audience", "recipient_user_ids", "recipient_emails", "recipient_message"} {
		if v, ok := req.Args[k]; ok && v != nil {
			body[k] = v
		}
	}
	var doc struct {
		Discussions []struct {
			ID  json.Number `json:"id"`
			Key string      `json:"key"`
		} `json:"discussions"`
	}
	if err := a.api.post(ctx, t.key, "/api/b2/discussions", body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Discussions) == 0 {
		return nil, errors.New("POST /api/b2/discussions: Loomio answered no discussion")
	}
	d := doc.Discussions[0]
	ref := d.Key
	if ref == "" {
		ref = d.ID.String()
	}
	return map[string]any{"id": d.ID.String(), "key": d.Key, "url": a.base + discussionPrefix + ref}, nil
}

// pollDoc is Loomio's answer about a poll: the poll and its records side-loaded by type.
type pollDoc struct {
	Polls []struct {
		ID       json.Number `json:"id"`
		Key      string      `json:"key"`
		PollType string      `json:"poll_type"`
		ClosedAt *string     `json:"closed_at"`
	} `json:"polls"`
	PollOptions []struct {
		ID       json.Number `json:"id"`
		Name     string      `json:"name"`
		Priority json.Number `json:"priority"`
	} `json:"poll_options"`
	Stances []struct {
		ID            json.Number `json:"id"`
		ParticipantID json.Number `json:"participant_id"`
		Latest        *bool       `json:"latest"`
		CastAt        *string     `json:"cast_at"`
		RevokedAt     *string     `json:"revoked_at"`
	} `json:"stances"`
	StanceChoices []struct {
		StanceID     json.Number `json:"stance_id"`
		PollOptionID json.Number `json:"poll_option_id"`
		Score        json.Number `json:"score"`
	} `json:"stance_choices"`
	Users []struct {
		ID       json.Number `json:"id"`
		Username string      `json:"username"`
	} `json:"users"`
	Outcomes []struct {
		ID              json.Number `json:"id"`
		Statement       string      `json:"statement"`
		StatementFormat string      `json:"statement_format"`
		PollOptionID    json.Number `json:"poll_option_id"`
		AuthorID        json.Number `json:"author_id"`
		CreatedAt       string      `json:"created_at"`
		Latest          *bool       `json:"latest"`
	} `json:"outcomes"`
}

// maxStatement bounds the outcome statement the close carries, within what a proposal keeps
// of a vote's outcome (domain.MaxVoteOutcomeBytes).
const maxStatement = 32 << 10

// outcome is the poll's outcome as the proposal keeps it: the latest outcome statement
// Loomio has for the poll ({"id", "statement", "statement_format", and when Loomio says
// them "poll_option" (the option the outcome names), "author_id", "created_at"}), nil when
// the poll has none.
func (d pollDoc) outcome() map[string]any {
	i := -1
	for j, o := range d.Outcomes {
		if o.Latest == nil || *o.Latest || i < 0 {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	o := d.Outcomes[i]
	statement := o.Statement
	if len(statement) > maxStatement {
		statement = strings.ToValidUTF8(statement[:maxStatement], "") + "…"
	}
	out := map[string]any{"id": o.ID.String(), "statement": statement, "statement_format": o.StatementFormat}
	if id := o.PollOptionID.String(); id != "" {
		for _, opt := range d.PollOptions {
			if opt.ID.String() == id {
				out["poll_option"] = opt.Name
			}
		}
	}
	if a := o.AuthorID.String(); a != "" {
		out["author_id"] = a
	}
	if o.CreatedAt != "" {
		out["created_at"] = o.CreatedAt
	}
	return out
}

// usernames are the side-loaded users' Loomio usernames, by user id.
func (d pollDoc) usernames() map[string]string {
	out := make(map[string]string, len(d.Users))
	for _, u := range d.Users {
		out[u.ID.String()] = u.Username
	}
	return out
}

// castVote is a member's current stance as the proposal's vote.
type castVote struct {
	stanceID string
	vote     domain.Vote
}

// votes reads the members' current stances: each latest, cast and not revoked stance is its
// member's choice of the option they gave the highest score (the option chosen in a
// proposal or a simple poll; the first-ranked in ranked choice; the most points in a dot
// vote or score poll), ties going to the option Loomio lists first.
func (d pollDoc) votes() []castVote {
	names := map[string]string{}
	order := map[string]int{}
	for i, o := range d.PollOptions {
		names[o.ID.String()] = o.Name
		order[o.ID.String()] = i
	}
	type best struct {
		option string
		score  float64
		order  int
	}
	top := map[string]best{}
	for _, c := range d.StanceChoices {
		name, ok := names[c.PollOptionID.String()]
		if !ok {
			continue
		}
		score, err := c.Score.Float64()
		if err != nil {
			score = 0
		}
		o := order[c.PollOptionID.String()]
		cur, seen := top[c.StanceID.String()]
		if !seen || score > cur.score || (score == cur.score && o < cur.order) {
			top[c.StanceID.String()] = best{option: name, score: score, order: o}
		}
	}
	var out []castVote
	for _, s := range d.Stances {
		if (s.Latest != nil && !*s.Latest) || s.RevokedAt != nil || s.CastAt == nil || s.ParticipantID.String() == "" {
			continue
		}
		b, ok := top[s.ID.String()]
		if !ok || b.option == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, *s.CastAt)
		if err != nil {
			at = time.Time{}
		}
		out = append(out, castVote{stanceID: s.ID.String(), vote: domain.Vote{Username: s.ParticipantID.String(),
			Kind: domain.VoteChoice, Choice: b.option, At: at.UTC()}})
	}
	return out
}

// Sync reads the poll from Loomio and tells the engine what changed: each member's current
// stance as a CastVote, and, once the poll is closed, a CloseVote carrying the final votes.
// Every publication has an id derived from the poll and the stance, so that reading a poll
// again (a webhook and the polling both) publishes nothing new.
func (a *Adapter) Sync(ctx context.Context, p Poll) error {
	if p.Closed {
		return nil
	}
	t, conn, err := a.target(ctx, p.CommunityID)
	if err != nil {
		return err
	}
	var doc pollDoc
	if err := a.api.get(ctx, t.key, "/api/b2/polls/"+p.PollID, &doc); err != nil {
		return err
	}
	if len(doc.Polls) == 0 {
		return fmt.Errorf("GET /api/b2/polls/%s: Loomio answered no poll", p.PollID)
	}
	votes, err := a.matchVoters(ctx, p, conn, doc)
	if err != nil {
		return err
	}
	if doc.Polls[0].ClosedAt != nil {
		cmd := bus.CloseVote{CommunityID: p.CommunityID, ProposalID: p.ProposalID, Platform: domain.PlatformLoomio,
			Outcome: doc.outcome()}
		for _, v := range votes {
			cmd.Votes = append(cmd.Votes, v.vote)
		}
		id := platform.EventID(domain.PlatformLoomio, "close", p.CommunityID, p.PollID)
		if err := a.deps.Publisher.Publish(ctx, bus.CommandTopic(bus.CommandCloseVote), id, bus.CommandCloseVote, cmd); err != nil {
			return err
		}
		return a.deps.Store.MarkClosed(ctx, p.CommunityID, p.PollID)
	}
	for _, v := range votes {
		id := platform.EventID(domain.PlatformLoomio, "vote", p.CommunityID, p.PollID, v.stanceID, v.vote.Choice)
		a.mu.Lock()
		done := a.published[id]
		a.mu.Unlock()
		if done {
			continue
		}
		cmd := bus.CastVote{CommunityID: p.CommunityID, ProposalID: p.ProposalID, Platform: domain.PlatformLoomio, Vote: v.vote}
		if err := a.deps.Publisher.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd); err != nil {
			return err
		}
		a.mu.Lock()
		a.published[id] = true
		a.mu.Unlock()
	}
	return nil
}

// matchVoters are the poll's current votes, their voters matched to community members by
// the connection's members setting (SettingMembers). A vote by a member the map names but
// the directory does not know yet is left for a later read.
func (a *Adapter) matchVoters(ctx context.Context, p Poll, conn platform.Connection, doc pollDoc) ([]castVote, error) {
	votes := doc.votes()
	m, err := parseMembers(conn.Settings[SettingMembers])
	if err != nil || len(m) == 0 {
		return votes, err
	}
	names := doc.usernames()
	out := votes[:0]
	for _, v := range votes {
		loomioID := v.vote.Username
		matched, ok, err := m.match(ctx, a.deps.Directory, p.CommunityID, v.vote, names[loomioID])
		if err != nil {
			return nil, err
		}
		if !ok {
			a.log.Warn("loomio: a voter's community member is not known yet; their vote waits", "community", p.CommunityID,
				"poll", p.PollID, "loomio_user", loomioID)
			continue
		}
		v.vote = matched
		out = append(out, v)
	}
	return out, nil
}

// SyncOpen reads every open poll once: the fallback for webhook deliveries that never came.
// A poll whose proposal is decided is no longer followed.
func (a *Adapter) SyncOpen(ctx context.Context) error {
	polls, err := a.deps.Store.OpenPolls(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range polls {
		status, err := a.deps.Directory.ProposalStatus(ctx, p.CommunityID, p.ProposalID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status == domain.StatusPassed || status == domain.StatusFailed {
			if err := a.deps.Store.MarkClosed(ctx, p.CommunityID, p.PollID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := a.Sync(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("poll %s of community %s: %w", p.PollID, p.CommunityID, err))
		}
	}
	return errors.Join(errs...)
}

// follow reads the open polls every Config.PollInterval until ctx ends.
func (a *Adapter) follow(ctx context.Context) {
	t := time.NewTicker(a.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, max(a.cfg.PollInterval, syncTimeout))
		if err := a.SyncOpen(sctx); err != nil && ctx.Err() == nil {
			a.log.Warn("loomio: reading the open polls", "err", err)
		}
		cancel()
	}
}

// webhookKinds are the events after which the poll they name is read again.
var webhookKinds = []string{"stance_created", "stance_updated", "poll_closed_by_user", "poll_expired",
	"poll_reopened", "poll_edited", "outcome_created", "outcome_updated"}

// ServeHTTP is the group's webhook: POST /api/hooks/loomio/{community}/{secret}. The secret
// in the path must be the connection's webhook_secret (Loomio signs nothing: the URL is the
// credential); otherwise 401 and nothing happens. The event becomes a webhooktriggeraction
// once however often it is delivered (its body's digest is its id, since Loomio's payload
// has none), and the poll it names, if the adapter started it, is read from the API after
// the answer.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, msg := a.serveWebhook(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": code < 300, "message": msg})
}

func (a *Adapter) serveWebhook(r *http.Request) (int, string) {
	communityID, secret := r.PathValue("community"), r.PathValue("secret")
	body, err := readBody(r)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxWebhookBody)
	}
	if err != nil {
		return http.StatusBadRequest, "the body could not be read"
	}
	ctx := r.Context()
	conn, err := platform.WaitFor(ctx, 2*time.Second, func(ctx context.Context) (platform.Connection, error) {
		return a.deps.Directory.Connection(ctx, communityID, domain.PlatformLoomio)
	})
	if errors.Is(err, platform.ErrUnknown) {
		return http.StatusNotFound, "no Loomio connection for this community"
	}
	if err != nil {
		a.log.Error("loomio webhook: the directory", "community", communityID, "err", err)
		return http.StatusServiceUnavailable, "try again later"
	}
	want, err := a.deps.Box.Open(communityID, domain.PlatformLoomio, SecretWebhook, conn.Secrets[SecretWebhook])
	if conn.Secrets[SecretWebhook] == "" || err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		a.log.Warn("loomio webhook refused: not the connection's webhook secret", "community", communityID)
		return http.StatusUnauthorized, "not this community's Loomio webhook"
	}
	var ev map[string]any
	if err := domain.DecodeJSON(body, &ev); err != nil {
		return http.StatusBadRequest, "the body is not a JSON object"
	}
	kind, _ := ev["kind"].(string)
	if kind == "" {
		return http.StatusBadRequest, "the event has no kind (set the chatbot's format to markdown)"
	}
	if err := a.trigger(ctx, communityID, kind, body, ev); err != nil {
		var bad badEvent
		if errors.As(err, &bad) {
			return http.StatusBadRequest, bad.Error()
		}
		a.log.Error("loomio webhook: publish", "community", communityID, "err", err)
		return http.StatusServiceUnavailable, "try again later"
	}
	if slices.Contains(webhookKinds, kind) {
		rawURL, _ := ev["url"].(string)
		if ref := pollRef(rawURL); ref != "" {
			a.syncLater(communityID, ref)
		}
	}
	return http.StatusOK, "ok"
}

type badEvent struct{ error }

// trigger publishes the event as a webhooktriggeraction, once per event.
func (a *Adapter) trigger(ctx context.Context, communityID, kind string, body []byte, ev map[string]any) error {
	eventID := "sha256:" + digest(body)
	if seen, err := a.deps.Seen.Seen(ctx, communityID, eventID); err != nil {
		return err
	} else if seen {
		return nil
	}
	id := platform.EventID(domain.PlatformLoomio, "hook", communityID, eventID)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindTrigger, Type: domain.ActionWebhookTrigger,
		Platform: domain.PlatformLoomio, ExternalID: eventID, ProposedAt: a.deps.Now().UTC(),
		Fields: map[string]any{"event_type": domain.PlatformLoomio + "." + kind, "data": ev},
	}}
	if err := cmd.Action.Validate(); err != nil {
		return badEvent{err}
	}
	if err := a.deps.Publisher.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd); err != nil {
		return err
	}
	_, err := a.deps.Seen.First(ctx, communityID, eventID)
	return err
}

// syncLater reads the poll ref names after the webhook's answer, if the adapter follows it;
// when every worker is busy the polling reads it later.
func (a *Adapter) syncLater(communityID, ref string) {
	err := a.workers.Go(func(ctx context.Context) {
		p, ok, err := a.deps.Store.PollByKey(ctx, communityID, ref)
		if err != nil {
			a.log.Warn("loomio webhook: the poll", "community", communityID, "poll", ref, "err", err)
			return
		}
		if !ok {
			return // a poll the adapter did not start: the trigger action is all there is
		}
		if err := a.Sync(ctx, p); err != nil {
			a.log.Warn("loomio webhook: reading the poll", "community", communityID, "poll", ref, "err", err)
		}
	})
	if err != nil {
		a.log.Info("loomio webhook: busy; the polling reads the poll later", "community", communityID, "poll", ref)
	}
}

// pollRef is the poll key (or id) in a Loomio URL (".../p/{key}[/slug][?...]"), "" for
// another URL.
func pollRef(rawURL string) string {
	_, rest, ok := strings.Cut(rawURL, pollPathSegment)
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end >= 0 {
		rest = rest[:end]
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return ""
		}
	}
	return rest
}

// Settle waits for the webhook work under way (tests).
func (a *Adapter) Settle() { a.workers.Wait() }
