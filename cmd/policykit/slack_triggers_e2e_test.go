package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// The seed's trigger example, "when a Slack channel is renamed, update the generated welcome
// post", through the whole App: a trigger policy on renames (which the Testing kit passes)
// and reactions answers each in the channel, and the rename itself stands.
func TestSlackTriggerPoliciesEndToEnd(t *testing.T) {
	fake, apiURL := newRecordingSlack(t)
	app, hook := startSlackApp(t, apiURL, nil)
	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "welcome", Kind: domain.KindTrigger, Name: "Welcome post follows the channel",
		ActionTypes: []string{domain.ActionSlackRenameConversation, domain.ActionSlackReactionAdded},
		PolicyCode: domain.PolicyCode{
			Filter: "return True\n", Initialize: "pass\n", Check: "return PASSED\n", Notify: "pass\n",
			Success: `if action.action_type == "slackrenameconversation":
    slack.post_message(text=f"Welcome to #{action.name}!", channel=action.channel)
else:
    slack.post_message(text=f":{action.reaction}: noted", channel=action.channel, thread_ts=action.timestamp)
`,
			Fail: "pass\n",
		}})
	awaitWorkspace(t, app, "T1")
	event := func(id, inner string) {
		t.Helper()
		body := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":%q,"event_time":%d,"event":%s}`, id, time.Now().Unix(), inner)
		if code := signedPost(t, hook, "shh", "application/json", []byte(body)); code != http.StatusOK {
			t.Fatalf("event %s answered %d", id, code)
		}
	}

	event("Ev-rename", `{"type":"channel_rename","channel":{"id":"C1","name":"allotments","created":1600000000}}`)
	waitFor(t, "the welcome post for the new name", func() bool {
		for _, p := range fake.seen("chat.postMessage") {
			if p.Get("channel") == "C1" && p.Get("text") == "Welcome to #allotments!" {
				return true
			}
		}
		return false
	})
	event("Ev-react", `{"type":"reaction_added","user":"UBOB","reaction":"tada","item":{"type":"message","channel":"C1","ts":"1700000000.000300"}}`)
	waitFor(t, "the reaction answered in its thread", func() bool {
		for _, p := range fake.seen("chat.postMessage") {
			if p.Get("thread_ts") == "1700000000.000300" && strings.Contains(p.Get("text"), ":tada: noted") {
				return true
			}
		}
		return false
	})
	// The Testing kit passed the rename itself: reverted by nobody.
	time.Sleep(200 * time.Millisecond)
	for _, r := range fake.seen("conversations.rename") {
		if r.Get("name") != "allotments" {
			t.Fatalf("the rename was reverted to %q: a trigger policy must not govern it", r.Get("name"))
		}
	}
}
