package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// commands collects the commands published on an in-process bus.
type commands struct {
	mu      sync.Mutex
	propose []bus.ProposeAction
	votes   []bus.CastVote
}

func watch(t *testing.T) (*bus.Bus, *commands) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	c := &commands{}
	for _, topic := range []string{bus.TopicProposeAction, bus.TopicCastVote} {
		msgs, err := b.Subscriber().Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range msgs {
				m.Ack()
				c.mu.Lock()
				if topic == bus.TopicCastVote {
					var v bus.CastVote
					_ = json.Unmarshal(m.Payload, &v)
					c.votes = append(c.votes, v)
				} else {
					var p bus.ProposeAction
					_ = json.Unmarshal(m.Payload, &p)
					c.propose = append(c.propose, p)
				}
				c.mu.Unlock()
			}
		}()
	}
	return b, c
}

func (c *commands) snapshot() ([]bus.ProposeAction, []bus.CastVote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bus.ProposeAction(nil), c.propose...), append([]bus.CastVote(nil), c.votes...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PING is answered PONG; an unsigned, a forged or a stale interaction gets 401 and changes
// nothing.
func TestInteractionsAreSigned(t *testing.T) {
	b, cmds := watch(t)
	h := newHarness(t, b.Publisher(), nil)
	if code, out := h.post(t, discordtest.Ping(appID), time.Now()); code != http.StatusOK || out["type"] != float64(1) {
		t.Fatalf("PING answered %d %v, want PONG", code, out)
	}
	body := discordtest.SlashCommand("I-1", appID, guild, "C1", "U1", "ping")
	resp, err := http.Post(h.hook, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unsigned interaction answered %d", resp.StatusCode)
	}
	if code, _, _ := discordtest.NewKey().Post(h.hook, body, time.Now()); code != http.StatusUnauthorized {
		t.Fatalf("a forged interaction answered %d", code)
	}
	if code, _ := h.post(t, body, time.Now().Add(-6*time.Minute)); code != http.StatusUnauthorized {
		t.Fatalf("a stale interaction answered %d", code)
	}
	// The same body signed now is taken: deferred, and proposed once.
	code, out := h.post(t, body, time.Now())
	if code != http.StatusOK || out["type"] != float64(responseDeferred) {
		t.Fatalf("the slash command answered %d %v, want a deferred response", code, out)
	}
	h.a.workers.Wait()
	eventually(t, "the slash command proposed", func() bool { p, _ := cmds.snapshot(); return len(p) == 1 })
	p, _ := cmds.snapshot()
	act := p[0].Action
	if act.Type != domain.ActionDiscordSlashCommand || act.Kind != domain.KindTrigger || act.Fields["value"] != "ping" ||
		act.Fields["channel"] != "C1" || act.Fields["interaction_token"] != "itoken-I-1" || p[0].Initiator.Username != "U1" {
		t.Fatalf("proposed %+v by %+v", act, p[0].Initiator)
	}
	if calls := h.fake.Changes(); len(calls) != 0 {
		t.Fatalf("interactions called Discord: %q", calls)
	}
}

// A vote: buttons per option; an ineligible member is told so and casts nothing; an eligible
// one votes and changes their vote; once decided the message shows the result, its buttons
// disabled, and later clicks are told the vote ended.
func TestVoteButtons(t *testing.T) {
	b, cmds := watch(t)
	h := newHarness(t, b.Publisher(), nil)
	ctx := context.Background()
	res, err := h.a.Perform(ctx, voteRequest("e-vote", "p1", map[string]any{"channel": "C1", "text": "Lunch?", "options": []any{"pizza", "soup"}, "users": []any{"U1"}}))
	if err != nil {
		t.Fatal(err)
	}
	msgID := res["post_id"].(string)
	if res["url"] != h.fake.URL()+"channels/G1/C1/"+msgID {
		t.Fatalf("vote url %v", res["url"])
	}
	posted := h.fake.Seen("POST /channels/C1/messages")
	if len(posted) != 1 || !strings.Contains(mustJSON(t, posted[0].Body["components"]), `"custom_id":"policykit_vote:1"`) {
		t.Fatalf("vote posted as %v", posted)
	}
	click := func(id, member, custom string) map[string]any {
		code, out := h.post(t, discordtest.Click(id, appID, guild, "C1", msgID, member, custom), time.Now())
		if code != http.StatusOK {
			t.Fatalf("click answered %d", code)
		}
		return out
	}
	if out := click("K1", "U2", votePrefix+"0"); out["data"].(map[string]any)["content"] != "You may not vote on this." ||
		out["data"].(map[string]any)["flags"] != float64(flagEphemeral) {
		t.Fatalf("an ineligible click answered %v", out)
	}
	click("K2", "U1", votePrefix+"0")
	click("K3", "U1", votePrefix+"1") // changes their vote
	if code, _ := h.post(t, discordtest.Click("K4", appID, guild, "C1", msgID, "U1", votePrefix+"7"), time.Now()); code != http.StatusBadRequest {
		t.Fatalf("a click on an option the vote lacks answered %d", code)
	}
	eventually(t, "two votes", func() bool { _, v := cmds.snapshot(); return len(v) == 2 })
	_, votes := cmds.snapshot()
	if votes[0].Vote.Choice != "pizza" || votes[1].Vote.Choice != "soup" || votes[1].Vote.Username != "U1" || votes[1].ProposalID != "p1" {
		t.Fatalf("votes %+v", votes)
	}

	at := time.Now()
	learn(t, h.dir, 2, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
	data, _ := json.Marshal(domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
	if err := h.a.showResult(ctx, bus.EventEnvelope{Type: domain.EventProposalPassed, Data: data}); err != nil {
		t.Fatal(err)
	}
	m := h.fake.Message(msgID)
	if !strings.Contains(m["content"].(string), "This vote has ended: passed.") || strings.Contains(mustJSON(t, m["components"]), `"disabled":false`) ||
		!strings.Contains(mustJSON(t, m["components"]), `"disabled":true`) {
		t.Fatalf("the decided vote's message: %v", m)
	}
	if out := click("K5", "U1", votePrefix+"0"); !strings.HasPrefix(out["data"].(map[string]any)["content"].(string), "This vote has ended") {
		t.Fatalf("a late click answered %v", out)
	}
	time.Sleep(50 * time.Millisecond)
	if _, v := cmds.snapshot(); len(v) != 2 {
		t.Fatalf("%d votes cast, want 2", len(v))
	}
}

// A 429, of the route or global, is waited out (retry_after) and the effect performed once.
func TestRateLimitIsWaitedOut(t *testing.T) {
	b, _ := watch(t)
	h := newHarness(t, b.Publisher(), nil)
	h.fake.RateLimit("POST /channels/C1/messages", 1, 0.2, false)
	h.fake.RateLimit("POST /channels/C1/messages", 1, 0.1, true)
	req := bus.EffectRequest{CommunityID: "c1", EffectID: "e1", IdempotencyKey: "e1", Platform: domain.PlatformDiscord,
		Method: bus.MethodPostMessage, Purpose: bus.PurposePolicy, Args: map[string]any{"channel": "C1", "text": "hello", "message_id": "M0"}}
	res, err := h.a.Perform(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.a.Perform(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	all := h.fake.Calls()
	if len(all) != 3 || !all[0].Limited || !all[1].Limited || all[2].Limited {
		t.Fatalf("calls %+v: want two 429s then one post", all)
	}
	if ref, _ := all[2].Body["message_reference"].(map[string]any); ref["message_id"] != "M0" || res["message_id"] == "" {
		t.Fatalf("posted %v, answered %v: want a reply to M0", all[2].Body, res)
	}
	// Asked to wait longer than the attempt may: the effect fails, and is performed by the
	// next delivery.
	h.fake.RateLimit("POST /channels/C2/messages", 1, 30, false)
	req2 := req
	req2.EffectID, req2.IdempotencyKey, req2.Args = "e2", "e2", map[string]any{"channel": "C2", "text": "later"}
	if _, err := h.a.Perform(context.Background(), req2); err == nil || !strings.Contains(err.Error(), "rate limited") {
		t.Fatalf("a 30s retry_after: %v", err)
	}
	if _, err := h.a.Perform(context.Background(), req2); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Seen("POST /channels/C2/messages")); n != 1 {
		t.Fatalf("%d posts in C2, want 1", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
