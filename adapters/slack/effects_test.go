package slack

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// newTestAdapter is an adapter of workspace T1 (community c1) over fake and ledger, without
// the bus: tests call its Perform directly, as the bus's deliveries do.
func newTestAdapter(t testing.TB, fake *fakeSlack, ledger platform.Ledger) *Adapter {
	t.Helper()
	tokens := &MemoryTokens{}
	_ = tokens.SaveBotToken(context.Background(), "T1", "xoxb-test")
	a, err := New(Config{SigningSecret: testSecret, APIURL: fake.srv.GetAPIURL()}, Deps{
		Publisher: discardPublisher{}, Tokens: tokens, Ledger: ledger,
		Directory: StaticDirectory{Teams: map[string]string{"T1": "c1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

type discardPublisher struct{}

func (discardPublisher) Publish(string, ...*message.Message) error { return nil }
func (discardPublisher) Close() error                              { return nil }

// claimWatch is a Ledger that tells, on busy, each time an attempt finds an effect's key
// claimed by another attempt.
type claimWatch struct {
	platform.Ledger
	busy chan string
}

func (w claimWatch) Claim(ctx context.Context, key, holder string, ttl time.Duration) (platform.Claim, error) {
	cl, err := w.Ledger.Claim(ctx, key, holder, ttl)
	if err == nil && !cl.Done && !cl.Claimed {
		select {
		case w.busy <- key:
		default:
		}
	}
	return cl, err
}

func await[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

// Two deliveries of one effect request at once, the second while Slack still holds the
// first's call (slow, or answering 429 and so waited out): Slack posts the vote once, and
// both deliveries answer its result. Through one adapter's memory, and through two
// adapters (two processes) sharing Postgres.
func TestConcurrentDeliveriesOfAnEffectCallSlackOnce(t *testing.T) {
	stores := map[string]func(t *testing.T) (platform.Ledger, platform.Ledger){
		"memory": func(*testing.T) (platform.Ledger, platform.Ledger) { l := platform.NewMemoryLedger(); return l, l },
		"postgres": func(t *testing.T) (platform.Ledger, platform.Ledger) {
			pool := mustMigratedPool(t)
			return platform.PostgresLedger{Pool: pool, Platform: "slack"}, platform.PostgresLedger{Pool: pool, Platform: "slack"}
		},
	}
	for name, mk := range stores {
		for _, c := range []struct {
			name    string
			limited int // the held call is then answered 429 (Retry-After: 1)
		}{{"slow", 0}, {"rate limited", 1}} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				fake := newFakeSlack(t)
				s1, s2 := mk(t)
				busy := make(chan string, 8)
				first, second := newTestAdapter(t, fake, s1), newTestAdapter(t, fake, claimWatch{Ledger: s2, busy: busy})
				held := fake.hold("chat.postMessage")
				fake.rateLimit("chat.postMessage", c.limited)
				req := bus.EffectRequest{CommunityID: "c1", ProposalID: "p1", EffectID: "e-vote", IdempotencyKey: "e-vote",
					Method: "initiate_vote", Purpose: "query", Args: map[string]any{"text": "vote?", "channel": "C1"}}

				type answer struct {
					res map[string]any
					err error
				}
				answers := make(chan answer, 2)
				deliver := func(a *Adapter) {
					res, err := a.Perform(context.Background(), req)
					answers <- answer{res, err}
				}
				go deliver(first)
				await(t, held.entered, "call of the first delivery")
				go deliver(second)
				if key := await(t, busy, "second delivery finding the effect claimed"); key != "e-vote" {
					t.Fatalf("busy on %s", key)
				}
				held.release()
				a1, a2 := await(t, answers, "answer"), await(t, answers, "answer")
				if a1.err != nil || a2.err != nil {
					t.Fatalf("answered %v and %v", a1.err, a2.err)
				}
				if a1.res["post_id"] == nil || !reflect.DeepEqual(a1.res, a2.res) {
					t.Fatalf("answered %v and %v, want one result", a1.res, a2.res)
				}
				if got := fake.answered("chat.postMessage"); len(got) != 1 {
					t.Fatalf("the vote was posted %d times", len(got))
				}
				if got := fake.seen("chat.postMessage"); len(got) != 1+c.limited {
					t.Fatalf("chat.postMessage called %d times, want %d", len(got), 1+c.limited)
				}
			})
		}
	}
}

// An attempt that claimed an effect and crashed (its process died) holds it up only until
// its claim expires: the next delivery then performs it.
func TestEffectClaimOfACrashedAttemptExpires(t *testing.T) {
	for name, s := range map[string]platform.Ledger{"memory": platform.NewMemoryLedger(), "postgres": platform.PostgresLedger{Pool: mustMigratedPool(t), Platform: "slack"}} {
		t.Run(name, func(t *testing.T) {
			fake := newFakeSlack(t)
			a := newTestAdapter(t, fake, s)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if cl, err := s.Claim(ctx, "e-post", "crashed-attempt", 300*time.Millisecond); err != nil || !cl.Claimed {
				t.Fatalf("claim answered %+v %v", cl, err)
			}
			res, err := a.Perform(ctx, bus.EffectRequest{CommunityID: "c1", EffectID: "e-post", IdempotencyKey: "e-post",
				Method: "post_message", Purpose: "policy", Args: map[string]any{"channel": "C1", "text": "hello"}})
			if err != nil || res["ts"] == nil {
				t.Fatalf("answered %v %v", res, err)
			}
			if got := fake.answered("chat.postMessage"); len(got) != 1 {
				t.Fatalf("posted %d times", len(got))
			}
		})
	}
}

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
