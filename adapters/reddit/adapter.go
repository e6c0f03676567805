// Package reddit is the Reddit platform adapter. A subreddit is installed through Reddit's
// OAuth2 (a moderator's account, its refresh token kept encrypted); the adapter polls the
// subreddit's new posts with a durable cursor and proposes each as a governable
// redditmakepost (revert removes it, execute approves it); its Performer carries out the
// engine's effect requests for platform "reddit", each once by idempotency key; votes are
// "+1"/"-1" replies to the adapter's vote comment, read by the same polling. Reddit's rate
// limits (X-Ratelimit-* headers, 429) are honoured. It meets the engine only on the bus.
package reddit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/effects"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// ErrNotConnected is returned (wrapped) for a subreddit or community not installed.
var ErrNotConnected = errors.New("reddit: not connected")

// Deps are the adapter's collaborators.
type Deps struct {
	Publisher message.Publisher  // required
	Directory platform.Directory // required
	Secrets   platform.Secrets   // install tokens (default in memory)
	State     State              // cursors and votes (default in memory)
	Ledger    platform.Ledger    // effects performed (default in memory)
	Seen      platform.Seen      // posts proposed (default in memory)
	Logger    *slog.Logger
	Now       func() time.Time
	Transport http.RoundTripper
	// DirectoryWait is how long a lookup waits for the directory to learn a community.
	DirectoryWait time.Duration
}

// Adapter is the Reddit adapter. Safe for concurrent use.
type Adapter struct {
	sec     Section
	deps    Deps
	log     *slog.Logger
	state   State
	publish platform.Publisher

	mu           sync.Mutex
	clients      map[string]*http.Client
	limitedUntil time.Time
}

var _ effects.Performer = (*Adapter)(nil)

// New returns an adapter for sec (with its defaults).
func New(sec Section, deps Deps) (*Adapter, error) {
	sec = sec.WithDefaults()
	errs := []error{sec.Validate()}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("reddit: Deps.Publisher is nil"))
	}
	if deps.Directory == nil {
		errs = append(errs, errors.New("reddit: Deps.Directory is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if deps.Secrets == nil {
		deps.Secrets = &platform.MemorySecrets{}
	}
	if deps.State == nil {
		deps.State = &MemoryState{}
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
	if deps.Transport == nil {
		deps.Transport = http.DefaultTransport
	}
	return &Adapter{sec: sec, deps: deps, log: deps.Logger, state: deps.State, clients: map[string]*http.Client{},
		publish: platform.Publisher{Publisher: deps.Publisher, Attempts: 3, Backoff: 100 * time.Millisecond}}, nil
}

// Run performs the effect requests for platform "reddit" from b and polls every
// PollInterval, until ctx ends.
func (a *Adapter) Run(ctx context.Context, b *bus.Bus, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(a.sec.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.Poll(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("reddit: polling", "err", err)
				}
			}
		}
	}()
	err := effects.Run(ctx, b, domain.PlatformReddit, []string{domain.PlatformReddit}, a, a.log, ready)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close has nothing of its own to stop: Run's polling ends with its context.
func (a *Adapter) Close() error { return nil }

// Poll reads every installed subreddit's new posts, then the replies to the open vote
// comments. One subreddit's failure does not stop the others.
func (a *Adapter) Poll(ctx context.Context) error {
	names, err := a.deps.Secrets.Names(ctx, "token:")
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		sub := strings.TrimPrefix(n, "token:")
		if err := a.pollPosts(ctx, sub); err != nil {
			errs = append(errs, fmt.Errorf("r/%s: %w", sub, err))
		}
	}
	errs = append(errs, a.PollVotes(ctx))
	return errors.Join(errs...)
}

type listing struct {
	Data struct {
		Children []struct {
			Kind string    `json:"kind"`
			Data thingData `json:"data"`
		} `json:"children"`
	} `json:"data"`
}

type thingData struct {
	Name       string  `json:"name"`
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Selftext   string  `json:"selftext"`
	Body       string  `json:"body"`
	Author     string  `json:"author"`
	Subreddit  string  `json:"subreddit"`
	Permalink  string  `json:"permalink"`
	URL        string  `json:"url"`
	CreatedUTC float64 `json:"created_utc"`
	Replies    any     `json:"replies"`
}

// pollPosts proposes the posts newer than the subreddit's cursor (GET /r/{sub}/new with
// before=cursor), oldest first, and moves the cursor past each one proposed. The first poll
// of a subreddit only sets its cursor: what was posted before the install is not governed.
// Posts by the installing account, whose token the adapter acts with, are its own.
func (a *Adapter) pollPosts(ctx context.Context, sub string) error {
	cursor, err := a.state.Cursor(ctx, sub)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {"100"}, "raw_json": {"1"}}
	if cursor != "" {
		q.Set("before", cursor)
	}
	var l listing
	if err := a.call(ctx, sub, http.MethodGet, "r/"+url.PathEscape(sub)+"/new?"+q.Encode(), nil, &l); err != nil {
		return err
	}
	posts := l.Data.Children
	if len(posts) == 0 {
		return nil
	}
	if cursor == "" {
		return a.state.SetCursor(ctx, sub, posts[0].Data.Name)
	}
	communityID, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (string, error) {
		return a.deps.Directory.Community(ctx, domain.PlatformReddit, sub)
	})
	if err != nil {
		return err
	}
	self, _ := a.deps.Secrets.Get(ctx, "user:"+strings.ToLower(sub))
	for i := len(posts) - 1; i >= 0; i-- { // the listing is newest first
		p := posts[i].Data
		if p.Name == "" {
			continue
		}
		if p.Author != "" && !strings.EqualFold(p.Author, self) {
			if err := a.proposePost(ctx, communityID, sub, p); err != nil {
				return err
			}
		}
		if err := a.state.SetCursor(ctx, sub, p.Name); err != nil {
			return err
		}
	}
	return nil
}

func (a *Adapter) proposePost(ctx context.Context, communityID, sub string, p thingData) error {
	if seen, err := a.deps.Seen.Seen(ctx, sub, p.Name); err != nil || seen {
		return err
	}
	id := platform.EventID(domain.PlatformReddit, "event", sub, p.Name)
	cmd := bus.ProposeAction{Action: domain.Action{ID: id, CommunityID: communityID, Kind: domain.KindPlatform, Type: domain.ActionRedditMakePost,
		Platform: domain.PlatformReddit, Reversible: true, ExternalID: p.Name, ProposedAt: a.deps.Now().UTC(),
		Fields: map[string]any{"title": p.Title, "text": p.Selftext, "subreddit": sub, "name": p.Name, "author": p.Author, "url": p.Permalink}},
		Initiator: &bus.PlatformUser{Platform: domain.PlatformReddit, Username: p.Author}}
	if err := a.publish.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd); err != nil {
		return err
	}
	_, err := a.deps.Seen.First(ctx, sub, p.Name)
	return err
}

// PollVotes reads the replies to every open vote comment (GET
// /comments/{article}?comment={id}) and casts each eligible user's vote: their latest reply
// that is "+1" (yes) or "-1" (no); a later reply replaces the earlier vote, and one already
// cast is not sent again. A vote whose proposal is decided is no longer read.
func (a *Adapter) PollVotes(ctx context.Context) error {
	votes, err := a.state.OpenVotes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range votes {
		if err := a.pollVote(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("vote %s: %w", v.Comment, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Adapter) pollVote(ctx context.Context, v VoteComment) error {
	status, err := a.deps.Directory.ProposalStatus(ctx, v.CommunityID, v.ProposalID)
	if err != nil {
		return err
	}
	if status == domain.StatusPassed || status == domain.StatusFailed {
		return a.state.CloseVote(ctx, v.Comment)
	}
	var tree []listing
	path := "comments/" + url.PathEscape(strings.TrimPrefix(v.Article, "t3_")) + "?" +
		url.Values{"comment": {strings.TrimPrefix(v.Comment, "t1_")}, "depth": {"2"}, "limit": {"500"}, "raw_json": {"1"}}.Encode()
	if err := a.call(ctx, v.Subreddit, http.MethodGet, path, nil, &tree); err != nil {
		return err
	}
	if len(tree) < 2 || len(tree[1].Data.Children) == 0 {
		return nil
	}
	latest := map[string]thingData{}
	for _, r := range replies(tree[1].Data.Children[0].Data.Replies) {
		body := strings.TrimSpace(r.Body)
		if (body != "+1" && body != "-1") || r.Author == "" || r.Author == "[deleted]" {
			continue
		}
		if len(v.Users) > 0 && !slices.Contains(v.Users, r.Author) {
			continue
		}
		if old, ok := latest[r.Author]; !ok || r.CreatedUTC > old.CreatedUTC || (r.CreatedUTC == old.CreatedUTC && r.Name > old.Name) {
			latest[r.Author] = r
		}
	}
	for _, user := range slices.Sorted(maps.Keys(latest)) {
		r := latest[user]
		if v.Cast[user] == r.Name {
			continue
		}
		cmd := bus.CastVote{CommunityID: v.CommunityID, ProposalID: v.ProposalID, Platform: domain.PlatformReddit,
			Vote: domain.Vote{Username: user, Kind: domain.VoteBoolean, Boolean: strings.TrimSpace(r.Body) == "+1", At: a.deps.Now().UTC()}}
		id := platform.EventID(domain.PlatformReddit, "vote", v.Comment, user, r.Name)
		if err := a.publish.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd); err != nil {
			return err
		}
		if err := a.state.MarkCast(ctx, v.Comment, user, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// replies reads a comment's "replies": "" when it has none, else a Listing.
func replies(v any) []thingData {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	data, _ := m["data"].(map[string]any)
	children, _ := data["children"].([]any)
	var out []thingData
	for _, c := range children {
		cm, _ := c.(map[string]any)
		if cm["kind"] != "t1" {
			continue
		}
		d, _ := cm["data"].(map[string]any)
		t := thingData{}
		t.Name, _ = d["name"].(string)
		t.Author, _ = d["author"].(string)
		t.Body, _ = d["body"].(string)
		t.CreatedUTC, _ = d["created_utc"].(float64)
		out = append(out, t)
	}
	return out
}
