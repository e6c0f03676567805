package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/policytest"
	"github.com/policykit-go/policykit/starterkits"
)

// Seed 5.8 "Consensus vote in Slack with restricted voting + reminder" through the whole App
// (its own Slack adapter), with re-checks every 100ms while the vote is open: a
// "core-group-vote" post triggers a restricted choice vote in C0ABC123 and a discussion post
// in its thread; a member outside the core group is refused ephemerally; once all six have
// consented or abstained the proposal passes and the result is posted in the vote's thread.
// The reminder and the five-day deadline need days of virtual time: the scenario test
// (testdata/scenarios/5.08_*.yaml) covers them.
func TestSlackConsensusVoteEndToEnd(t *testing.T) {
	scenario, err := policytest.Load("../../testdata/scenarios/5.08_consensus_vote_in_slack_with_reminder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fake, apiURL := newRecordingSlack(t)
	cfg := engineConfig(t, "gochannel")
	cfg.LogPlatforms = []string{domain.PlatformLog}
	cfg.RecheckInterval = 100 * time.Millisecond
	env := map[string]string{"SLACK_SIGNING_SECRET": "shh", "SLACK_API_URL": apiURL, "SLACK_TEAM_ID": "T1", "SLACK_BOT_TOKEN": "xoxb-garden"}
	cfg.getenv = func(k string) string { return env[k] }
	app, stop := startApp(t, cfg)
	defer stop()
	ctx := context.Background()
	hook := "http://" + app.listener.Addr().String() + "/api/hooks/slack"

	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack, ExternalID: "T1"},
		kit, domain.RegisterUser{UserID: "admin", Username: "UADMIN", ReadableName: "Admin", IsAdmin: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, app.Store(), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideAddPolicy(domain.AddPolicyOf("consensus", scenario.Policies[0].Spec), time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slack platform in the read model", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM community_platforms WHERE external_id = 'T1'`).Scan(&n)
		return n == 1
	})

	body := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev-core","event_time":%d,
		"event":{"type":"message","channel":"C0CORE","user":"U01","text":"core-group-vote adopt the new code of conduct","ts":"1700000000.000100","channel_type":"channel"}}`,
		time.Now().Unix())
	if code := signedPost(t, hook, "shh", "application/json", []byte(body)); code != http.StatusOK {
		t.Fatalf("message event answered %d", code)
	}
	waitFor(t, "the vote and the discussion post", func() bool { return len(fake.seen("chat.postMessage")) >= 2 })
	posts := fake.seen("chat.postMessage")
	vote, discuss := posts[0], posts[1]
	voteTS := "1700000001.000001"
	if vote.Get("channel") != "C0ABC123" || !strings.HasPrefix(vote.Get("text"), "<@channel>, please respond to this proposal: adopt the new code of conduct If all") {
		t.Fatalf("vote posted as %v", vote)
	}
	for _, o := range []string{"consent", "object", "abstain"} {
		if !strings.Contains(vote.Get("blocks"), `"value":"`+o+`"`) {
			t.Fatalf("no %s button: %s", o, vote.Get("blocks"))
		}
	}
	if discuss.Get("channel") != "C0ABC123" || discuss.Get("text") != "Discuss here! :meow-wave:" || discuss.Get("thread_ts") != voteTS {
		t.Fatalf("discussion post %v", discuss)
	}
	waitFor(t, "the engine to record the vote post", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventVotePostRecorded).Scan(&n)
		return n == 1
	})

	click := func(member, value string, n int) {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": member},
			"container": map[string]any{"type": "message", "message_ts": voteTS, "channel_id": "C0ABC123"},
			"actions": []any{map[string]any{"type": "button", "block_id": "policykit_vote", "action_id": "policykit_vote_" + value,
				"value": value, "action_ts": fmt.Sprintf("1700000100.%06d", n)}}})
		if code := signedPost(t, hook, "shh", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(payload)}}.Encode())); code != http.StatusOK {
			t.Fatalf("click of %s answered %d", member, code)
		}
	}
	// Outside the core group: refused ephemerally.
	click("U99", "consent", 0)
	if eph := fake.seen("chat.postEphemeral"); len(eph) != 1 || eph[0].Get("user") != "U99" {
		t.Fatalf("refusal %v", eph)
	}
	votes := func() (n int) {
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventVoteCast).Scan(&n)
		return n
	}
	for i, v := range [][2]string{{"U01", "consent"}, {"U02", "consent"}, {"U03", "abstain"}, {"U04", "consent"}, {"U05", "consent"}} {
		click(v[0], v[1], i+1)
		waitFor(t, "vote "+v[0], func() bool { return votes() == i+1 })
	}
	time.Sleep(300 * time.Millisecond) // a few re-checks: still open, nothing said
	if p := fake.seen("chat.postMessage"); len(p) != 2 {
		t.Fatalf("posted before everyone voted: %v", p[2:])
	}
	click("U06", "abstain", 6)
	waitFor(t, "the result in the vote's thread", func() bool { return len(fake.seen("chat.postMessage")) >= 3 })
	time.Sleep(300 * time.Millisecond) // a few re-check periods: no second result
	posts = fake.seen("chat.postMessage")
	if len(posts) != 3 || posts[2].Get("text") != "<@U01>'s proposal passed!" || posts[2].Get("channel") != "C0CORE" || posts[2].Get("thread_ts") != voteTS {
		t.Fatalf("posts %v", posts)
	}
	var status string
	if err := app.Pool().QueryRow(ctx, `SELECT status FROM proposals`).Scan(&status); err != nil || status != "PASSED" {
		t.Fatalf("proposal %q (%v)", status, err)
	}
}
