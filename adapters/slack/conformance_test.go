package slack

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// mutations are the Slack calls that change something, the platform's side of an effect
// (lookups such as auth.test and conversations.list aside).
var mutations = []string{"chat.postMessage", "chat.postEphemeral", "chat.delete", "chat.scheduleMessage",
	"conversations.rename", "conversations.invite", "conversations.kick", "pins.add", "pins.remove"}

// changes returns the mutating calls Slack answered, in order.
func (f *fakeSlack) changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !c.Limited && slices.Contains(mutations, c.Method) {
			out = append(out, c.Method)
		}
	}
	return out
}

// The Slack adapter passes the platform kit's conformance suite.
func TestSlackConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		h := newHarness(t, nil, func(_ *Config, d *Deps) { d.Publisher, d.Ledger = pub, ledger })
		govern := func(id, method string, typ string, fields map[string]any) bus.EffectRequest {
			return bus.EffectRequest{CommunityID: "c1", ActionID: "a-" + id, EffectID: id, IdempotencyKey: id, Platform: domain.PlatformSlack,
				Method: method, Purpose: method, Args: map[string]any{"action_id": "a-" + id, "action_type": typ, "fields": fields}}
		}
		rename := map[string]any{"channel": "C1", "name": "new-name", "previous_name": "general"}
		pin := map[string]any{"channel": "C1", "timestamp": "1700000000.000100"}
		join := map[string]any{"channel": "C1", "users": []any{"U2"}}
		post := map[string]any{"channel": "C1", "text": "hi", "user": "U1", "timestamp": "1700000000.000200"}
		votePosts := map[string]string{}
		send := func(t *testing.T, d delivery) int {
			t.Helper()
			hh := *h
			hh.t = t
			return hh.deliver(d).StatusCode
		}
		return &platformtest.Harness{
			Perform: h.a.Perform,
			Calls:   h.fake.changes,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect: bus.EffectRequest{CommunityID: "c1", EffectID: "e-post", IdempotencyKey: "e-post", Platform: domain.PlatformSlack,
				Method: bus.MethodPostMessage, Purpose: bus.PurposePolicy, Args: map[string]any{"channel": "C1", "text": "hello"}},
			EffectCalls: []string{"chat.postMessage"},
			Govern: []platformtest.GovernCase{
				{Name: "execute rename", Request: govern("x-rename", bus.MethodExecute, domain.ActionSlackRenameConversation, rename), Calls: []string{"conversations.rename"}},
				{Name: "revert rename", Request: govern("r-rename", bus.MethodRevert, domain.ActionSlackRenameConversation, rename), Calls: []string{"conversations.rename"}},
				{Name: "execute post", Request: govern("x-post", bus.MethodExecute, domain.ActionSlackPostMessage, post), Calls: []string{"chat.postMessage"}},
				{Name: "revert post", Request: govern("r-post", bus.MethodRevert, domain.ActionSlackPostMessage, post), Calls: []string{"chat.delete"}},
				{Name: "execute pin", Request: govern("x-pin", bus.MethodExecute, domain.ActionSlackPinMessage, pin), Calls: []string{"pins.add"}},
				{Name: "revert pin", Request: govern("r-pin", bus.MethodRevert, domain.ActionSlackPinMessage, pin), Calls: []string{"pins.remove"}},
				{Name: "execute join", Request: govern("x-join", bus.MethodExecute, domain.ActionSlackJoinConversation, join), Calls: []string{"conversations.invite"}},
				{Name: "revert join", Request: govern("r-join", bus.MethodRevert, domain.ActionSlackJoinConversation, join), Calls: []string{"conversations.kick"}},
			},
			Ingress: &platformtest.Ingress{
				Deliver: func(t *testing.T, eventID string) int {
					return send(t, delivery{body: mustJSON(t, callback(eventID, messageEvent("U1", "C1", "hello", "1700000000.000300")))})
				},
				Forged: func(t *testing.T) int {
					return send(t, delivery{body: mustJSON(t, callback("Ev-forged", messageEvent("U1", "C1", "forged", "1700000000.000400"))), secret: "not-the-secret"})
				},
				Stale: func(t *testing.T) int {
					return send(t, delivery{body: mustJSON(t, callback("Ev-stale", messageEvent("U1", "C1", "replayed", "1700000000.000500"))),
						at: time.Now().Add(-10 * time.Minute)})
				},
				Settle: h.a.workers.Wait,
			},
			Voting: &platformtest.Voting{
				Open: func(t *testing.T, proposalID string) {
					req := busVote("e-vote-"+proposalID, proposalID, "C1")
					req.CommunityID, req.IdempotencyKey = "c1", req.EffectID
					res, err := h.a.Perform(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					votePosts[proposalID] = res["post_id"].(string)
				},
				Vote: func(t *testing.T, proposalID, member, click string) int {
					payload := voteClick(member, "C1", votePosts[proposalID], valueYes)
					payload["actions"].([]any)[0].(map[string]any)["action_ts"] = click
					form := url.Values{"payload": {string(mustJSON(t, payload))}}.Encode()
					return send(t, delivery{body: []byte(form), contentType: "application/x-www-form-urlencoded"})
				},
			},
		}
	})
}
