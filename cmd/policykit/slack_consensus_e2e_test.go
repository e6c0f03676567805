package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policytest"
)

// consensusVote is seed 5.8 "Consensus vote in Slack with restricted voting + reminder"
// running in the whole App (its own Slack adapter, re-checks every 100ms) up to the vote
// being posted: a "core-group-vote" post in C0CORE has triggered a restricted choice vote
// in C0ABC123 and a discussion post in its thread.
type consensusVote struct {
	t      *testing.T
	app    *App
	fake   *recordingSlack
	hook   string
	voteTS string
}

// startConsensusVote starts the App with the engine's clock now (nil: time.Now) and opens
// the vote.
func startConsensusVote(t *testing.T, now func() time.Time) *consensusVote {
	t.Helper()
	scenario, err := policytest.Load("../../testdata/scenarios/5.08_consensus_vote_in_slack_with_reminder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if now == nil {
		now = time.Now
	}
	fake, apiURL := newRecordingSlack(t)
	app, hook := startSlackApp(t, apiURL, func(cfg *Config) {
		cfg.RecheckInterval = 100 * time.Millisecond
		cfg.now = now
	})
	ctx := context.Background()
	v := &consensusVote{t: t, app: app, fake: fake, hook: hook, voteTS: "1700000001.000001"}
	newSlackGarden(t, app, domain.AddPolicyOf("consensus", scenario.Policies[0].Spec))
	awaitWorkspace(t, app, "T1")

	body := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev-core","event_time":%d,
		"event":{"type":"message","channel":"C0CORE","user":"U01","text":"core-group-vote adopt the new code of conduct","ts":"1700000000.000100","channel_type":"channel"}}`,
		time.Now().Unix())
	if code := signedPost(t, v.hook, "shh", "application/json", []byte(body)); code != http.StatusOK {
		t.Fatalf("message event answered %d", code)
	}
	waitFor(t, "the vote and the discussion post", func() bool { return len(fake.seen("chat.postMessage")) >= 2 })
	posts := fake.seen("chat.postMessage")
	vote, discuss := posts[0], posts[1]
	if vote.Get("channel") != "C0ABC123" || !strings.HasPrefix(vote.Get("text"), "<@channel>, please respond to this proposal: adopt the new code of conduct If all") {
		t.Fatalf("vote posted as %v", vote)
	}
	for _, o := range []string{"consent", "object", "abstain"} {
		if !strings.Contains(vote.Get("blocks"), `"value":"`+o+`"`) {
			t.Fatalf("no %s button: %s", o, vote.Get("blocks"))
		}
	}
	if discuss.Get("channel") != "C0ABC123" || discuss.Get("text") != "Discuss here! :meow-wave:" || discuss.Get("thread_ts") != v.voteTS {
		t.Fatalf("discussion post %v", discuss)
	}
	waitFor(t, "the engine to record the vote post", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventVotePostRecorded).Scan(&n)
		return n == 1
	})
	return v
}

// click sends the signed interactivity payload of a member's click on a vote button; n
// makes its action_ts unique.
func (v *consensusVote) click(member, value string, n int) {
	v.t.Helper()
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": member},
		"container": map[string]any{"type": "message", "message_ts": v.voteTS, "channel_id": "C0ABC123"},
		"actions": []any{map[string]any{"type": "button", "block_id": "policykit_vote", "action_id": "policykit_vote_" + value,
			"value": value, "action_ts": fmt.Sprintf("1700000100.%06d", n)}}})
	if code := signedPost(v.t, v.hook, "shh", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(payload)}}.Encode())); code != http.StatusOK {
		v.t.Fatalf("click of %s answered %d", member, code)
	}
}

// vote clicks as the n-th voter and waits for the engine to record the vote.
func (v *consensusVote) vote(member, value string, n int) {
	v.t.Helper()
	v.click(member, value, n)
	waitFor(v.t, "vote "+member, func() bool { return v.votes() == n })
}

func (v *consensusVote) votes() (n int) {
	_ = v.app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1`, domain.EventVoteCast).Scan(&n)
	return n
}

func (v *consensusVote) status() string {
	var status string
	if err := v.app.Pool().QueryRow(context.Background(), `SELECT status FROM proposals WHERE policy_id = 'consensus'`).Scan(&status); err != nil {
		v.t.Fatalf("proposal status: %v", err)
	}
	return status
}

// Seed 5.8 through the whole App: a member outside the core group is refused ephemerally;
// once all six have consented or abstained the proposal passes and the result is posted in
// the vote's thread.
func TestSlackConsensusVoteEndToEnd(t *testing.T) {
	v := startConsensusVote(t, nil)
	// Outside the core group: refused ephemerally.
	v.click("U99", "consent", 0)
	if eph := v.fake.seen("chat.postEphemeral"); len(eph) != 1 || eph[0].Get("user") != "U99" {
		t.Fatalf("refusal %v", eph)
	}
	for i, c := range [][2]string{{"U01", "consent"}, {"U02", "consent"}, {"U03", "abstain"}, {"U04", "consent"}, {"U05", "consent"}} {
		v.vote(c[0], c[1], i+1)
	}
	time.Sleep(300 * time.Millisecond) // a few re-checks: still open, nothing said
	if p := v.fake.seen("chat.postMessage"); len(p) != 2 {
		t.Fatalf("posted before everyone voted: %v", p[2:])
	}
	v.click("U06", "abstain", 6)
	waitFor(t, "the result in the vote's thread", func() bool { return len(v.fake.seen("chat.postMessage")) >= 3 })
	time.Sleep(300 * time.Millisecond) // a few re-check periods: no second result
	posts := v.fake.seen("chat.postMessage")
	if len(posts) != 3 || posts[2].Get("text") != "<@U01>'s proposal passed!" || posts[2].Get("channel") != "C0CORE" || posts[2].Get("thread_ts") != v.voteTS {
		t.Fatalf("posts %v", posts)
	}
	if status := v.status(); status != "PASSED" {
		t.Fatalf("proposal %s, want PASSED", status)
	}
}

// virtualClock is real time shifted by an offset the test moves forward.
type virtualClock struct{ offset atomic.Int64 }

func (c *virtualClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *virtualClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// Seed 5.8's reminder and deadline on the engine's virtual clock: a day before the five
// days are up, the first re-check reminds, in the vote's thread, the core members who have
// not voted, once; after five days, two consents and no objection pass the proposal.
func TestSlackConsensusReminderADayBeforeTheDeadline(t *testing.T) {
	clock := &virtualClock{}
	v := startConsensusVote(t, clock.now)
	v.vote("U01", "consent", 1)
	v.vote("U02", "consent", 2)

	clock.advance(4*24*time.Hour - time.Hour) // three days and 23 hours: no reminder yet
	time.Sleep(400 * time.Millisecond)
	if p := v.fake.seen("chat.postMessage"); len(p) != 2 {
		t.Fatalf("posted before the last day: %v", p[2:])
	}

	clock.advance(time.Hour + time.Minute) // into the last day
	waitFor(t, "the reminder", func() bool { return len(v.fake.seen("chat.postMessage")) >= 3 })
	time.Sleep(400 * time.Millisecond) // more re-checks: the reminder is sent once
	posts := v.fake.seen("chat.postMessage")
	want := "There is one day left to vote on this proposal. <@U03>, <@U04>, <@U05>, <@U06> have not voted yet."
	if len(posts) != 3 || posts[2].Get("text") != want || posts[2].Get("channel") != "C0CORE" || posts[2].Get("thread_ts") != v.voteTS {
		t.Fatalf("posts %v, want the reminder once", posts)
	}
	if status := v.status(); status != "PROPOSED" {
		t.Fatalf("proposal %s on the last day, want PROPOSED", status)
	}

	clock.advance(24 * time.Hour) // past the five days
	waitFor(t, "the result", func() bool { return len(v.fake.seen("chat.postMessage")) >= 4 })
	posts = v.fake.seen("chat.postMessage")
	if posts[3].Get("text") != "<@U01>'s proposal passed!" || posts[3].Get("thread_ts") != v.voteTS {
		t.Fatalf("result %v", posts[3])
	}
	waitFor(t, "the decision in the read model", func() bool { return v.status() == "PASSED" })
}
