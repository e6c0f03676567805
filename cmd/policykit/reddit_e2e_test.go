package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/reddit/reddittest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// redditPostVote governs posts made on the subreddit: a vote comment whose "+1" replies by
// two of the eligible members pass it, and one "-1" fails it.
var redditPostVote = domain.AddPolicy{PolicyID: "reddit-post-vote", Kind: domain.KindPlatform, Name: "Vote on new posts",
	ActionTypes: []string{domain.ActionRedditMakePost}, Priority: -1, PolicyCode: domain.PolicyCode{
		Filter:     "return True\n",
		Initialize: "pass\n",
		Notify:     `reddit.initiate_vote(text="Keep the post " + action.title + "?", users=["alice-r", "bob-r"])`,
		Check: `if proposal.get_no_votes().count() >= 1:
    return FAILED
if proposal.get_yes_votes().count() >= 2:
    return PASSED
return PROPOSED`,
		Success: "pass\n", Fail: "pass\n",
	}}

// A post made on a subreddit, through the whole App and the Reddit adapter: the adapter
// finds it by polling r/garden/new, the engine reverts it (the post is removed) and the
// policy opens a vote comment; two eligible members' "+1" replies, read back from Reddit's
// API, pass the proposal, and the engine executes it (the post is approved). A second post's
// vote is failed by a member's "-1" replacing their "+1" before the decision: it stays
// removed.
func TestRedditReplyVoteEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := reddittest.New(t.Cleanup)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg := engineConfig(t, bus.TransportGoChannel)
	env := map[string]string{"REDDIT_CLIENT_ID": reddittest.ClientID, "REDDIT_CLIENT_SECRET": reddittest.ClientSecret,
		"REDDIT_TOKEN_KEY": base64.StdEncoding.EncodeToString(key), "REDDIT_API_URL": fake.URL(), "REDDIT_AUTH_URL": fake.URL(),
		"REDDIT_POLL_INTERVAL": "100ms"}
	cfg.getenv = func(k string) string { return env[k] }
	app, stop := startApp(t, cfg)
	defer stop()
	newSlackGarden(t, app, redditPostVote)

	// The garden connects its subreddit; the moderator's token is the one the install flow
	// keeps (encrypted with REDDIT_TOKEN_KEY), as is the account it names.
	connect, err := domain.NewConstitutionAction("connect-reddit", "garden", "alice", domain.AddIntegration{
		Platform: domain.PlatformReddit, ExternalID: "garden", Name: "r/garden"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := &engine.Recorder{Store: app.Store()}
	if _, err := rec.ProposeAction(ctx, bus.ProposeAction{Action: connect}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Reddit connection in the adapters' directory", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM platform_directory_platforms WHERE platform = 'reddit' AND external_id = 'garden'`).Scan(&n)
		return n == 1
	})
	secrets, err := platform.NewPostgresSecrets(app.Pool(), domain.PlatformReddit, key)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := json.Marshal(map[string]any{"access_token": reddittest.AccessToken, "token_type": "bearer", "refresh_token": reddittest.RefreshToken,
		"expiry": time.Now().Add(time.Hour)})
	if err := secrets.Put(ctx, "user:garden", "modbot"); err != nil {
		t.Fatal(err)
	}
	// A post from before the install only sets where the polling starts.
	fake.AddPost("p0", "dave", "Before the install")
	if err := secrets.Put(ctx, "token:garden", string(tok)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the polling cursor of r/garden", func() bool {
		var c string
		_ = app.Pool().QueryRow(ctx, `SELECT newest FROM reddit_cursors WHERE subreddit = 'garden'`).Scan(&c)
		return c == "t3_p0"
	})

	// voteOn waits for the post's removal and the vote comment opened for it, and returns
	// the comment's fullname.
	voteOn := func(post, title string, before int) string {
		t.Helper()
		var comment string
		waitFor(t, "the post "+post+" removed and its vote comment", func() bool {
			for name, text := range fake.Comments() {
				if strings.HasPrefix(text, "Keep the post "+title+"?") {
					comment = name
				}
			}
			return fake.PostState(post) == "removed" && comment != "" && len(fake.Comments()) == before+1
		})
		return comment
	}

	fake.AddPost("p1", "carol", "Seeds to swap")
	c1 := voteOn("t3_p1", "Seeds to swap", 0)
	fake.Reply(c1, "alice-r", "+1", "t1_r1", 1.7e9+1)
	fake.Reply(c1, "carol-r", "+1", "t1_r2", 1.7e9+2) // not eligible
	fake.Reply(c1, "dave-r", "nice", "t1_r3", 1.7e9+3)
	waitFor(t, "the first +1 recorded", func() bool { return countEvents(t, app, domain.EventVoteCast) == 1 })
	if fake.PostState("t3_p1") != "removed" {
		t.Fatal("one +1 passed the proposal")
	}
	fake.Reply(c1, "bob-r", " +1 ", "t1_r4", 1.7e9+4)
	waitFor(t, "the proposal passed and the post approved", func() bool {
		return fake.PostState("t3_p1") == "approved" && countEvents(t, app, domain.EventProposalPassed) >= 1
	})

	fake.AddPost("p2", "erin", "Compost rota")
	c2 := voteOn("t3_p2", "Compost rota", 1)
	fake.Reply(c2, "alice-r", "+1", "t1_r5", 1.7e9+5)
	waitFor(t, "alice's +1 on the second post", func() bool { return countEvents(t, app, domain.EventVoteCast) == 3 })
	fake.Reply(c2, "alice-r", "-1", "t1_r6", 1.7e9+6)
	waitFor(t, "the second proposal failed", func() bool { return countEvents(t, app, domain.EventProposalFailed) == 1 })
	if got := fake.PostState("t3_p2"); got != "removed" {
		t.Fatalf("the failed post is %q, want removed", got)
	}
	// The posts the vote comments are on are the account's own: never governed, so never
	// removed.
	moderated := slices.DeleteFunc(fake.Changes(), func(c string) bool {
		return !strings.HasPrefix(c, "POST /api/approve") && !strings.HasPrefix(c, "POST /api/remove")
	})
	if want := []string{"POST /api/remove t3_p1", "POST /api/approve t3_p1", "POST /api/remove t3_p2"}; !slices.Equal(moderated, want) {
		t.Fatalf("moderation %q, want %q", moderated, want)
	}
}
