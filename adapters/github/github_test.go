package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/github/githubtest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

const (
	owner        = "octo-org"
	repo         = "docs"
	secret       = "whsec-test"
	installation = 42
)

// testKey is the App's private key in these tests (made once: RSA keys take a moment).
var testKey = githubtest.NewKey()

type harness struct {
	a      *Adapter
	fake   *githubtest.Fake
	dir    *platform.MemoryDirectory
	ledger *platform.MemoryLedger
	hook   string
}

// recorder is a Publisher that keeps what was published, by topic.
type recorder struct {
	mu   sync.Mutex
	msgs map[string][]*message.Message
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[string][]*message.Message{}
	}
	r.msgs[topic] = append(r.msgs[topic], msgs...)
	return nil
}

func (r *recorder) Close() error { return nil }

// votes returns the CastVotes published, one per message id.
func (r *recorder) votes(t *testing.T) []bus.CastVote {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []bus.CastVote
	seen := map[string]bool{}
	for _, m := range r.msgs[bus.TopicCastVote] {
		if seen[m.UUID] {
			continue
		}
		seen[m.UUID] = true
		var v bus.CastVote
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func (r *recorder) proposed(t *testing.T) []domain.Action {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []domain.Action
	for _, m := range r.msgs[bus.TopicProposeAction] {
		var p bus.ProposeAction
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Action)
	}
	return out
}

func learn(t testing.TB, d platform.Directory, pos int64, e domain.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	env := bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Position: fmt.Sprintf("%d:0", pos), Data: data}
	if err := d.Learn(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

// newHarness is an adapter for community c1, connected to the account octo-org with
// installation 42, against a fake GitHub where docs#1 exists (labeled "bug").
func newHarness(t *testing.T, pub message.Publisher, ledger *platform.MemoryLedger) *harness {
	t.Helper()
	fake := githubtest.New(t.Cleanup)
	fake.AddIssue(owner, repo, githubtest.Issue{Number: 1, Title: "Typo", Labels: []string{"bug"}})
	dir := &platform.MemoryDirectory{}
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: time.Now()},
		Platform: domain.PlatformGithub, ExternalID: owner, Settings: map[string]string{"installation_id": fmt.Sprint(installation)}})
	if ledger == nil {
		ledger = platform.NewMemoryLedger()
	}
	sec := Section{AppID: "1", PrivateKey: testKey, WebhookSecret: secret, AppSlug: "policykit-test", APIURL: fake.URL(),
		RateLimitMaxWait: 3 * time.Second}
	a, err := New(sec, Deps{Publisher: pub, Directory: dir, Ledger: ledger, DirectoryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &harness{a: a, fake: fake, dir: dir, ledger: ledger, hook: srv.URL}
}

func (h *harness) deliver(t *testing.T, event, delivery string, payload any) int {
	t.Helper()
	return h.deliverSigned(t, secret, event, delivery, payload)
}

func (h *harness) deliverSigned(t *testing.T, key, event, delivery string, payload any) int {
	t.Helper()
	code, err := githubtest.Deliver(h.hook, key, event, delivery, payload)
	if err != nil {
		t.Fatal(err)
	}
	h.a.workers.Wait()
	return code
}

func issueOpened(n int, at time.Time) map[string]any {
	return githubtest.IssuesEvent("opened", owner, repo, n, "Add a code of conduct", "alice", "", installation, at)
}

func req(id, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: "c1", EffectID: id, IdempotencyKey: id, Platform: domain.PlatformGithub,
		Method: method, Purpose: bus.PurposePolicy, Args: args}
}

func govern(id, method, typ string, fields map[string]any) bus.EffectRequest {
	r := req(id, method, map[string]any{"action_id": "a-" + id, "action_type": typ, "fields": fields})
	r.ActionID = "a-" + id
	return r
}

// An issue opened becomes one governable githubissueopened action with its fields, its
// opener the initiator; a redelivery of it is skipped.
func TestIssueOpenedIsProposedOnce(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	for range 2 {
		if code := h.deliver(t, "issues", "d-1", issueOpened(7, time.Now())); code >= 300 {
			t.Fatalf("delivery answered %d", code)
		}
	}
	got := pub.proposed(t)
	if len(got) != 1 {
		t.Fatalf("%d actions proposed, want 1", len(got))
	}
	a := got[0]
	if a.Type != domain.ActionGithubIssueOpened || a.Kind != domain.KindPlatform || !a.Reversible || a.CommunityID != "c1" ||
		a.Field("repo") != repo || a.Field("issue_number") != "7" || a.Field("title") != "Add a code of conduct" || a.Field("user") != "alice" {
		t.Fatalf("proposed %+v", a)
	}
}

// A delivery not signed with the App's webhook secret is refused with 401 and changes
// nothing: no action, its delivery id not recorded (the genuine delivery with that id is
// still handled).
func TestForgedDeliveryIsRefused(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	if code := h.deliverSigned(t, "not-the-secret", "issues", "d-forged", issueOpened(7, time.Now())); code != 401 {
		t.Fatalf("forged delivery answered %d, want 401", code)
	}
	if n := len(pub.proposed(t)); n != 0 {
		t.Fatalf("a forged delivery proposed %d actions", n)
	}
	if code := h.deliver(t, "issues", "d-forged", issueOpened(7, time.Now())); code != 202 {
		t.Fatalf("the genuine delivery answered %d", code)
	}
	if n := len(pub.proposed(t)); n != 1 {
		t.Fatalf("the genuine delivery proposed %d actions, want 1", n)
	}
}

// Each GitHub event becomes its action type; the App's own changes, pushes to branches
// that are not protected and unknown actions become nothing.
func TestEventsBecomeTheirActionTypes(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	h.fake.Protected["docs/main"] = true
	now := time.Now().UTC().Format(time.RFC3339)
	repository := map[string]any{"name": repo, "full_name": owner + "/" + repo, "owner": map[string]any{"login": owner, "name": owner}, "pushed_at": time.Now().Unix()}
	inst := map[string]any{"id": installation}
	alice := map[string]any{"login": "alice", "type": "User"}
	pr := func(action string, merged bool) map[string]any {
		return map[string]any{"action": action, "number": 2, "pull_request": map[string]any{"number": 2, "title": "Fix", "merged": merged, "updated_at": now,
			"head": map[string]any{"ref": "fix"}, "base": map[string]any{"ref": "main"}}, "repository": repository, "sender": alice, "installation": inst}
	}
	push := func(branch string) map[string]any {
		return map[string]any{"ref": "refs/heads/" + branch, "before": "a", "after": "b", "commits": []any{map[string]any{"id": "b"}}, "repository": repository,
			"pusher": map[string]any{"name": "alice"}, "sender": alice, "installation": inst}
	}
	cases := []struct {
		event   string
		payload map[string]any
		want    string
	}{
		{"issues", githubtest.IssuesEvent("closed", owner, repo, 1, "Typo", "alice", "", installation, time.Now()), domain.ActionGithubIssueClosed},
		{"issues", githubtest.IssuesEvent("labeled", owner, repo, 1, "Typo", "alice", "bug", installation, time.Now()), domain.ActionGithubIssueLabeled},
		{"issues", githubtest.IssuesEvent("edited", owner, repo, 1, "Typo", "alice", "", installation, time.Now()), ""},
		{"issues", githubtest.IssuesEvent("opened", owner, repo, 9, "Vote", "policykit-test[bot]", "", installation, time.Now()), ""},
		{"pull_request", pr("opened", false), domain.ActionGithubPullRequestOpened},
		{"pull_request", pr("closed", false), domain.ActionGithubPullRequestClosed},
		{"pull_request", pr("closed", true), domain.ActionGithubPullRequestMerged},
		{"issue_comment", map[string]any{"action": "created", "issue": map[string]any{"number": 1, "title": "Typo"},
			"comment": map[string]any{"id": 5, "body": "+1", "updated_at": now}, "repository": repository, "sender": alice, "installation": inst}, domain.ActionGithubIssueComment},
		{"push", push("main"), domain.ActionGithubPush},
		{"push", push("feature"), ""},
		{"ping", map[string]any{"zen": "Keep it logically awesome."}, ""},
	}
	for i, c := range cases {
		bot := c.payload["sender"]
		if s, ok := bot.(map[string]any); ok && s["login"] == "policykit-test[bot]" {
			s["type"] = "Bot"
		}
		before := len(pub.proposed(t))
		if code := h.deliver(t, c.event, fmt.Sprintf("d-%d", i), c.payload); code >= 300 {
			t.Fatalf("%s answered %d", c.event, code)
		}
		got := pub.proposed(t)[before:]
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("case %d (%s): proposed %s, want nothing", i, c.event, got[0].Type)
		case c.want != "" && (len(got) != 1 || got[0].Type != c.want):
			t.Errorf("case %d (%s): proposed %v, want one %s", i, c.event, got, c.want)
		}
	}
}

// A call GitHub refuses with its secondary rate limit is waited out (Retry-After) and the
// revert is performed once: one comment, one close.
func TestRateLimitedRevertIsWaitedOut(t *testing.T) {
	h := newHarness(t, &recorder{}, nil)
	h.fake.Limit("POST /repos/octo-org/docs/issues/1/comments", 1)
	r := govern("r-open", bus.MethodRevert, domain.ActionGithubIssueOpened, map[string]any{"repo": repo, "issue_number": 1})
	for range 2 {
		if _, err := h.a.Perform(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"POST /repos/octo-org/docs/issues/1/comments", "PATCH /repos/octo-org/docs/issues/1"}
	if got := h.fake.Changes(); !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	limited := 0
	for _, c := range h.fake.Calls() {
		if c.Limited {
			limited++
		}
	}
	if limited != 1 {
		t.Fatalf("%d calls were refused for their rate, want 1", limited)
	}
	if is, _ := h.fake.Issue(owner, repo, 1); is.State != "closed" || len(is.Comments) != 1 {
		t.Fatalf("issue after revert: %+v", is)
	}
}

// The vote issue's 👍/👎 reactions are the votes of eligible logins, each sent once; a
// later reaction replaces the earlier vote; once the proposal is decided the issue is no
// longer read.
func TestReactionsAreVotes(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	ctx := context.Background()
	vr := req("e-vote", bus.MethodInitiateVote, map[string]any{"repo_name": repo, "text": "Adopt the code of conduct?", "users": []any{"alice", "bob"}})
	vr.ProposalID = "p1"
	res, err := h.a.Perform(ctx, vr)
	if err != nil {
		t.Fatal(err)
	}
	if res["post_id"] != "2" || res["url"] != "https://github.com/octo-org/docs/issues/2" {
		t.Fatalf("initiate_vote answered %v", res)
	}
	h.fake.React(owner, repo, 2, "alice", "+1", "alice-1")
	h.fake.React(owner, repo, 2, "bob", "-1", "bob-1")
	h.fake.React(owner, repo, 2, "carol", "+1", "carol-1") // not eligible
	h.fake.React(owner, repo, 2, "alice", "heart", "alice-heart")
	for range 2 {
		if err := h.a.PollVotes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	votes := pub.votes(t)
	got := map[string]bool{}
	for _, v := range votes {
		if v.ProposalID != "p1" || v.CommunityID != "c1" || v.Platform != domain.PlatformGithub || v.Vote.Kind != domain.VoteBoolean {
			t.Fatalf("vote %+v", v)
		}
		got[v.Vote.Username] = v.Vote.Boolean
	}
	if len(votes) != 2 || !got["alice"] || got["bob"] {
		t.Fatalf("votes %+v, want alice yes and bob no once each", votes)
	}
	h.fake.React(owner, repo, 2, "bob", "+1", "bob-2")
	if err := h.a.PollVotes(ctx); err != nil {
		t.Fatal(err)
	}
	votes = pub.votes(t)
	if len(votes) != 3 || votes[2].Vote.Username != "bob" || !votes[2].Vote.Boolean {
		t.Fatalf("after bob's 👍: %+v", votes)
	}
	learn(t, h.dir, 2, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: time.Now()}})
	h.fake.React(owner, repo, 2, "alice", "-1", "alice-2")
	if err := h.a.PollVotes(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.votes(t)); n != 3 {
		t.Fatalf("%d votes after the proposal passed, want still 3", n)
	}
}

// A vote issue whose proposal is decided is closed with a comment stating the result, once:
// polled again, or by another process that still read it open (sharing the ledger), it is
// not commented on or closed again.
func TestDecidedVoteIssueIsClosedOnce(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	ctx := context.Background()
	open := func(proposal string) int {
		t.Helper()
		r := req("e-vote-"+proposal, bus.MethodInitiateVote, map[string]any{"repo_name": repo, "text": "Adopt it?"})
		r.ProposalID = proposal
		res, err := h.a.Perform(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := issueNumber(res["post_id"].(string))
		return n
	}
	passed, failed, pending := open("p1"), open("p2"), open("p3")
	learn(t, h.dir, 2, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: time.Now()}})
	learn(t, h.dir, 3, domain.ProposalFailed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p2", At: time.Now()}})
	before := len(h.fake.Changes())
	for range 2 {
		if err := h.a.PollVotes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for n, result := range map[int]string{passed: "passed", failed: "failed"} {
		is, _ := h.fake.Issue(owner, repo, n)
		if is.State != "closed" || len(is.Comments) != 1 || !strings.HasPrefix(is.Comments[0], "The proposal "+result+".") {
			t.Fatalf("vote issue #%d of a proposal that %s: %+v", n, result, is)
		}
	}
	if is, _ := h.fake.Issue(owner, repo, pending); is.State != "open" || len(is.Comments) != 0 {
		t.Fatalf("the undecided vote issue: %+v", is)
	}
	if got := len(h.fake.Changes()) - before; got != 4 {
		t.Fatalf("%d changes closing two vote issues, want 4: %q", got, h.fake.Changes()[before:])
	}

	// Another process, its state still showing the issue open, closes nothing again.
	other, err := New(h.a.sec, Deps{Publisher: pub, Directory: h.dir, Ledger: h.ledger, DirectoryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.state.SaveVote(ctx, VoteIssue{Owner: owner, Repo: repo, Number: passed, CommunityID: "c1", ProposalID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := other.PollVotes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(h.fake.Changes()) - before; got != 4 {
		t.Fatalf("another process made %d more changes", got-4)
	}
	if open, _ := other.state.OpenVotes(ctx); len(open) != 0 {
		t.Fatalf("the other process still polls %+v", open)
	}
}
