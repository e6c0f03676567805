package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/github/githubtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// githubIssueVote governs issues opened on GitHub: a vote issue in the same repository,
// passed by two 👍, failed by one 👎.
var githubIssueVote = domain.AddPolicy{PolicyID: "github-issue-vote", Kind: domain.KindPlatform, Name: "Vote on new issues",
	ActionTypes: []string{domain.ActionGithubIssueOpened}, Priority: -1, PolicyCode: domain.PolicyCode{
		Filter:     "return True\n",
		Initialize: "pass\n",
		Notify:     `github.initiate_vote(repo_name=action.repo, text="Accept the issue " + action.title + "?")`,
		Check: `if proposal.get_no_votes().count() >= 1:
    return FAILED
if proposal.get_yes_votes().count() >= 2:
    return PASSED
return PROPOSED`,
		Success: "pass\n", Fail: "pass\n",
	}}

// An issue opened on GitHub, through the whole App and the GitHub adapter: the signed
// webhook comes in; the engine reverts it (the issue is closed with a comment) and the
// policy opens a vote issue; two members' 👍 reactions, read back from GitHub's API, pass
// the proposal, and the engine executes it (the issue is reopened); the vote issue is then
// closed with the result.
func TestGithubReactionVoteEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.New(t.Cleanup)
	cfg := engineConfig(t, bus.TransportGoChannel)
	env := map[string]string{"GITHUB_WEBHOOK_SECRET": "whsec-e2e", "GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": githubtest.NewKey(),
		"GITHUB_API_URL": fake.URL(), "GITHUB_APP_SLUG": "policykit-test", "GITHUB_POLL_INTERVAL": "100ms"}
	cfg.getenv = func(k string) string { return env[k] }
	app, stop := startApp(t, cfg)
	defer stop()
	hook := "http://" + app.listener.Addr().String() + "/api/hooks/github"
	newSlackGarden(t, app, githubIssueVote)

	// The garden connects its GitHub organization, with the App's installation.
	connect, err := domain.NewConstitutionAction("connect-github", "garden", "alice", domain.AddIntegration{
		Platform: domain.PlatformGithub, ExternalID: "octo-org", Settings: map[string]string{"installation_id": "42"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := &engine.Recorder{Store: app.Store()}
	if _, err := rec.ProposeAction(ctx, bus.ProposeAction{Action: connect}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the GitHub connection in the adapters' directory", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM platform_directory_platforms WHERE platform = 'github' AND external_id = 'octo-org'`).Scan(&n)
		return n == 1
	})

	fake.AddIssue("octo-org", "docs", githubtest.Issue{Number: 7, Title: "Add a code of conduct"})
	code, err := githubtest.Deliver(hook, "whsec-e2e", "issues", "delivery-7",
		githubtest.IssuesEvent("opened", "octo-org", "docs", 7, "Add a code of conduct", "carol", "", 42, time.Now()))
	if err != nil || code != 202 {
		t.Fatalf("the delivery answered %d, %v", code, err)
	}
	waitFor(t, "the issue closed while the vote runs, and the vote issue", func() bool {
		is, _ := fake.Issue("octo-org", "docs", 7)
		_, vote := fake.Issue("octo-org", "docs", 8)
		return is.State == "closed" && len(is.Comments) == 1 && vote
	})
	if vote, _ := fake.Issue("octo-org", "docs", 8); vote.Title != "Accept the issue Add a code of conduct?" {
		t.Fatalf("the vote issue is titled %q", vote.Title)
	}

	fake.React("octo-org", "docs", 8, "alice-gh", "+1", "r1")
	fake.React("octo-org", "docs", 8, "dave", "heart", "r2") // not a vote
	waitFor(t, "the first 👍 recorded", func() bool { return countEvents(t, app, domain.EventVoteCast) == 1 })
	if is, _ := fake.Issue("octo-org", "docs", 7); is.State != "closed" {
		t.Fatal("one 👍 passed the proposal")
	}
	fake.React("octo-org", "docs", 8, "bob-gh", "+1", "r3")
	waitFor(t, "the proposal passed and the issue reopened", func() bool {
		is, _ := fake.Issue("octo-org", "docs", 7)
		return is.State == "open" && countEvents(t, app, domain.EventProposalPassed) >= 1
	})
	waitFor(t, "the vote issue closed with the result", func() bool {
		vote, _ := fake.Issue("octo-org", "docs", 8)
		return vote.State == "closed" && len(vote.Comments) == 1 && strings.HasPrefix(vote.Comments[0], "The proposal passed.")
	})
}
