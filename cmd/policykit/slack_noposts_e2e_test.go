package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

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

// recordingSlack is slacktest with recording handlers for the Web API methods the adapter
// calls in the post flow.
type recordingSlack struct {
	mu    sync.Mutex
	calls map[string][]url.Values
	ts    int
}

func newRecordingSlack(t *testing.T) (*recordingSlack, string) {
	f := &recordingSlack{calls: map[string][]url.Values{}}
	answers := map[string]func(url.Values) map[string]any{
		"auth.test": func(url.Values) map[string]any { return map[string]any{"user_id": "UBOT", "team_id": "T1"} },
		"conversations.info": func(v url.Values) map[string]any {
			return map[string]any{"channel": map[string]any{"id": v.Get("channel"), "name": "quiet"}}
		},
		"chat.delete": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "ts": v.Get("ts")}
		},
		"chat.postEphemeral": func(url.Values) map[string]any { return map[string]any{"message_ts": "1700000000.999999"} },
		"chat.postMessage": func(v url.Values) map[string]any {
			f.ts++
			return map[string]any{"channel": v.Get("channel"), "ts": fmt.Sprintf("1700000001.%06d", f.ts)}
		},
		"chat.scheduleMessage": func(v url.Values) map[string]any {
			return map[string]any{"channel": v.Get("channel"), "scheduled_message_id": "Q1", "post_at": v.Get("post_at")}
		},
		"conversations.kick": func(url.Values) map[string]any { return map[string]any{} },
		"chat.getPermalink": func(v url.Values) map[string]any {
			return map[string]any{"permalink": "https://garden.slack.com/archives/" + v.Get("channel") + "/p" + v.Get("message_ts")}
		},
	}
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		for m, answer := range answers {
			c.Handle("/"+m, func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				if token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); token != "" && r.Form.Get("token") == "" {
					r.Form.Set("token", token) // recorded with the call's form
				}
				f.mu.Lock()
				f.calls[m] = append(f.calls[m], r.Form)
				res := answer(r.Form)
				f.mu.Unlock()
				res["ok"] = true
				_ = json.NewEncoder(w).Encode(res)
			})
		}
	})
	srv.Start()
	t.Cleanup(srv.Stop)
	return f, srv.GetAPIURL()
}

func (f *recordingSlack) seen(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls[method]...)
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
	awaitSlackGarden(t, app)
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
