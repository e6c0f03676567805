package policy

import (
	"testing"
)

// action.respond(text) answers a Discord slash command: an effect carrying the interaction's
// token; other actions have no respond.
func TestActionRespondAnswersASlashCommand(t *testing.T) {
	r := mustRuntime(t, Options{})
	in := Input{Now: testNow, Seed: 1, Policy: PolicyInfo{ID: "p", Name: "respond"},
		Action: ActionInfo{ID: "a1", Type: "discordslashcommand", Kind: "trigger", Platform: "discord",
			Fields: map[string]any{"value": "ping", "channel": "C1", "interaction_token": "tok-1"}},
		Community: CommunityInfo{Platforms: Platforms}}
	in.Code.Initialize = `action.respond("pong: " + action.value)`
	out := mustEval(t, r, in, BlockInitialize)
	assertEffects(t, out.Effects, fx{"discord", "respond", map[string]any{"text": "pong: ping", "interaction_token": "tok-1"}})

	in.Action.Type, in.Action.Platform = "slackpostmessage", "slack"
	if out := eval(t, r, in, BlockInitialize); out.Err == nil {
		t.Fatal("respond on a Slack action: want an error")
	}
}
