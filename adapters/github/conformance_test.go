package github

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/github/githubtest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// The GitHub adapter passes the platform kit's conformance suite. GitHub signs no time, so
// a stale delivery is one whose event is older than MaxAge (a replay).
func TestGithubConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		h := newHarness(t, pub, ledger)
		h.fake.AddIssue(owner, repo, githubtest.Issue{Number: 3, Title: "Merge me"})
		issue := map[string]any{"repo": repo, "issue_number": 1, "label": "bug"}
		votes := map[string]int{}
		return &platformtest.Harness{
			Perform: h.a.Perform,
			Calls:   h.fake.Changes,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect:      req("e-comment", "comment_on_issue", map[string]any{"repo_name": repo, "issue_number": 1, "body": "Thanks!"}),
			EffectCalls: []string{"POST /repos/octo-org/docs/issues/1/comments"},
			Govern: []platformtest.GovernCase{
				{Name: "execute issue opened", Request: govern("x-open", bus.MethodExecute, domain.ActionGithubIssueOpened, issue),
					Calls: []string{"PATCH /repos/octo-org/docs/issues/1"}},
				{Name: "revert issue opened", Request: govern("r-open", bus.MethodRevert, domain.ActionGithubIssueOpened, issue),
					Calls: []string{"POST /repos/octo-org/docs/issues/1/comments", "PATCH /repos/octo-org/docs/issues/1"}},
				{Name: "execute label", Request: govern("x-label", bus.MethodExecute, domain.ActionGithubIssueLabeled, issue),
					Calls: []string{"POST /repos/octo-org/docs/issues/1/labels"}},
				{Name: "revert label", Request: govern("r-label", bus.MethodRevert, domain.ActionGithubIssueLabeled, issue),
					Calls: []string{"DELETE /repos/octo-org/docs/issues/1/labels/bug"}},
				{Name: "execute merge", Request: govern("x-merge", bus.MethodExecute, domain.ActionGithubMergePullRequest, map[string]any{"repo": repo, "pull_number": 3}),
					Calls: []string{"PUT /repos/octo-org/docs/pulls/3/merge"}},
			},
			Ingress: &platformtest.Ingress{
				Deliver: func(t *testing.T, eventID string) int {
					code, err := githubtest.Deliver(h.hook, secret, "issues", eventID, issueOpened(7, time.Now()))
					if err != nil {
						t.Fatal(err)
					}
					return code
				},
				Forged: func(t *testing.T) int {
					code, err := githubtest.Deliver(h.hook, "not-the-secret", "issues", "d-forged", issueOpened(8, time.Now()))
					if err != nil {
						t.Fatal(err)
					}
					return code
				},
				Stale: func(t *testing.T) int {
					code, err := githubtest.Deliver(h.hook, secret, "issues", "d-stale", issueOpened(9, time.Now().Add(-30*24*time.Hour)))
					if err != nil {
						t.Fatal(err)
					}
					return code
				},
				Settle: h.a.workers.Wait,
			},
			Voting: &platformtest.Voting{
				Open: func(t *testing.T, proposalID string) {
					r := req("e-vote-"+proposalID, bus.MethodInitiateVote, map[string]any{"repo_name": repo, "text": "Vote?"})
					r.ProposalID = proposalID
					res, err := h.a.Perform(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					votes[proposalID], _ = strconv.Atoi(res["post_id"].(string))
				},
				Vote: func(t *testing.T, proposalID, member, click string) int {
					h.fake.React(owner, repo, votes[proposalID], member, "+1", click)
					if err := h.a.PollVotes(context.Background()); err != nil {
						t.Fatal(err)
					}
					return 200
				},
			},
		}
	})
}
