package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// harness is one adapter wired to the in-process bus, a fake Slack and an HTTP server with
// the hook route, with subscriptions observing the commands it publishes.
type harness struct {
	t       *testing.T
	a       *Adapter
	fake    *fakeSlack
	hook    string
	b       *bus.Bus
	propose chan *message.Message
	votes   chan *message.Message
	results chan *message.Message
}

// newHarness starts a harness; opts change the adapter's Config and Deps before New.
func newHarness(t *testing.T, state State, opts ...func(*Config, *Deps)) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	h := &harness{t: t, fake: newFakeSlack(t), b: b}
	h.propose = h.observe(ctx, bus.TopicProposeAction)
	h.votes = h.observe(ctx, bus.TopicCastVote)
	h.results = h.observe(ctx, bus.TopicRecordEffectResult)

	tokens := &MemoryTokens{}
	if err := tokens.SaveBotToken(ctx, "T1", "xoxb-test"); err != nil {
		t.Fatal(err)
	}
	cfg := Config{SigningSecret: testSecret, APIURL: h.fake.srv.GetAPIURL()}
	deps := Deps{
		Publisher: b.Publisher(), Tokens: tokens, State: state,
		Directory: StaticDirectory{Teams: map[string]string{"T1": "c1"}, Users: map[string]map[string]string{"c1": {"U1": "user-1"}}},
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	h.a, err = New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.a.Close() })
	ready := make(chan struct{})
	runErr := make(chan error, 1)
	go func() { runErr <- h.a.Run(ctx, b, ready) }()
	select {
	case <-ready:
	case err := <-runErr:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("effects consumer not ready")
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/hooks/slack", h.a)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.hook = srv.URL + "/api/hooks/slack"
	return h
}

func (h *harness) observe(ctx context.Context, topic string) chan *message.Message {
	h.t.Helper()
	msgs, err := h.b.Subscriber().Subscribe(ctx, topic)
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(chan *message.Message, 64)
	go func() {
		for m := range msgs {
			m.Ack()
			out <- m
		}
	}()
	return out
}

// sign returns Slack's v0 signature of body at ts.
func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// hookClient is Slack calling the hook; Slack itself gives up after three seconds, the
// tests, on slow machines, later.
var hookClient = &http.Client{Timeout: 10 * time.Second}

type delivery struct {
	body        []byte
	contentType string
	secret      string
	at          time.Time
	retryNum    int
}

func (h *harness) deliver(d delivery) *http.Response {
	h.t.Helper()
	if d.secret == "" {
		d.secret = testSecret
	}
	if d.at.IsZero() {
		d.at = time.Now()
	}
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	ts := strconv.FormatInt(d.at.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, h.hook, bytes.NewReader(d.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", d.contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sign(d.secret, ts, d.body))
	if d.retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(d.retryNum))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := hookClient.Do(req)
	if err != nil {
		h.t.Fatal(err) // a hook that does not answer times out
	}
	_ = resp.Body.Close()
	return resp
}

// event posts an event_callback and expects the 200 acknowledgement.
func (h *harness) event(eventID string, inner map[string]any, retryNum int) {
	h.t.Helper()
	body := mustJSON(h.t, callback(eventID, inner))
	if resp := h.deliver(delivery{body: body, retryNum: retryNum}); resp.StatusCode != http.StatusOK {
		h.t.Fatalf("event %s answered %d", eventID, resp.StatusCode)
	}
}

// click posts a signed block_actions payload: member clicks the button with value on the
// vote message ts in channel.
func (h *harness) click(member, channel, ts, value string) *http.Response {
	h.t.Helper()
	payload := mustJSON(h.t, voteClick(member, channel, ts, value))
	form := url.Values{"payload": {string(payload)}}.Encode()
	return h.deliver(delivery{body: []byte(form), contentType: "application/x-www-form-urlencoded"})
}

// callback is the event_callback of team T1 carrying inner, as Slack delivers it to the hook
// (and in a Socket Mode events_api envelope).
func callback(eventID string, inner map[string]any) map[string]any {
	return map[string]any{"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
		"event_id": eventID, "event_time": 1700000000, "event": inner}
}

// voteClick is the block_actions payload of member clicking the button with value on the
// vote message ts in channel (the hook's form field "payload", or a Socket Mode interactive
// envelope's payload).
func voteClick(member, channel, ts, value string) map[string]any {
	return map[string]any{
		"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": member},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel},
		"channel":   map[string]any{"id": channel}, "message": map[string]any{"ts": ts},
		"actions": []any{map[string]any{"type": "button", "block_id": voteBlockID, "action_id": voteActionPrefix + value,
			"value": value, "action_ts": strconv.FormatInt(time.Now().UnixNano(), 10)}},
	}
}

// effect publishes an effect request on the bus and returns the adapter's reply, which must
// not be an error.
func (h *harness) effect(req bus.EffectRequest) bus.RecordEffectResult {
	h.t.Helper()
	res := h.reply(req)
	if res.Error != "" {
		h.t.Fatalf("effect %s (%s) failed: %s", req.EffectID, req.Method, res.Error)
	}
	return res
}

// reply publishes an effect request on the bus and returns the adapter's reply.
func (h *harness) reply(req bus.EffectRequest) bus.RecordEffectResult {
	h.t.Helper()
	req.Platform = "slack"
	req.CommunityID = "c1"
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = req.EffectID
	}
	msg := bus.NewMessage(uuid.NewSHA1(uuid.NameSpaceOID, []byte("effect:"+req.EffectID)).String(), bus.MessageEffectRequest, mustJSON(h.t, req))
	if err := h.b.Publisher().Publish(bus.EffectsTopic("slack"), msg); err != nil {
		h.t.Fatal(err)
	}
	for {
		var res bus.RecordEffectResult
		decode(h.t, h.next(h.results, "effect result of "+req.EffectID), &res)
		if res.EffectID == req.EffectID {
			return res
		}
	}
}

func (h *harness) next(ch chan *message.Message, what string) *message.Message {
	h.t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no %s", what)
		return nil
	}
}

// quiet waits for the background work to finish and checks nothing more was published on ch.
func (h *harness) quiet(ch chan *message.Message, what string) {
	h.t.Helper()
	h.a.workers.Wait()
	select {
	case m := <-ch:
		h.t.Fatalf("unexpected %s: %s", what, m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
}

func (h *harness) proposed() domain.Action {
	h.t.Helper()
	var cmd bus.ProposeAction
	m := h.next(h.propose, "ProposeAction")
	decode(h.t, m, &cmd)
	if m.UUID != cmd.Action.ID || m.Metadata.Get(bus.MetadataMessageType) != bus.CommandProposeAction {
		h.t.Fatalf("message %s (%s) carries action %s", m.UUID, m.Metadata.Get(bus.MetadataMessageType), cmd.Action.ID)
	}
	// The adapter names the initiator by member id and leaves the user id to the engine;
	// the action comes back with that member id as its InitiatorID, for the tests to check.
	if cmd.Action.InitiatorID != "" {
		h.t.Fatalf("the adapter set initiator_id %q itself", cmd.Action.InitiatorID)
	}
	if in := cmd.Initiator; in != nil {
		if in.Platform != domain.PlatformSlack || in.Username == "" {
			h.t.Fatalf("initiator %+v", *in)
		}
		cmd.Action.InitiatorID = in.Username
	}
	return cmd.Action
}

func (h *harness) castVote() bus.CastVote {
	h.t.Helper()
	var cmd bus.CastVote
	decode(h.t, h.next(h.votes, "CastVote"), &cmd)
	return cmd
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decode(tb testing.TB, m *message.Message, v any) {
	tb.Helper()
	if err := json.Unmarshal(m.Payload, v); err != nil {
		tb.Fatal(err)
	}
}

func messageEvent(user, channel, text, ts string) map[string]any {
	return map[string]any{"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel"}
}

func renameEvent(channel, name string) map[string]any {
	return map[string]any{"type": "channel_rename", "channel": map[string]any{"id": channel, "name": name, "created": 1600000000}, "event_ts": "1700000001.000100"}
}

// The seed's "Vote on renaming Slack channels" (5.1), at the adapter's edges.
func TestRenameVoteFlow(t *testing.T) {
	h := newHarness(t, nil)

	// The first event of the workspace: the adapter knows C1's name from conversations.list.
	h.event("Ev-rename", renameEvent("C1", "new-name"), 0)
	a := h.proposed()
	if a.Type != domain.ActionSlackRenameConversation || a.Kind != domain.KindPlatform || a.Platform != "slack" || !a.Reversible ||
		a.CommunityID != "c1" || a.ExternalID != "Ev-rename" || a.ID != eventActionID("T1", "Ev-rename") {
		t.Fatalf("rename proposed as %+v", a)
	}
	if a.Field("channel") != "C1" || a.Field("name") != "new-name" || a.Field("previous_name") != "general" {
		t.Fatalf("rename fields %v", a.Fields)
	}

	// The engine reverts it (the policy has not passed yet).
	govern := map[string]any{"action_id": a.ID, "action_type": a.Type, "fields": a.Fields, "external_id": a.ExternalID}
	h.effect(bus.EffectRequest{ProposalID: "p1", ActionID: a.ID, EffectID: "e-revert", Method: "revert", Purpose: "revert", Args: govern})
	if got := h.fake.seen("conversations.rename"); len(got) != 1 || got[0].Get("channel") != "C1" || got[0].Get("name") != "general" {
		t.Fatalf("revert renamed %v", got)
	}
	// Slack reports our own revert as a channel_rename: it is not governed again.
	h.event("Ev-own-revert", renameEvent("C1", "general"), 0)
	h.quiet(h.propose, "ProposeAction for our own rename")

	// notify: slack.initiate_vote(text=...) (the runtime infers the channel).
	vote := bus.EffectRequest{ProposalID: "p1", ActionID: a.ID, EffectID: "e-vote", Method: "initiate_vote", Purpose: "query",
		Args: map[string]any{"text": "Should this channel be renamed to #new-name?", "channel": "C1"}}
	res := h.effect(vote)
	posts := h.fake.seen("chat.postMessage")
	if len(posts) != 1 || posts[0].Get("channel") != "C1" {
		t.Fatalf("vote posted as %v", posts)
	}
	for _, want := range []string{voteActionPrefix + valueYes, voteActionPrefix + valueNo, ":thumbsup:", ":thumbsdown:"} {
		if !strings.Contains(posts[0].Get("blocks"), want) {
			t.Fatalf("vote blocks lack %q: %s", want, posts[0].Get("blocks"))
		}
	}
	postID, _ := res.Result["post_id"].(string)
	if postID == "" || !strings.Contains(res.Result["url"].(string), postID) {
		t.Fatalf("initiate_vote answered %v", res.Result)
	}
	// A redelivered request is answered from the ledger, without posting again.
	if again := h.effect(vote); again.Result["post_id"] != postID || len(h.fake.seen("chat.postMessage")) != 1 {
		t.Fatalf("redelivery answered %v after %d posts", again.Result, len(h.fake.seen("chat.postMessage")))
	}

	// A member clicks thumbs up.
	if resp := h.click("U1", "C1", postID, valueYes); resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	cv := h.castVote()
	if cv.CommunityID != "c1" || cv.ProposalID != "p1" || cv.Platform != "slack" || cv.Vote.Username != "U1" || cv.Vote.UserID != "" ||
		cv.Vote.Kind != domain.VoteBoolean || !cv.Vote.Boolean {
		t.Fatalf("cast %+v", cv)
	}

	// pass: execute the rename, then post in the vote's thread.
	h.effect(bus.EffectRequest{ProposalID: "p1", ActionID: a.ID, EffectID: "e-exec", Method: "execute", Purpose: "execute", Args: govern})
	if got := h.fake.seen("conversations.rename"); len(got) != 2 || got[1].Get("name") != "new-name" {
		t.Fatalf("execute renamed %v", got)
	}
	h.effect(bus.EffectRequest{ProposalID: "p1", EffectID: "e-pass", Method: "post_message", Purpose: "policy",
		Args: map[string]any{"text": "Proposal to rename this channel to #new-name passed.", "channel": "C1", "thread_ts": postID}})
	posts = h.fake.seen("chat.postMessage")
	if len(posts) != 2 || posts[1].Get("thread_ts") != postID || posts[1].Get("channel") != "C1" {
		t.Fatalf("pass posted %v", posts)
	}
}

// The seed's "Don't allow posts in Slack channel" (5.6).
func TestDontAllowPosts(t *testing.T) {
	h := newHarness(t, nil)
	h.event("Ev-post", messageEvent("U1", "C025LDZ76R3", "hi all", "1700000000.000200"), 0)
	a := h.proposed()
	if a.Type != domain.ActionSlackPostMessage || a.InitiatorID != "U1" || !a.Reversible ||
		a.Field("channel") != "C025LDZ76R3" || a.Field("text") != "hi all" || a.Field("timestamp") != "1700000000.000200" || a.Field("user") != "U1" {
		t.Fatalf("post proposed as %+v", a)
	}
	h.effect(bus.EffectRequest{ActionID: a.ID, EffectID: "e-revert", Method: "revert", Purpose: "revert",
		Args: map[string]any{"action_id": a.ID, "action_type": a.Type, "fields": a.Fields}})
	if got := h.fake.seen("chat.delete"); len(got) != 1 || got[0].Get("channel") != "C025LDZ76R3" || got[0].Get("ts") != "1700000000.000200" {
		t.Fatalf("revert deleted %v", got)
	}
	h.effect(bus.EffectRequest{ActionID: a.ID, EffectID: "e-fail", Method: "post_message", Purpose: "policy",
		Args: map[string]any{"channel": "C025LDZ76R3", "users": []any{"U1"}, "post_type": "ephemeral", "text": "Post was deleted because of policy 'quiet'"}})
	if got := h.fake.seen("chat.postEphemeral"); len(got) != 1 || got[0].Get("user") != "U1" || got[0].Get("channel") != "C025LDZ76R3" {
		t.Fatalf("ephemeral %v", got)
	}
	if len(h.fake.seen("chat.postMessage")) != 0 {
		t.Fatal("an ephemeral notice was posted publicly")
	}
}

// The seed's "Consensus vote in Slack with restricted voting" (5.8).
func TestRestrictedChoiceVote(t *testing.T) {
	h := newHarness(t, nil)
	res := h.effect(bus.EffectRequest{ProposalID: "p8", EffectID: "e-vote", Method: "initiate_vote", Purpose: "query",
		Args: map[string]any{"text": "please respond", "channel": "C0ABC123", "users": []any{"U01", "U02"}, "options": []any{"consent", "object", "abstain"}}})
	postID := res.Result["post_id"].(string)
	blocks := h.fake.seen("chat.postMessage")[0].Get("blocks")
	for _, o := range []string{"consent", "object", "abstain"} {
		if !strings.Contains(blocks, `"value":"`+o+`"`) {
			t.Fatalf("no button for %s: %s", o, blocks)
		}
	}

	// Not eligible: refused ephemerally, no vote.
	if resp := h.click("U99", "C0ABC123", postID, "consent"); resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	if got := h.fake.seen("chat.postEphemeral"); len(got) != 1 || got[0].Get("user") != "U99" || got[0].Get("channel") != "C0ABC123" {
		t.Fatalf("refusal %v", got)
	}
	h.quiet(h.votes, "CastVote from an ineligible member")

	// Eligible, then a change of mind: two votes (the engine keeps the last).
	h.click("U01", "C0ABC123", postID, "consent")
	if cv := h.castVote(); cv.ProposalID != "p8" || cv.Vote.Kind != domain.VoteChoice || cv.Vote.Choice != "consent" || cv.Vote.Username != "U01" {
		t.Fatalf("cast %+v", cv)
	}
	h.click("U01", "C0ABC123", postID, "object")
	if cv := h.castVote(); cv.Vote.Choice != "object" {
		t.Fatalf("revote %+v", cv)
	}
	// A click on a message that is not a vote of ours changes nothing.
	h.click("U01", "C0ABC123", "1.000", "consent")
	h.quiet(h.votes, "CastVote for an unknown message")
}

func TestRefusedRequestsChangeNothing(t *testing.T) {
	h := newHarness(t, nil)
	body := mustJSON(t, map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev-1", "event_time": 1700000000,
		"event": messageEvent("U1", "C1", "hi", "1700000000.000300")})
	cases := []struct {
		name string
		d    delivery
		want int
	}{
		{"forged signature", delivery{body: body, secret: "not-the-secret"}, http.StatusUnauthorized},
		{"stale timestamp", delivery{body: body, at: time.Now().Add(-6 * time.Minute)}, http.StatusUnauthorized},
		{"future timestamp", delivery{body: body, at: time.Now().Add(6 * time.Minute)}, http.StatusUnauthorized},
		{"forged vote click", delivery{body: []byte("payload=%7B%7D"), contentType: "application/x-www-form-urlencoded", secret: "nope"}, http.StatusUnauthorized},
		{"oversized body", delivery{body: append(body, bytes.Repeat([]byte(" "), 1<<20)...)}, http.StatusRequestEntityTooLarge},
		{"malformed JSON", delivery{body: []byte("{")}, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if resp := h.deliver(c.d); resp.StatusCode != c.want {
				t.Fatalf("answered %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
	// Unsigned.
	resp, err := http.Post(h.hook, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request answered %d", resp.StatusCode)
	}
	h.quiet(h.propose, "ProposeAction from a refused request")
	if n := len(h.fake.seen("auth.test")) + len(h.fake.seen("conversations.info")); n != 0 {
		t.Fatalf("a refused request reached Slack %d times", n)
	}
}

func TestURLVerification(t *testing.T) {
	h := newHarness(t, nil)
	body := mustJSON(t, map[string]any{"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, h.hook, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || got.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("answered %d %q", resp.StatusCode, got.String())
	}
}

// Slack wants the 200 within three seconds, whatever the handling costs: the hook answers
// while the Slack calls of the event's handling (auth.test, conversations.info) are held by
// the fake, and the handling completes once they are released.
func TestEventIsAcknowledgedBeforeItsSlackCallsAnswer(t *testing.T) {
	h := newHarness(t, nil)
	h.a.workers.Wait() // Run's conversations.list done: what is held below is the event's
	held := h.fake.hold("auth.test", "conversations.info", "conversations.list", "users.info")

	h.event("Ev-slow", messageEvent("U1", "C7", "hello", "1700000000.000700"), 0) // answered 200
	if m := await(t, held.entered, "Slack call of the handling"); m != "auth.test" {
		t.Fatalf("first held call %s", m)
	}
	select {
	case m := <-h.propose:
		t.Fatalf("published before Slack answered: %s", m.Payload)
	default:
	}
	held.release()
	if a := h.proposed(); a.Type != domain.ActionSlackPostMessage || a.Field("channel") != "C7" || a.InitiatorID != "U1" {
		t.Fatalf("proposed %+v", a)
	}
	if n := len(h.fake.seen("auth.test")); n != 1 {
		t.Fatalf("auth.test called %d times", n)
	}
}

func TestReplayedEventPublishesNothingNew(t *testing.T) {
	h := newHarness(t, nil)
	ev := messageEvent("U1", "C1", "once", "1700000000.000400")
	h.event("Ev-replay", ev, 0)
	first := h.proposed()
	h.event("Ev-replay", ev, 1) // Slack's retry
	h.event("Ev-replay", ev, 2)
	h.quiet(h.propose, "ProposeAction for a replayed event")
	if first.ID != eventActionID("T1", "Ev-replay") {
		t.Fatalf("action id %s is not derived from the event id", first.ID)
	}
}

// flakyPublisher fails the next fails publishes to topic.
type flakyPublisher struct {
	message.Publisher
	topic string
	fails atomic.Int32
}

func (p *flakyPublisher) Publish(topic string, msgs ...*message.Message) error {
	if topic == p.topic && p.fails.Add(-1) >= 0 {
		return errors.New("broker unreachable")
	}
	return p.Publisher.Publish(topic, msgs...)
}

// An event whose ProposeAction could not be published is not taken as seen: Slack's retry of
// it is handled again and published, with the same action (a rename still names the name
// before it). A publish that fails once is tried again at once, and Slack's retry is then a
// repeat.
func TestEventNotPublishedIsHandledOnSlacksRetry(t *testing.T) {
	cases := []struct {
		name  string
		event map[string]any
		fails int32
	}{
		{"message, every try fails", messageEvent("U1", "C1", "hello", "1700000000.000600"), publishAttempts},
		{"rename, every try fails", renameEvent("C1", "new-name"), publishAttempts},
		{"message, one try fails", messageEvent("U1", "C1", "hello", "1700000000.000600"), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var flaky *flakyPublisher
			h := newHarness(t, nil, func(_ *Config, d *Deps) {
				flaky = &flakyPublisher{Publisher: d.Publisher, topic: bus.TopicProposeAction}
				d.Publisher = flaky
			})
			flaky.fails.Store(c.fails)
			h.event("Ev-1", c.event, 0)
			h.a.workers.Wait() // handled, or given up
			if c.fails < publishAttempts {
				first := h.proposed()
				h.event("Ev-1", c.event, 1)
				h.quiet(h.propose, "ProposeAction for a published event's retry")
				if first.ID != eventActionID("T1", "Ev-1") {
					t.Fatalf("proposed %s", first.ID)
				}
				return
			}
			h.quiet(h.propose, "ProposeAction that failed to publish")
			h.event("Ev-1", c.event, 1) // Slack's retry
			a := h.proposed()
			if a.ID != eventActionID("T1", "Ev-1") || a.ExternalID != "Ev-1" {
				t.Fatalf("the retry proposed %+v", a)
			}
			if a.Type == domain.ActionSlackRenameConversation && a.Field("previous_name") != "general" {
				t.Fatalf("the retry's rename has previous_name %q", a.Field("previous_name"))
			}
			h.event("Ev-1", c.event, 2)
			h.quiet(h.propose, "ProposeAction for a published event's retry")
		})
	}
}

// Slack's channel_rename says only the new name. The adapter learns the names up front from
// conversations.list (public channels and the private ones the bot is in, page by page),
// so that the rename of a channel no event has mentioned yet is reverted to its real name;
// it keeps them current from channel_created and from conversations.info when the bot is
// invited into a channel.
func TestRenameOfAChannelNeverSeenIsRevertedToItsListedName(t *testing.T) {
	h := newHarness(t, nil)
	revert := func(a domain.Action) {
		t.Helper()
		h.effect(bus.EffectRequest{ProposalID: "p-" + a.ExternalID, ActionID: a.ID, EffectID: "revert-" + a.ExternalID, Method: "revert", Purpose: "revert",
			Args: map[string]any{"action_id": a.ID, "action_type": a.Type, "fields": a.Fields, "external_id": a.ExternalID}})
	}
	lastRename := func() url.Values {
		t.Helper()
		got := h.fake.seen("conversations.rename")
		if len(got) == 0 {
			t.Fatal("nothing renamed")
		}
		return got[len(got)-1]
	}

	// Run lists the channels of the workspaces whose tokens are stored, before any event.
	h.a.workers.Wait()
	lists := h.fake.seen("conversations.list")
	if len(lists) != 2 || lists[0].Get("types") != "public_channel,private_channel" || lists[0].Get("exclude_archived") != "true" || lists[1].Get("cursor") != "2" {
		t.Fatalf("conversations.list called %v", lists)
	}

	// G1, a private channel on the list's second page (Slack says group_rename for those).
	groupRename := renameEvent("G1", "leaked-plans")
	groupRename["type"] = "group_rename"
	h.event("Ev-r1", groupRename, 0)
	a := h.proposed()
	if a.Field("previous_name") != "core-team" {
		t.Fatalf("previous_name %q, want the listed core-team", a.Field("previous_name"))
	}
	revert(a)
	if got := lastRename(); got.Get("channel") != "G1" || got.Get("name") != "core-team" {
		t.Fatalf("reverted to %v", got)
	}
	if n := len(h.fake.seen("conversations.info")); n != 0 {
		t.Fatalf("conversations.info called %d times; the list had the names", n)
	}

	// A channel created since: its name is in the event.
	h.event("Ev-created", map[string]any{"type": "channel_created", "channel": map[string]any{"id": "C9", "name": "fresh", "created": 1700000000, "creator": "U1"}}, 0)
	h.a.workers.Wait() // events are handled concurrently; this one first
	// A trigger action of its own.
	if a := h.proposed(); a.Type != domain.ActionSlackChannelCreated {
		t.Fatalf("channel_created proposed %+v", a)
	}
	h.event("Ev-r2", renameEvent("C9", "stale"), 0)
	if a := h.proposed(); a.Field("previous_name") != "fresh" {
		t.Fatalf("rename of a created channel: previous_name %q", a.Field("previous_name"))
	}

	// A private channel the bot is invited into: conversations.info when it joins.
	h.fake.addChannel(fakeChannel{ID: "G7", Name: "secret-garden", Private: true})
	h.event("Ev-bot-joined", map[string]any{"type": "member_joined_channel", "user": "UBOT", "channel": "G7", "channel_type": "G", "inviter": "U1"}, 0)
	h.a.workers.Wait()
	h.event("Ev-r3", renameEvent("G7", "open-garden"), 0)
	a = h.proposed()
	if a.Field("previous_name") != "secret-garden" {
		t.Fatalf("rename of a channel the bot joined: previous_name %q", a.Field("previous_name"))
	}
	revert(a)
	if got := lastRename(); got.Get("channel") != "G7" || got.Get("name") != "secret-garden" {
		t.Fatalf("reverted to %v", got)
	}
	if n := len(h.fake.seen("conversations.list")); n != 2 {
		t.Fatalf("conversations.list called %d times; once is enough", n)
	}
}

// With a token store that cannot list its workspaces, the names are learned at a workspace's
// first event. When that event is a rename, the list already has the new name, which is
// not taken for the previous one.
func TestChannelNamesLearnedAtAWorkspacesFirstEvent(t *testing.T) {
	h := newHarness(t, nil, func(_ *Config, d *Deps) { d.Tokens = struct{ TokenStore }{d.Tokens} }) // hides Teams
	h.a.workers.Wait()
	if n := len(h.fake.seen("conversations.list")); n != 0 {
		t.Fatalf("conversations.list called %d times before any event", n)
	}
	h.fake.renameChannel("C2", "random-2")
	h.event("Ev-r1", renameEvent("C2", "random-2"), 0)
	if a := h.proposed(); a.Field("previous_name") != "" {
		t.Fatalf("previous_name %q, want unknown", a.Field("previous_name"))
	}
	if n := len(h.fake.seen("conversations.list")); n != 2 {
		t.Fatalf("conversations.list called %d times at the first event", n)
	}
	h.event("Ev-r2", renameEvent("G1", "leaked-plans"), 0)
	if a := h.proposed(); a.Field("previous_name") != "core-team" {
		t.Fatalf("previous_name %q, want core-team", a.Field("previous_name"))
	}
}

// A rename of a channel whose name the adapter never learned still goes to governance
// (previous_name empty), but its revert fails saying why, and renames nothing.
func TestRenameOfAChannelWithUnknownNameCannotBeReverted(t *testing.T) {
	h := newHarness(t, nil)
	h.event("Ev-unknown", renameEvent("C404", "whatever"), 0)
	a := h.proposed()
	if a.Type != domain.ActionSlackRenameConversation || a.Field("name") != "whatever" || a.Field("previous_name") != "" {
		t.Fatalf("proposed %+v", a)
	}
	res := h.reply(bus.EffectRequest{ProposalID: "p1", ActionID: a.ID, EffectID: "e-revert", Method: "revert", Purpose: "revert",
		Args: map[string]any{"action_id": a.ID, "action_type": a.Type, "fields": a.Fields, "external_id": a.ExternalID}})
	if !strings.Contains(res.Error, "previous name is unknown") || !strings.Contains(res.Error, "C404") {
		t.Fatalf("revert answered %+v", res)
	}
	if n := len(h.fake.seen("conversations.rename")); n != 0 {
		t.Fatalf("renamed %d times", n)
	}
}

func TestOwnAndIrrelevantEventsAreIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.event("Ev-bot", map[string]any{"type": "message", "channel": "C1", "bot_id": "BBOT", "text": "posted by us", "ts": "1.1"}, 0)
	h.event("Ev-botmsg", map[string]any{"type": "message", "subtype": "bot_message", "channel": "C1", "text": "x", "ts": "1.2"}, 0)
	h.event("Ev-us", messageEvent("UBOT", "C1", "our user", "1.3"), 0)
	h.event("Ev-edit", map[string]any{"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1.4",
		"message": map[string]any{"user": "U1", "text": "edited", "ts": "1.0"}}, 0)
	h.event("Ev-pin-us", map[string]any{"type": "pin_added", "user": "UBOT", "channel_id": "C1", "item": map[string]any{"type": "message", "channel": "C1", "message": map[string]any{"ts": "1.0"}}}, 0)
	h.event("Ev-invited-by-us", map[string]any{"type": "member_joined_channel", "user": "U5", "channel": "C1", "inviter": "UBOT"}, 0)
	h.event("Ev-reaction-us", map[string]any{"type": "reaction_added", "user": "UBOT", "reaction": "+1", "item": map[string]any{"type": "message", "channel": "C1", "ts": "1.0"}}, 0)
	h.event("Ev-unreaction", map[string]any{"type": "reaction_removed", "user": "U1", "reaction": "+1", "item": map[string]any{"type": "message", "channel": "C1", "ts": "1.0"}}, 0)
	h.event("Ev-archive", map[string]any{"type": "channel_archive", "channel": "C1", "user": "U1"}, 0)
	h.quiet(h.propose, "ProposeAction for our own or an ungoverned event")
}

func TestJoinAndPinEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.event("Ev-join", map[string]any{"type": "member_joined_channel", "user": "U7", "channel": "C1", "channel_type": "C", "team": "T1"}, 0)
	join := h.proposed()
	if join.Type != domain.ActionSlackJoinConversation || join.Field("channel") != "C1" || join.Field("user") != "U7" {
		t.Fatalf("join proposed as %+v", join)
	}
	h.event("Ev-pin", map[string]any{"type": "pin_added", "user": "U1", "channel_id": "C1",
		"item": map[string]any{"type": "message", "channel": "C1", "message": map[string]any{"ts": "1700000000.000500", "text": "x"}}}, 0)
	pin := h.proposed()
	if pin.Type != domain.ActionSlackPinMessage || pin.InitiatorID != "U1" || pin.Field("channel") != "C1" || pin.Field("timestamp") != "1700000000.000500" {
		t.Fatalf("pin proposed as %+v", pin)
	}
}

// Reactions, unpins and new channels are trigger actions: proposed for trigger policies to
// react to, not reversible; the bot's own are not proposed.
func TestTriggerEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.event("Ev-react-bot", map[string]any{"type": "reaction_added", "user": "UBOT", "reaction": "thumbsup",
		"item": map[string]any{"type": "message", "channel": "C1", "ts": "1700000000.000100"}}, 0)
	h.event("Ev-react", map[string]any{"type": "reaction_added", "user": "U1", "reaction": "tada", "item_user": "U2",
		"item": map[string]any{"type": "message", "channel": "C1", "ts": "1700000000.000100"}}, 0)
	react := h.proposed()
	if react.Type != domain.ActionSlackReactionAdded || react.Kind != domain.KindTrigger || react.Reversible ||
		react.InitiatorID != "U1" || react.Field("reaction") != "tada" || react.Field("channel") != "C1" ||
		react.Field("timestamp") != "1700000000.000100" || react.Field("item_user") != "U2" {
		t.Fatalf("reaction proposed as %+v", react)
	}
	h.event("Ev-unpin-bot", map[string]any{"type": "pin_removed", "user": "UBOT", "channel_id": "C1",
		"item": map[string]any{"type": "message", "channel": "C1", "message": map[string]any{"ts": "1700000000.000500"}}}, 0)
	h.event("Ev-unpin", map[string]any{"type": "pin_removed", "user": "U1", "channel_id": "C1",
		"item": map[string]any{"type": "message", "channel": "C1", "message": map[string]any{"ts": "1700000000.000500"}}}, 0)
	unpin := h.proposed()
	if unpin.Type != domain.ActionSlackPinRemoved || unpin.Kind != domain.KindTrigger || unpin.Reversible ||
		unpin.Field("channel") != "C1" || unpin.Field("timestamp") != "1700000000.000500" {
		t.Fatalf("unpin proposed as %+v", unpin)
	}
	h.event("Ev-created", map[string]any{"type": "channel_created", "channel": map[string]any{"id": "C9", "name": "allotments", "creator": "U2", "created": 1700000000}}, 0)
	created := h.proposed()
	if created.Type != domain.ActionSlackChannelCreated || created.Kind != domain.KindTrigger || created.InitiatorID != "U2" ||
		created.Field("name") != "allotments" || created.Field("channel") != "C9" {
		t.Fatalf("channel created proposed as %+v", created)
	}
	h.quiet(h.propose, "a proposal for the bot's own reaction or unpin")
}

// Every governable action's execute and revert call the Web API method that does it.
func TestExecuteAndRevert(t *testing.T) {
	cases := []struct {
		name, typ, method string
		execute           bool
		fields            map[string]any
		apiMethod         string
		want              map[string]string
	}{
		{"repost message", domain.ActionSlackPostMessage, "execute", true, map[string]any{"channel": "C1", "text": "hi", "user": "U1", "timestamp": "1.5"},
			"chat.postMessage", map[string]string{"channel": "C1", "text": "hi\n_posted on behalf of <@U1>_"}},
		{"invite joiner", domain.ActionSlackJoinConversation, "execute", true, map[string]any{"channel": "C1", "users": []any{"U7"}},
			"conversations.invite", map[string]string{"channel": "C1", "users": "U7"}},
		{"kick joiner", domain.ActionSlackJoinConversation, "revert", false, map[string]any{"channel": "C1", "users": []any{"U7"}},
			"conversations.kick", map[string]string{"channel": "C1", "user": "U7"}},
		{"pin", domain.ActionSlackPinMessage, "execute", true, map[string]any{"channel": "C1", "timestamp": "1.6"},
			"pins.add", map[string]string{"channel": "C1", "timestamp": "1.6"}},
		{"unpin", domain.ActionSlackPinMessage, "revert", false, map[string]any{"channel": "C1", "timestamp": "1.6"},
			"pins.remove", map[string]string{"channel": "C1", "timestamp": "1.6"}},
		{"schedule", domain.ActionSlackScheduleMessage, "execute", true, map[string]any{"channel": "C1", "text": "later", "post_at": float64(1800000000)},
			"chat.scheduleMessage", map[string]string{"channel": "C1", "text": "later", "post_at": "1800000000"}},
		{"kick", domain.ActionSlackKickConversation, "execute", true, map[string]any{"channel": "C1", "user": "U8"},
			"conversations.kick", map[string]string{"channel": "C1", "user": "U8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.effect(bus.EffectRequest{ActionID: "a1", EffectID: "e-" + c.name, Method: c.method, Purpose: c.method,
				Args: map[string]any{"action_id": "a1", "action_type": c.typ, "fields": c.fields}})
			got := h.fake.seen(c.apiMethod)
			if len(got) != 1 {
				t.Fatalf("%s called %d times", c.apiMethod, len(got))
			}
			for k, v := range c.want {
				if got[0].Get(k) != v {
					t.Errorf("%s %s = %q, want %q", c.apiMethod, k, got[0].Get(k), v)
				}
			}
		})
	}
}

func TestDirectMessages(t *testing.T) {
	h := newHarness(t, nil)
	h.effect(bus.EffectRequest{EffectID: "e-im", Method: "post_message", Purpose: "policy",
		Args: map[string]any{"text": "psst", "users": []any{"U1", "U2"}, "post_type": "im"}})
	h.effect(bus.EffectRequest{EffectID: "e-mpim", Method: "post_message", Purpose: "policy",
		Args: map[string]any{"text": "all of you", "users": []any{"U1", "U2"}, "post_type": "mpim"}})
	opens := h.fake.seen("conversations.open")
	if len(opens) != 3 || opens[0].Get("users") != "U1" || opens[1].Get("users") != "U2" || opens[2].Get("users") != "U1,U2" {
		t.Fatalf("opened %v", opens)
	}
	posts := h.fake.seen("chat.postMessage")
	if len(posts) != 3 || posts[0].Get("channel") != "D-U1" || posts[2].Get("channel") != "D-U1,U2" {
		t.Fatalf("posted %v", posts)
	}
}

// Votes in direct messages: post_type "mpim" opens one group DM with the users and posts the
// vote there; "im" the DM of its one user. A click in the DM is counted; only the users'
// clicks are.
func TestVotesInDirectMessages(t *testing.T) {
	cases := []struct {
		name, postType string
		users          []any
		dm             string // the conversation conversations.open gives
		voter          string
	}{
		{"mpim", "mpim", []any{"U1", "U2"}, "D-U1,U2", "U2"},
		{"im", "im", []any{"U1"}, "D-U1", "U1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			// The channel the runtime inferred from the action is not where a DM vote goes.
			res := h.effect(bus.EffectRequest{ProposalID: "p-dm", EffectID: "e-vote", Method: "initiate_vote", Purpose: "query",
				Args: map[string]any{"text": "Approve the expense?", "channel": "C1", "users": c.users, "post_type": c.postType}})
			opens := h.fake.seen("conversations.open")
			if len(opens) != 1 || opens[0].Get("users") != strings.TrimPrefix(c.dm, "D-") {
				t.Fatalf("opened %v", opens)
			}
			posts := h.fake.seen("chat.postMessage")
			if len(posts) != 1 || posts[0].Get("channel") != c.dm || !strings.Contains(posts[0].Get("blocks"), "policykit_vote_yes") {
				t.Fatalf("posted %v", posts)
			}
			postID := res.Result["post_id"].(string)
			if res.Result["channel"] != c.dm || res.Result["url"] == "" {
				t.Fatalf("answered %v", res.Result)
			}

			if resp := h.click(c.voter, c.dm, postID, valueYes); resp.StatusCode != http.StatusOK {
				t.Fatalf("click answered %d", resp.StatusCode)
			}
			if cv := h.castVote(); cv.ProposalID != "p-dm" || cv.Vote.Kind != domain.VoteBoolean || !cv.Vote.Boolean || cv.Vote.Username != c.voter {
				t.Fatalf("cast %+v", cv)
			}
			h.click("U9", c.dm, postID, valueNo) // not one of the users
			h.quiet(h.votes, "CastVote of a member the vote is not for")
			if got := h.fake.seen("chat.postEphemeral"); len(got) != 1 || got[0].Get("user") != "U9" {
				t.Fatalf("refusal %v", got)
			}
		})
	}
}

// What a DM vote cannot be is refused with a reason, before anything is posted.
func TestVotesInDirectMessagesRefused(t *testing.T) {
	cases := []struct {
		name string
		args map[string]any
		want string
	}{
		{"im with several users", map[string]any{"text": "?", "users": []any{"U1", "U2"}, "post_type": "im"}, `exactly one user, not 2: use post_type "mpim"`},
		{"mpim without users", map[string]any{"text": "?", "channel": "C1", "post_type": "mpim"}, "needs users"},
		{"unknown post type", map[string]any{"text": "?", "channel": "C1", "post_type": "ephemeral"}, `"channel", "mpim" or "im"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			res := h.reply(bus.EffectRequest{ProposalID: "p1", EffectID: "e-vote", Method: "initiate_vote", Purpose: "query", Args: c.args})
			if !strings.Contains(res.Error, c.want) {
				t.Fatalf("answered %+v, want an error with %q", res, c.want)
			}
			if n := len(h.fake.seen("chat.postMessage")) + len(h.fake.seen("conversations.open")); n != 0 {
				t.Fatalf("called Slack %d times", n)
			}
		})
	}
}

func TestRateLimitedCallWaitsAndSucceedsOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.rateLimit("conversations.rename", 1)
	start := time.Now()
	res := h.effect(bus.EffectRequest{EffectID: "e-rl", Method: "rename_conversation", Purpose: "policy",
		Args: map[string]any{"channel": "C1", "name": "renamed"}})
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %s, before Retry-After", waited)
	}
	if res.Result["name"] != "renamed" {
		t.Fatalf("answered %v", res.Result)
	}
	if got := h.fake.seen("conversations.rename"); len(got) != 2 {
		t.Fatalf("conversations.rename called %d times, want 429 then success", len(got))
	}
	h.effect(bus.EffectRequest{EffectID: "e-rl", Method: "rename_conversation", Purpose: "policy",
		Args: map[string]any{"channel": "C1", "name": "renamed"}})
	if got := h.fake.seen("conversations.rename"); len(got) != 2 {
		t.Fatalf("a redelivered effect called Slack again (%d calls)", len(got))
	}
}

// A rate limit Slack would have us wait out for longer than the cap, or past the attempt's
// deadline, fails the attempt at once instead of sleeping while the bus delivers the request
// again; the failure is not recorded, so a later delivery performs the effect.
func TestRateLimitWaitsAreBounded(t *testing.T) {
	cases := []struct {
		name       string
		cfg        Config
		deadline   time.Duration // of the caller's context; 0 for none
		retryAfter int
		calls      int
		why        string
	}{
		{"over the total wait cap", Config{RateLimitMaxWait: 2 * time.Second}, 0, 3600, 1, "of at most 2s"},
		{"the retries' waits add up past the cap", Config{RateLimitMaxWait: 1500 * time.Millisecond}, 0, 1, 2, "waited 1s of at most 1.5s"},
		{"past the deadline", Config{RateLimitMaxWait: 59 * time.Minute, EffectTimeout: time.Hour}, 30 * time.Minute, 3000, 1, "past the deadline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil, func(cfg *Config, _ *Deps) {
				cfg.RateLimitMaxWait, cfg.EffectTimeout = c.cfg.RateLimitMaxWait, c.cfg.EffectTimeout
			})
			h.fake.rateLimitFor("chat.postMessage", 5, c.retryAfter)
			req := bus.EffectRequest{CommunityID: "c1", EffectID: "e-post", IdempotencyKey: "e-post", Method: "post_message", Purpose: "policy",
				Args: map[string]any{"channel": "C1", "text": "hello"}}
			ctx := context.Background()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.deadline)
				defer cancel()
			}
			_, err := h.a.Perform(ctx, req)
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("answered %v, want the rate limit error (%s)", err, c.why)
			}
			if got := h.fake.seen("chat.postMessage"); len(got) != c.calls {
				t.Fatalf("chat.postMessage called %d times, want %d", len(got), c.calls)
			}
			h.fake.rateLimitFor("chat.postMessage", 0, 1)
			res, err := h.a.Perform(context.Background(), req)
			if err != nil || res["ts"] == nil {
				t.Fatalf("a later delivery answered %v %v", res, err)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := Config{APIURL: "not a url", AppToken: "xoxb-not-an-app-token", TokenKey: "short", MaxBodyBytes: -1, Workers: -1, WorkTimeout: -1, RateLimitRetries: -1,
		RateLimitMaxWait: -1, EffectTimeout: -1}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, field := range []string{"SigningSecret", "APIURL", "AppToken", "TokenKey", "MaxBodyBytes", "Workers", "WorkTimeout", "RateLimitRetries",
		"RateLimitMaxWait", "EffectTimeout"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
	if err := (Config{SigningSecret: "s"}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if err := (Config{SigningSecret: "s", RateLimitMaxWait: time.Minute}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "not under EffectTimeout") {
		t.Fatalf("a rate-limit wait longer than an attempt: %v", err)
	}
	if _, err := New(Config{SigningSecret: "s"}, Deps{}); err == nil || !strings.Contains(err.Error(), "Publisher") || !strings.Contains(err.Error(), "Directory") {
		t.Fatalf("New without deps: %v", err)
	}
}

func busVote(effectID, proposalID, channel string) bus.EffectRequest {
	return bus.EffectRequest{ProposalID: proposalID, EffectID: effectID, Method: "initiate_vote", Purpose: "query",
		Args: map[string]any{"text": "vote?", "channel": channel}}
}
