package slack

import (
	"context"
	"slices"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Deleting a member's post (the revert of a governed post, or delete_message) is done with
// the installing admin's user token when one is stored, since Slack lets a bot delete only
// its own messages; with the bot token otherwise, or when Slack refuses the user token.
func TestDeleteMessageUsesTheAdminUserToken(t *testing.T) {
	revert := func(h *harness, effectID string) {
		h.t.Helper()
		h.effect(bus.EffectRequest{ActionID: "a1", EffectID: effectID, Method: "revert", Purpose: "revert",
			Args: map[string]any{"action_id": "a1", "action_type": domain.ActionSlackPostMessage,
				"fields": map[string]any{"channel": "C1", "text": "hi", "user": "U1", "timestamp": "1700000000.000300"}}})
	}
	cases := []struct {
		name      string
		userToken string // stored before the delete; "" for none
		refusal   string // Slack's answer to the user token; "" when it is accepted
		limited   int    // chat.delete calls answered 429 first
		want      []string
	}{
		{name: "no user token: the bot's", want: []string{"xoxb-test"}},
		{name: "user token stored: the admin's", userToken: "xoxp-admin", want: []string{"xoxp-admin"}},
		{name: "user token rate limited: waits and retries with it", userToken: "xoxp-admin", limited: 1,
			want: []string{"xoxp-admin", "xoxp-admin"}},
		{name: "user token revoked: falls back to the bot's", userToken: "xoxp-admin", refusal: "token_revoked",
			want: []string{"xoxp-admin", "xoxb-test"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			if c.userToken != "" {
				if err := h.a.Tokens().SaveUserToken(context.Background(), "T1", c.userToken); err != nil {
					t.Fatal(err)
				}
			}
			if c.refusal != "" {
				h.fake.refuse(c.userToken, c.refusal)
			}
			h.fake.rateLimit("chat.delete", c.limited)
			revert(h, "e-revert")
			if got := h.fake.tokens("chat.delete"); !slices.Equal(got, c.want) {
				t.Fatalf("chat.delete called with tokens %q, want %q", got, c.want)
			}
			calls := h.fake.seen("chat.delete")
			if last := calls[len(calls)-1]; last.Get("channel") != "C1" || last.Get("ts") != "1700000000.000300" {
				t.Fatalf("deleted %v", last)
			}
		})
	}

	// delete_message, the policies' own way to delete a post, takes the same path.
	h := newHarness(t, nil)
	_ = h.a.Tokens().SaveUserToken(context.Background(), "T1", "xoxp-admin")
	h.effect(bus.EffectRequest{EffectID: "e-del", Method: "delete_message", Purpose: "policy",
		Args: map[string]any{"channel": "C1", "ts": "1700000000.000400"}})
	if got := h.fake.tokens("chat.delete"); !slices.Equal(got, []string{"xoxp-admin"}) {
		t.Fatalf("delete_message used tokens %q", got)
	}
	// Other calls keep using the bot token.
	h.effect(bus.EffectRequest{EffectID: "e-post", Method: "post_message", Purpose: "policy",
		Args: map[string]any{"channel": "C1", "text": "hello"}})
	if got := h.fake.tokens("chat.postMessage"); !slices.Equal(got, []string{"xoxb-test"}) {
		t.Fatalf("chat.postMessage used tokens %q", got)
	}
}
