package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// The seed's "Don't allow posts in Slack channel" (5.6), as testdata/scenarios gives it.
var dontAllowPosts = domain.PolicyCode{
	Filter:     "return action.channel == \"C025LDZ76R3\"\n",
	Initialize: "pass\n",
	Check:      "return FAILED\n",
	Notify:     "pass\n",
	Success:    "pass\n",
	Fail: `# create an ephemeral post that is only visible to the poster
message = f"Post was deleted because of policy '{policy.name}'"
slack.post_message(
    channel=action.channel,
    users=[action.initiator],
    post_type="ephemeral",
    text=message
)
`,
}

// Seed 5.6 through the whole App (its own Slack adapter at /api/hooks/slack): a member's post
// in the governed channel is deleted and the member told ephemerally; a post elsewhere is
// left alone.
func TestSlackDontAllowPostsEndToEnd(t *testing.T) {
	fake, apiURL := newRecordingSlack(t)
	app, hook := startSlackApp(t, apiURL, func(cfg *Config) {
		getenv := cfg.getenv
		cfg.getenv = func(k string) string {
			if k == "SLACK_USER_TOKEN" {
				return "xoxp-admin"
			}
			return getenv(k)
		}
	})
	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "no-posts", Kind: domain.KindPlatform, Name: "Don't allow posts in Slack channel",
		ActionTypes: []string{domain.ActionSlackPostMessage}, PolicyCode: dontAllowPosts})
	awaitWorkspace(t, app, "T1")
	ctx := context.Background()
	post := func(eventID, channel, ts string) {
		t.Helper()
		body := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":%q,"event_time":%d,
			"event":{"type":"message","channel":%q,"user":"UBOB","text":"anyone up for weeding on Saturday?","ts":%q,"channel_type":"channel"}}`,
			eventID, time.Now().Unix(), channel, ts)
		if code := signedPost(t, hook, "shh", "application/json", []byte(body)); code != http.StatusOK {
			t.Fatalf("message event answered %d", code)
		}
	}
	status := func(eventID string) (s string) {
		_ = app.Pool().QueryRow(ctx, `SELECT status FROM actions WHERE external_id = $1`, eventID).Scan(&s)
		return s
	}

	// Elsewhere: executed, nothing deleted or said.
	post("Ev-elsewhere", "C0GENERAL", "1700000000.000100")
	waitFor(t, "the post elsewhere executed", func() bool { return status("Ev-elsewhere") == domain.ActionStatusExecuted })

	// In the governed channel: deleted, and the poster told privately.
	post("Ev-quiet", "C025LDZ76R3", "1700000000.000200")
	waitFor(t, "the post deleted and the poster told", func() bool {
		return len(fake.seen("chat.delete")) > 0 && len(fake.seen("chat.postEphemeral")) > 0
	})
	waitFor(t, "the post rejected in the read model", func() bool { return status("Ev-quiet") == domain.ActionStatusRejected })
	time.Sleep(200 * time.Millisecond) // room for a wrong second delete or notice
	del := fake.seen("chat.delete")
	if len(del) != 1 || del[0].Get("channel") != "C025LDZ76R3" || del[0].Get("ts") != "1700000000.000200" {
		t.Fatalf("deleted %v", del)
	}
	// Slack lets a bot delete only its own posts: the member's is deleted with the admin's token.
	if tok := del[0].Get("token"); tok != "xoxp-admin" {
		t.Errorf("chat.delete with token %q, want the admin's user token", tok)
	}
	if eph := fake.seen("chat.postEphemeral"); len(eph) > 0 && eph[0].Get("token") != "xoxb-garden" {
		t.Errorf("notice posted with token %q, want the bot's", eph[0].Get("token"))
	}
	eph := fake.seen("chat.postEphemeral")
	if len(eph) != 1 || eph[0].Get("channel") != "C025LDZ76R3" || eph[0].Get("user") != "UBOB" ||
		eph[0].Get("text") != "Post was deleted because of policy 'Don't allow posts in Slack channel'" {
		t.Fatalf("ephemeral notice %v", eph)
	}
	if p := fake.seen("chat.postMessage"); len(p) != 0 {
		t.Fatalf("posted publicly: %v", p)
	}
	c, err := engine.LoadCommunity(ctx, app.Store(), "garden")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := c.UserByUsername(domain.PlatformSlack, "UBOB"); !ok || u.IsAdmin {
		t.Fatalf("the poster registered as %+v (%v)", u, ok)
	}
}
