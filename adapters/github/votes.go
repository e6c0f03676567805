package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	gh "github.com/google/go-github/v66/github"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// PollVotes reads the reactions of every open vote issue (GET
// /repos/{owner}/{repo}/issues/{n}/reactions) and casts each eligible login's vote: its
// latest 👍 (yes) or 👎 (no). A login whose latest reaction was cast already is not sent
// again; a later reaction replaces the earlier vote. A removed reaction leaves the vote
// cast (the engine keeps a member's last vote; there is no withdrawing one). A vote issue
// whose proposal is decided is no longer read. One issue's failure does not stop the others.
func (a *Adapter) PollVotes(ctx context.Context) error {
	votes, err := a.state.OpenVotes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range votes {
		if err := a.pollVote(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s#%d: %w", v.Owner, v.Repo, v.Number, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Adapter) pollVote(ctx context.Context, v VoteIssue) error {
	status, err := a.deps.Directory.ProposalStatus(ctx, v.CommunityID, v.ProposalID)
	if err != nil && !errors.Is(err, platform.ErrUnknown) {
		return err
	}
	if status == domain.StatusPassed || status == domain.StatusFailed {
		return a.state.CloseVote(ctx, v.Owner, v.Repo, v.Number)
	}
	_, inst, err := a.connection(ctx, v.CommunityID)
	if err != nil {
		return err
	}
	c, err := a.client(inst)
	if err != nil {
		return err
	}
	latest := map[string]*gh.Reaction{}
	opts := &gh.ListOptions{PerPage: 100}
	for page := 0; page < 30; page++ {
		var rs []*gh.Reaction
		var resp *gh.Response
		err := a.retry(ctx, func() (r *gh.Response, err error) {
			rs, r, err = c.Reactions.ListIssueReactions(ctx, v.Owner, v.Repo, v.Number, opts)
			resp = r
			return r, err
		})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.GetContent() != "+1" && r.GetContent() != "-1" {
				continue
			}
			login := r.GetUser().GetLogin()
			if login == "" || (len(v.Users) > 0 && !slices.Contains(v.Users, login)) {
				continue
			}
			if old, ok := latest[login]; !ok || r.GetID() > old.GetID() {
				latest[login] = r
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, login := range slices.Sorted(maps.Keys(latest)) {
		r := latest[login]
		if v.Cast[login] == r.GetID() {
			continue
		}
		vote := domain.Vote{Username: login, Kind: domain.VoteBoolean, Boolean: r.GetContent() == "+1", At: a.deps.Now().UTC()}
		cmd := bus.CastVote{CommunityID: v.CommunityID, ProposalID: v.ProposalID, Platform: domain.PlatformGithub, Vote: vote}
		id := platform.EventID(domain.PlatformGithub, "vote", v.Owner+"/"+v.Repo+"#"+strconv.Itoa(v.Number), login, strconv.FormatInt(r.GetID(), 10))
		if err := a.publish.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd); err != nil {
			return err
		}
		if err := a.state.MarkCast(ctx, v.Owner, v.Repo, v.Number, login, r.GetID()); err != nil {
			return err
		}
	}
	return nil
}
