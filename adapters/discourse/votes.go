package discourse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// PollName names the adapter's polls, so that a poll written into the vote's text (named
// "poll", Discourse's default) is not taken for it.
const PollName = "policykit"

// voteArgs are initiate_vote's arguments: PolicyKit's (users, text, topic_id), and options
// for a choice among them rather than yes or no.
type voteArgs struct {
	Text    string      `json:"text"`
	TopicID string      `json:"topic_id"`
	Users   bus.Strings `json:"users"`
	Options bus.Strings `json:"options"`
}

// initiateVote posts the proposal's poll: the text, then a public regular poll whose options
// are Yes and No (a boolean vote) or the given options (a choice), in the topic topic_id, or
// in a topic of its own. Its voters are read back (readVotes) as the proposal's votes.
func (a *Adapter) initiateVote(ctx context.Context, s site, req bus.EffectRequest) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("a vote is opened for a proposal, and this request has none")
	}
	args, err := bus.DecodeArgs[voteArgs](req)
	if err != nil {
		return nil, err
	}
	kind, options := domain.VoteBoolean, []string{"Yes", "No"}
	if len(args.Options) > 0 {
		kind, options = domain.VoteChoice, nil
		for _, o := range args.Options {
			o = strings.Join(strings.Fields(o), " ")
			if o == "" || slices.Contains(options, o) {
				return nil, fmt.Errorf("the vote's options %q are not distinct non-empty lines", []string(args.Options))
			}
			options = append(options, o)
		}
	}
	text := strings.TrimSpace(args.Text)
	if text == "" {
		text = "Vote on this proposal."
	}
	var raw strings.Builder
	raw.WriteString(text)
	raw.WriteString("\n\n[poll name=" + PollName + " type=regular results=always public=true chartType=bar]\n")
	for _, o := range options {
		raw.WriteString("* " + o + "\n")
	}
	raw.WriteString("[/poll]\n")
	body := map[string]any{"raw": raw.String()}
	if topic, ok := idOf(args.TopicID); ok {
		body["topic_id"] = topic
	} else {
		title := strings.SplitN(text, "\n", 2)[0]
		if r := []rune(title); len(r) > 180 {
			title = string(r[:180]) + "…"
		}
		// Discourse asks for titles of some length (15 characters by default).
		body["title"] = "Vote: " + title + " (PolicyKit)"
	}
	post, err := a.createPost(ctx, s, body)
	if err != nil {
		return nil, err
	}
	ids, err := a.optionIDs(ctx, s, post, options)
	if err != nil {
		return nil, err
	}
	v := VotePoll{CommunityID: req.CommunityID, PostID: post.id, ProposalID: req.ProposalID, TopicID: post.topicID,
		PollName: PollName, Kind: kind, Options: options, OptionIDs: ids, Users: args.Users}
	if err := a.state.SaveVote(ctx, v); err != nil {
		return nil, err
	}
	return bus.Answer(bus.VoteAnswer{PostID: strconv.FormatInt(post.id, 10), URL: s.postURL(post.id)})
}

// optionIDs reads Discourse's ids of the poll's options (a digest of each option's text),
// from the created post when it carries its polls, else from the post read back.
func (a *Adapter) optionIDs(ctx context.Context, s site, post created, options []string) ([]string, error) {
	polls := post.raw["polls"]
	if polls == nil {
		v, err := a.call(ctx, s, http.MethodGet, fmt.Sprintf("/posts/%d.json", post.id), nil)
		if err != nil {
			return nil, fmt.Errorf("the poll was posted (%s) but cannot be read: %w", s.postURL(post.id), err)
		}
		m, _ := v.(map[string]any)
		polls = m["polls"]
	}
	list, _ := polls.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		if pm["name"] != PollName {
			continue
		}
		opts, _ := pm["options"].([]any)
		ids := make([]string, len(options))
		for _, o := range opts {
			om, _ := o.(map[string]any)
			html := strings.TrimSpace(str(om["html"]))
			if i := slices.Index(options, html); i >= 0 {
				ids[i] = str(om["id"])
			}
		}
		if slices.Contains(ids, "") {
			return nil, fmt.Errorf("the poll at %s does not list the options %q", s.postURL(post.id), options)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("the post at %s has no poll %q: is Discourse's poll plugin enabled?", s.postURL(post.id), PollName)
}

// runVotes reads the votes of open polls every Section.VotePoll until ctx ends.
func (a *Adapter) runVotes(ctx context.Context) {
	t := time.NewTicker(a.sec.VotePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.ReadVotes(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("discourse: reading the polls' votes", "err", err)
			}
		}
	}
}

// ReadVotes reads the voters of every open poll and casts each voter's vote on its proposal
// (a CastVote whose id is derived from the poll, the voter and the choice, so that reading a
// vote again is the same command, and a changed vote is a new one that replaces it). The poll
// of a decided proposal is closed, on Discourse too, and no longer read.
func (a *Adapter) ReadVotes(ctx context.Context) error {
	polls, err := a.state.OpenVotes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range polls {
		if err := a.readPoll(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("poll %d of proposal %s: %w", v.PostID, v.ProposalID, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Adapter) readPoll(ctx context.Context, v VotePoll) error {
	status, err := a.deps.Directory.ProposalStatus(ctx, v.CommunityID, v.ProposalID)
	if err != nil {
		return err
	}
	s, err := a.site(ctx, v.CommunityID)
	if err != nil {
		return err
	}
	if status == domain.StatusPassed || status == domain.StatusFailed {
		if err := a.state.CloseVote(ctx, v.CommunityID, v.PostID); err != nil {
			return err
		}
		_, err := a.call(ctx, s, http.MethodPut, "/polls/toggle_status.json",
			map[string]any{"post_id": v.PostID, "poll_name": v.PollName, "status": "closed"})
		return err
	}
	for i, optionID := range v.OptionIDs {
		voters, err := a.voters(ctx, s, v, optionID)
		if err != nil {
			return err
		}
		for _, username := range voters {
			if len(v.Users) > 0 && !slices.ContainsFunc(v.Users, func(u string) bool { return strings.EqualFold(u, username) }) {
				continue
			}
			if err := a.castVote(ctx, v, username, v.Options[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// voters reads the usernames who chose an option, page by page.
func (a *Adapter) voters(ctx context.Context, s site, v VotePoll, optionID string) ([]string, error) {
	const limit = 50
	var out []string
	for page := 1; page <= 100; page++ {
		q := url.Values{"post_id": {strconv.FormatInt(v.PostID, 10)}, "poll_name": {v.PollName}, "option_id": {optionID},
			"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
		res, err := a.call(ctx, s, http.MethodGet, "/polls/voters.json?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		m, _ := res.(map[string]any)
		byOption, _ := m["voters"].(map[string]any)
		list, _ := byOption[optionID].([]any)
		for _, u := range list {
			um, _ := u.(map[string]any)
			if name := str(um["username"]); name != "" {
				out = append(out, name)
			}
		}
		if len(list) < limit {
			break
		}
	}
	return out, nil
}

func (a *Adapter) castVote(ctx context.Context, v VotePoll, username, option string) error {
	k := fmt.Sprint(v.CommunityID, "/", v.PostID, "/", strings.ToLower(username))
	a.mu.Lock()
	same := a.cast[k] == option
	a.mu.Unlock()
	if same {
		return nil
	}
	vote := domain.Vote{Username: username, Kind: v.Kind, At: a.deps.Now().UTC()}
	if v.Kind == domain.VoteBoolean {
		vote.Boolean = option == "Yes"
	} else {
		vote.Choice = option
	}
	id := platform.EventID(domain.PlatformDiscourse, "vote", v.CommunityID, strconv.FormatInt(v.PostID, 10), strings.ToLower(username), option)
	cmd := bus.CastVote{CommunityID: v.CommunityID, ProposalID: v.ProposalID, Platform: domain.PlatformDiscourse, Vote: vote}
	if err := a.publish.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd); err != nil {
		return err
	}
	a.mu.Lock()
	a.cast[k] = option
	a.mu.Unlock()
	return nil
}
