package bus_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/policykit-go/policykit/bus"
)

// Typed arguments decode from the maps policies pass: one user for a list, numbers as
// options, numbers exact; answers encode to the keys the engine reads.
func TestTypedEffectArgsAndAnswers(t *testing.T) {
	post, err := bus.DecodeArgs[bus.PostMessageArgs](bus.EffectRequest{Method: bus.MethodPostMessage,
		Args: map[string]any{"text": json.Number("5"), "channel": "C1", "users": "U1", "reply_broadcast": true}})
	if err != nil || post.Text != "5" || !reflect.DeepEqual(post.Users, bus.Strings{"U1"}) || !post.ReplyBroadcast {
		t.Fatalf("post args = %+v %v", post, err)
	}
	vote, err := bus.DecodeArgs[bus.InitiateVoteArgs](bus.EffectRequest{Method: bus.MethodInitiateVote,
		Args: map[string]any{"options": []any{"a", json.Number("12345678901234567890")}, "users": []any{"U1", "U2"}}})
	if err != nil || !reflect.DeepEqual(vote.Options, bus.Strings{"a", "12345678901234567890"}) || len(vote.Users) != 2 {
		t.Fatalf("vote args = %+v %v", vote, err)
	}
	gov, err := bus.DecodeArgs[bus.GovernArgs](bus.EffectRequest{Method: bus.MethodRevert,
		Args: map[string]any{"action_id": "a1", "action_type": "slackrenameconversation", "fields": map[string]any{"n": json.Number("9007199254740993")}}})
	if err != nil || gov.ActionID != "a1" || gov.Fields["n"] != json.Number("9007199254740993") {
		t.Fatalf("govern args = %+v %v", gov, err)
	}
	if _, err := bus.DecodeArgs[bus.PostMessageArgs](bus.EffectRequest{Args: map[string]any{"users": map[string]any{}}}); err == nil {
		t.Fatal("users as an object decoded")
	}
	ans, err := bus.Answer(bus.VoteAnswer{PostID: "1.2", URL: "u"})
	if err != nil || ans["post_id"] != "1.2" || ans["url"] != "u" {
		t.Fatalf("vote answer = %v %v", ans, err)
	}
}
