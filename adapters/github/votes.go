package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

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
// whose proposal is decided is closed with a comment stating the result (closeVote) and no
// longer read. One issue's failure does not stop the others.
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
		return a.closeVote(ctx, v, status)
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

// closeVote closes the vote issue of a decided proposal: a comment stating the result, then
// the issue closed, each once through the ledger (keyed by the issue, so that several
// processes polling, or a poll after a crash, do it once), and then it is no longer read. A
// failed call leaves the issue open in the state: the next poll tries again. A community no
// longer connected has no installation to act with: the issue is only forgotten.
func (a *Adapter) closeVote(ctx context.Context, v VoteIssue, status string) error {
	_, inst, err := a.connection(ctx, v.CommunityID)
	if errors.Is(err, ErrNotConnected) {
		a.log.Warn("github: a decided vote issue is left open: its community is no longer connected",
			"issue", fmt.Sprintf("%s/%s#%d", v.Owner, v.Repo, v.Number), "proposal", v.ProposalID, "err", err)
		return a.state.CloseVote(ctx, v.Owner, v.Repo, v.Number)
	}
	if err != nil {
		return err
	}
	c, err := a.client(inst)
	if err != nil {
		return err
	}
	r := repoRef{c: c, owner: v.Owner, repo: v.Repo}
	result := "passed"
	if status == domain.StatusFailed {
		result = "failed"
	}
	key := "github:close-vote:" + voteKey(v.Owner, v.Repo, v.Number)
	opts := platform.OnceOptions{Attempt: a.sec.EffectTimeout, Grace: 5 * time.Second, Poll: 100 * time.Millisecond}
	steps := []struct {
		name    string
		perform func(ctx context.Context) (map[string]any, error)
	}{
		{"comment", func(ctx context.Context) (map[string]any, error) {
			return a.comment(ctx, r, v.Number, "The proposal "+result+". This vote is closed; later reactions are not counted.")
		}},
		{"close", func(ctx context.Context) (map[string]any, error) { return a.setState(ctx, r, v.Number, "closed") }},
	}
	for _, st := range steps {
		rec := platform.Record{EffectID: key + ":" + st.name, CommunityID: v.CommunityID, Method: "close_vote_" + st.name, Purpose: bus.PurposePolicy}
		if _, err := platform.Once(ctx, a.deps.Ledger, rec.EffectID, rec, opts, st.perform); err != nil {
			return fmt.Errorf("close the vote issue (%s): %w", st.name, err)
		}
	}
	return a.state.CloseVote(ctx, v.Owner, v.Repo, v.Number)
}
