package reddit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Perform carries out one effect request for platform "reddit", once per idempotency key
// (platform.Once), as the installer of the community's subreddit.
//
// Methods (PolicyKit's names): make_post(title, text, subreddit) (answers {"name", "url"}),
// remove_post(post_id), approve_post(post_id), initiate_vote(text, subreddit, users,
// post_id): a vote comment on post_id, or on a new self post when none is given, answering
// {"post_id": the comment's fullname, "url"}; and execute (approve) / revert (remove) of
// redditmakepost.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.IdempotencyKey == "" {
		return nil, errors.New("reddit: effect request without idempotency key")
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec,
		platform.OnceOptions{Attempt: a.sec.EffectTimeout, Grace: 5 * time.Second, Poll: 100 * time.Millisecond},
		func(ctx context.Context) (map[string]any, error) { return a.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("reddit %s: %w", req.Method, err)
	}
	return res, nil
}

type postArgs struct {
	Title     string      `json:"title"`
	Text      string      `json:"text"`
	Subreddit string      `json:"subreddit"`
	PostID    string      `json:"post_id"`
	Users     bus.Strings `json:"users"`
}

func (a *Adapter) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	sub, err := platform.WaitFor(ctx, a.deps.DirectoryWait, func(ctx context.Context) (string, error) {
		return a.deps.Directory.ExternalID(ctx, req.CommunityID, domain.PlatformReddit)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: community %s: %w", ErrNotConnected, req.CommunityID, err)
	}
	if req.Method == bus.MethodExecute || req.Method == bus.MethodRevert {
		gov, err := bus.DecodeArgs[bus.GovernArgs](req)
		if err != nil {
			return nil, err
		}
		if gov.ActionType != domain.ActionRedditMakePost {
			return nil, fmt.Errorf("cannot govern action type %q", gov.ActionType)
		}
		name, _ := gov.Fields["name"].(string)
		if req.Method == bus.MethodExecute {
			return a.moderate(ctx, sub, "api/approve", name)
		}
		return a.moderate(ctx, sub, "api/remove", name)
	}
	args, err := bus.DecodeArgs[postArgs](req)
	if err != nil {
		return nil, err
	}
	if args.Subreddit != "" && !strings.EqualFold(args.Subreddit, sub) {
		return nil, fmt.Errorf("r/%s is not the community's subreddit r/%s", args.Subreddit, sub)
	}
	switch req.Method {
	case "make_post":
		return a.submit(ctx, sub, args.Title, args.Text)
	case "remove_post":
		return a.moderate(ctx, sub, "api/remove", args.PostID)
	case "approve_post":
		return a.moderate(ctx, sub, "api/approve", args.PostID)
	case bus.MethodInitiateVote:
		return a.initiateVote(ctx, sub, req, args)
	}
	return nil, fmt.Errorf("unsupported method %q (reddit has make_post, remove_post, approve_post, initiate_vote, execute and revert)", req.Method)
}

// moderate removes or approves a post (POST /api/remove, /api/approve with its fullname).
func (a *Adapter) moderate(ctx context.Context, sub, path, name string) (map[string]any, error) {
	if !strings.HasPrefix(name, "t3_") && !strings.HasPrefix(name, "t1_") {
		return nil, fmt.Errorf("%q is not a post's fullname (t3_...)", name)
	}
	form := url.Values{"id": {name}}
	if path == "api/remove" {
		form.Set("spam", "false")
	}
	if err := a.call(ctx, sub, http.MethodPost, path, form, nil); err != nil {
		return nil, err
	}
	return map[string]any{"name": name, strings.TrimPrefix(path, "api/") + "d": true}, nil
}

// jsonAnswer is the answer of an api_type=json call.
type jsonAnswer struct {
	JSON struct {
		Errors [][]any `json:"errors"`
		Data   struct {
			Name   string `json:"name"`
			URL    string `json:"url"`
			Things []struct {
				Data thingData `json:"data"`
			} `json:"things"`
		} `json:"data"`
	} `json:"json"`
}

func (j jsonAnswer) err() error {
	if len(j.JSON.Errors) == 0 {
		return nil
	}
	raw, _ := json.Marshal(j.JSON.Errors)
	return fmt.Errorf("reddit refused: %s", raw)
}

// submit makes a self post (POST /api/submit).
func (a *Adapter) submit(ctx context.Context, sub, title, text string) (map[string]any, error) {
	if title == "" {
		return nil, errors.New("make_post needs a title")
	}
	var ans jsonAnswer
	form := url.Values{"api_type": {"json"}, "kind": {"self"}, "sr": {sub}, "title": {title}, "text": {text}}
	if err := a.call(ctx, sub, http.MethodPost, "api/submit", form, &ans); err != nil {
		return nil, err
	}
	if err := ans.err(); err != nil {
		return nil, err
	}
	return map[string]any{"name": ans.JSON.Data.Name, "url": ans.JSON.Data.URL}, nil
}

// initiateVote posts the vote comment (POST /api/comment) on post_id, or on a new self post,
// and remembers it.
func (a *Adapter) initiateVote(ctx context.Context, sub string, req bus.EffectRequest, args postArgs) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("initiate_vote without a proposal")
	}
	text := args.Text
	if text == "" {
		text = "Please vote on this proposal."
	}
	article := args.PostID
	if article == "" {
		title, _, _ := strings.Cut(text, "\n")
		post, err := a.submit(ctx, sub, "Vote: "+title, text)
		if err != nil {
			return nil, err
		}
		article, _ = post["name"].(string)
	}
	var ans jsonAnswer
	body := text + "\n\nReply `+1` to this comment to vote yes or `-1` to vote no. Your latest reply counts."
	if err := a.call(ctx, sub, http.MethodPost, "api/comment", url.Values{"api_type": {"json"}, "thing_id": {article}, "text": {body}}, &ans); err != nil {
		return nil, err
	}
	if err := ans.err(); err != nil {
		return nil, err
	}
	if len(ans.JSON.Data.Things) == 0 || ans.JSON.Data.Things[0].Data.Name == "" {
		return nil, errors.New("reddit answered no comment")
	}
	c := ans.JSON.Data.Things[0].Data
	if err := a.state.SaveVote(ctx, VoteComment{Comment: c.Name, Article: article, Subreddit: sub, CommunityID: req.CommunityID,
		ProposalID: req.ProposalID, Users: args.Users}); err != nil {
		return nil, err
	}
	return bus.Answer(bus.VoteAnswer{PostID: c.Name, URL: "https://www.reddit.com" + c.Permalink, Channel: sub})
}
