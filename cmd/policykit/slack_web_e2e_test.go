package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// Slack actions proposed from PolicyKit's web (the GraphQL API) rather than from Slack: once
// passed, the App's Slack adapter carries them out in the workspace: a scheduled message is
// scheduled with chat.scheduleMessage, a kick is conversations.kick.
func TestSlackActionsProposedFromTheWeb(t *testing.T) {
	fake, apiURL := newRecordingSlack(t)
	app, _ := startSlackApp(t, apiURL, func(cfg *Config) { cfg.GraphQL = true })
	ctx := context.Background()
	newSlackGarden(t, app)
	awaitWorkspace(t, app, "T1")
	token := mustAPIToken(t, app, "alice", "garden", "alice")

	propose := func(actionType, fields string) string {
		t.Helper()
		raw := postGraphQL(t, app, "Bearer "+token, map[string]any{
			"query":     `mutation($in: ProposeActionInput!) { proposeAction(input: $in) { action { id status } proposal { status } } }`,
			"variables": map[string]any{"in": map[string]any{"communityId": "garden", "actionType": actionType, "fieldsJSON": fields}},
		})
		var out struct {
			Data struct {
				ProposeAction struct {
					Action   struct{ ID, Status string }
					Proposal *struct{ Status string }
				}
			}
			Errors []any
		}
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 {
			t.Fatalf("propose %s: %s (%v)", actionType, raw, err)
		}
		if p := out.Data.ProposeAction.Proposal; p == nil || p.Status != "PASSED" {
			t.Fatalf("propose %s: %s, want it passed by the Testing kit", actionType, raw)
		}
		return out.Data.ProposeAction.Action.ID
	}
	executed := func(actionID string) bool {
		var status string
		_ = app.Pool().QueryRow(ctx, `SELECT status FROM actions WHERE id = $1`, actionID).Scan(&status)
		return status == domain.ActionStatusExecuted
	}

	scheduled := propose(domain.ActionSlackScheduleMessage, `{"channel": "C0GENERAL", "text": "Garden work day on Saturday", "post_at": "1900000000"}`)
	waitFor(t, "chat.scheduleMessage", func() bool { return len(fake.seen("chat.scheduleMessage")) == 1 })
	if got := fake.seen("chat.scheduleMessage")[0]; got.Get("channel") != "C0GENERAL" || got.Get("text") != "Garden work day on Saturday" || got.Get("post_at") != "1900000000" {
		t.Errorf("chat.scheduleMessage %v", got)
	}
	waitFor(t, "the scheduled message executed", func() bool { return executed(scheduled) })

	kicked := propose(domain.ActionSlackKickConversation, `{"channel": "C0GENERAL", "user": "UTROLL"}`)
	waitFor(t, "conversations.kick", func() bool { return len(fake.seen("conversations.kick")) == 1 })
	if got := fake.seen("conversations.kick")[0]; got.Get("channel") != "C0GENERAL" || got.Get("user") != "UTROLL" {
		t.Errorf("conversations.kick %v", got)
	}
	waitFor(t, "the kick executed", func() bool { return executed(kicked) })
	time.Sleep(200 * time.Millisecond) // each effect is carried out once
	if n, m := len(fake.seen("chat.scheduleMessage")), len(fake.seen("conversations.kick")); n != 1 || m != 1 {
		t.Errorf("calls: %d chat.scheduleMessage, %d conversations.kick; want one each", n, m)
	}
}
