package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v66/github"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Perform carries out one effect request for platform "github", once per idempotency key
// (platform.Once), as the installation connected to the request's community. An attempt
// lasts at most Section.EffectTimeout, rate limits waited out within it.
//
// Methods (PolicyKit's names): initiate_vote(repo_name, text, users) opens an issue whose
// 👍/👎 reactions are the votes (answers {"post_id": the issue number, "url", "channel": the
// repository}); create_issue(repo_name, title, body); comment_on_issue(repo_name,
// issue_number, body); close_issue(repo_name, issue_number); add_label(repo_name,
// issue_number, label); and execute / revert of the governable GitHub actions. repo_name is
// a repository of the connected account ("docs"), or "owner/repo" of that account.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.IdempotencyKey == "" {
		return nil, errors.New("github: effect request without idempotency key")
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec,
		platform.OnceOptions{Attempt: a.sec.EffectTimeout, Grace: 5 * time.Second, Poll: 100 * time.Millisecond},
		func(ctx context.Context) (map[string]any, error) { return a.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("github %s: %w", req.Method, err)
	}
	return res, nil
}

// issueArgs are the arguments of the issue methods.
type issueArgs struct {
	RepoName    string      `json:"repo_name"`
	IssueNumber string      `json:"issue_number"`
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	Text        string      `json:"text"`
	Label       string      `json:"label"`
	Users       bus.Strings `json:"users"`
}

// repoRef is a repository of the connected account, and the client acting there.
type repoRef struct {
	c     *gh.Client
	owner string
	repo  string
}

func (a *Adapter) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	owner, inst, err := a.connection(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	c, err := a.client(inst)
	if err != nil {
		return nil, err
	}
	if req.Method == bus.MethodExecute || req.Method == bus.MethodRevert {
		gov, err := bus.DecodeArgs[bus.GovernArgs](req)
		if err != nil {
			return nil, err
		}
		return a.govern(ctx, c, owner, req.Method == bus.MethodExecute, gov)
	}
	args, err := bus.DecodeArgs[issueArgs](req)
	if err != nil {
		return nil, err
	}
	r, err := repoOf(c, owner, args.RepoName)
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case bus.MethodInitiateVote:
		return a.initiateVote(ctx, r, req, args)
	case "create_issue":
		if args.Title == "" {
			return nil, errors.New("create_issue needs a title")
		}
		return a.createIssue(ctx, r, args.Title, args.Body)
	}
	n, err := issueNumber(args.IssueNumber)
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case "comment_on_issue":
		return a.comment(ctx, r, n, args.Body)
	case "close_issue":
		return a.setState(ctx, r, n, "closed")
	case "add_label":
		return a.addLabel(ctx, r, n, args.Label)
	}
	return nil, fmt.Errorf("unsupported method %q (github has initiate_vote, create_issue, comment_on_issue, close_issue, add_label, execute and revert)", req.Method)
}

// repoOf names a repository of owner: "repo" or "owner/repo" (another account's is
// refused: the installation acts for its own account only).
func repoOf(c *gh.Client, owner, name string) (repoRef, error) {
	name = strings.TrimSpace(name)
	if o, r, ok := strings.Cut(name, "/"); ok {
		if !strings.EqualFold(o, owner) {
			return repoRef{}, fmt.Errorf("repository %q is not of the connected account %s", name, owner)
		}
		name = r
	}
	if name == "" || strings.ContainsAny(name, "/?#") {
		return repoRef{}, fmt.Errorf("repo_name %q is not a repository", name)
	}
	return repoRef{c: c, owner: owner, repo: name}, nil
}

func issueNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("issue_number %q is not an issue's number", s)
	}
	return n, nil
}

// govern executes (or reverts) a GitHub action from its fields.
func (a *Adapter) govern(ctx context.Context, c *gh.Client, owner string, execute bool, args bus.GovernArgs) (map[string]any, error) {
	f := args.Fields
	r, err := repoOf(c, owner, str(f, "repo"))
	if err != nil {
		return nil, err
	}
	n, err := issueNumber(str(f, "issue_number"))
	if err != nil {
		if n, err = issueNumber(str(f, "pull_number")); err != nil {
			return nil, err
		}
	}
	switch args.ActionType {
	case domain.ActionGithubIssueOpened:
		if execute {
			return a.setState(ctx, r, n, "open")
		}
		// The comment says why first: a closed issue's readers see it last.
		if _, err := a.comment(ctx, r, n, "This issue is closed while the community's policy decides on it; it is reopened if the policy passes it."); err != nil {
			return nil, err
		}
		return a.setState(ctx, r, n, "closed")
	case domain.ActionGithubIssueLabeled, domain.ActionGithubPullRequestLabeled:
		if execute {
			return a.addLabel(ctx, r, n, str(f, "label"))
		}
		return a.removeLabel(ctx, r, n, str(f, "label"))
	case domain.ActionGithubMergePullRequest:
		if !execute {
			return nil, errors.New("a merge cannot be reverted")
		}
		return a.merge(ctx, r, n, str(f, "commit_title"), str(f, "merge_method"))
	}
	return nil, fmt.Errorf("cannot govern action type %q", args.ActionType)
}

func (a *Adapter) createIssue(ctx context.Context, r repoRef, title, body string) (map[string]any, error) {
	var is *gh.Issue
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		is, resp, err = r.c.Issues.Create(ctx, r.owner, r.repo, &gh.IssueRequest{Title: &title, Body: &body})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "issue_number": is.GetNumber(), "url": is.GetHTMLURL()}, nil
}

func (a *Adapter) comment(ctx context.Context, r repoRef, n int, body string) (map[string]any, error) {
	if body == "" {
		return nil, errors.New("comment_on_issue needs a body")
	}
	var c *gh.IssueComment
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		c, resp, err = r.c.Issues.CreateComment(ctx, r.owner, r.repo, n, &gh.IssueComment{Body: &body})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "issue_number": n, "comment_id": strconv.FormatInt(c.GetID(), 10), "url": c.GetHTMLURL()}, nil
}

func (a *Adapter) setState(ctx context.Context, r repoRef, n int, state string) (map[string]any, error) {
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		_, resp, err = r.c.Issues.Edit(ctx, r.owner, r.repo, n, &gh.IssueRequest{State: &state})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "issue_number": n, "state": state}, nil
}

func (a *Adapter) addLabel(ctx context.Context, r repoRef, n int, label string) (map[string]any, error) {
	if label == "" {
		return nil, errors.New("add_label needs a label")
	}
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		_, resp, err = r.c.Issues.AddLabelsToIssue(ctx, r.owner, r.repo, n, []string{label})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "issue_number": n, "label": label}, nil
}

func (a *Adapter) removeLabel(ctx context.Context, r repoRef, n int, label string) (map[string]any, error) {
	if label == "" {
		return nil, errors.New("removing a label needs its name")
	}
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		resp, err = r.c.Issues.RemoveLabelForIssue(ctx, r.owner, r.repo, n, label)
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "issue_number": n, "label": label, "removed": true}, nil
}

func (a *Adapter) merge(ctx context.Context, r repoRef, n int, title, method string) (map[string]any, error) {
	var res *gh.PullRequestMergeResult
	err := a.retry(ctx, func() (resp *gh.Response, err error) {
		res, resp, err = r.c.PullRequests.Merge(ctx, r.owner, r.repo, n, "", &gh.PullRequestOptions{CommitTitle: title, MergeMethod: method})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"repo": r.repo, "pull_number": n, "merged": res.GetMerged(), "sha": res.GetSHA()}, nil
}

// initiateVote opens the vote issue and remembers it; its reactions are read by PollVotes.
func (a *Adapter) initiateVote(ctx context.Context, r repoRef, req bus.EffectRequest, args issueArgs) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("initiate_vote without a proposal")
	}
	text := args.Text
	if text == "" {
		text = "Please vote on this proposal."
	}
	title, _, _ := strings.Cut(text, "\n")
	if len(title) > 200 {
		title = title[:200]
	}
	body := text + "\n\nReact to this issue with 👍 to vote yes or 👎 to vote no. Your latest reaction counts."
	if len(args.Users) > 0 {
		body += "\n\nEligible voters: @" + strings.Join(args.Users, ", @") + "."
	}
	res, err := a.createIssue(ctx, r, title, body)
	if err != nil {
		return nil, err
	}
	n, _ := res["issue_number"].(int)
	if err := a.state.SaveVote(ctx, VoteIssue{Owner: r.owner, Repo: r.repo, Number: n, CommunityID: req.CommunityID,
		ProposalID: req.ProposalID, Users: args.Users}); err != nil {
		return nil, err
	}
	return bus.Answer(bus.VoteAnswer{PostID: strconv.Itoa(n), URL: res["url"].(string), Channel: r.repo})
}

// str reads a string field; numbers are formatted without exponent.
func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}
