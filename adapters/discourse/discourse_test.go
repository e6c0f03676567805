package discourse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/discourse/discoursetest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

const (
	community = "c1"
	apiKey    = "key-123"
	hookKey   = "whsec-abc"
)

type env struct {
	a    *Adapter
	site *discoursetest.Site
	dir  *platform.MemoryDirectory
	srv  *httptest.Server
	pos  int64
}

func newEnv(t *testing.T, pub message.Publisher, change ...func(*Section, *Deps)) *env {
	t.Helper()
	site := discoursetest.New(apiKey)
	t.Cleanup(site.Close)
	box, err := sealed.NewBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{site: site, dir: &platform.MemoryDirectory{}}
	secrets := map[string]string{}
	for name, plain := range map[string]string{SecretAPIKey: apiKey, SecretWebhook: hookKey} {
		if secrets[name], err = box.Seal(community, domain.PlatformDiscourse, name, plain); err != nil {
			t.Fatal(err)
		}
	}
	e.learn(t, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: community, At: time.Now().UTC()},
		Platform: domain.PlatformDiscourse, ExternalID: site.URL(), Settings: map[string]string{SettingURL: site.URL(), SettingAPIUsername: "policykit"},
		Secrets: secrets})
	u, _ := url.Parse(site.URL())
	sec := Section{On: true, AllowedHosts: []string{u.Host}, RetryWait: time.Millisecond, RetryMaxWait: time.Second,
		DirectoryWait: 20 * time.Millisecond, OursWait: 50 * time.Millisecond, VotePoll: time.Hour}
	deps := Deps{Publisher: pub, Directory: e.dir, Box: box}
	for _, c := range change {
		c(&sec, &deps)
	}
	if e.a, err = New(sec, deps); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.a.Close() })
	mux := http.NewServeMux()
	for p, h := range (Hosted{e.a}).Routes() {
		mux.Handle(p, h)
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) learn(t *testing.T, ev domain.Event) {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e.pos++
	if err := e.dir.Learn(context.Background(), bus.EventEnvelope{ID: uuid.New(), Type: ev.EventType(), GlobalPosition: e.pos,
		Position: fmt.Sprintf("%d:0", e.pos), Data: data}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) hook() string { return e.srv.URL + "/api/hooks/discourse/" + community + "/events" }

func request(key, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: community, ProposalID: "p1", EffectID: key, IdempotencyKey: key,
		Platform: domain.PlatformDiscourse, Method: method, Purpose: bus.PurposePolicy, Args: args}
}

func govern(key, method, typ string, fields map[string]any) bus.EffectRequest {
	return request(key, method, map[string]any{"action_id": "a-" + key, "action_type": typ, "fields": fields})
}

// The Discourse adapter passes the platform kit's conformance suite against a fake Discourse.
func TestDiscourseConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		e := newEnv(t, pub, func(_ *Section, d *Deps) { d.Ledger = ledger })
		topic, _ := e.site.AddTopic("A topic made by a member", 8)
		votePosts := map[string]int64{}
		return &platformtest.Harness{
			Perform: e.a.Perform,
			Calls:   e.site.Changes,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect:      request("e-post", bus.MethodPostMessage, map[string]any{"text": "hello", "topic_id": json.Number(fmt.Sprint(topic))}),
			EffectCalls: []string{"POST /posts.json"},
			Govern: []platformtest.GovernCase{
				{Name: "revert topic", Request: govern("r-topic", bus.MethodRevert, domain.ActionDiscourseCreateTopic, map[string]any{"topic_id": topic, "title": "x"}),
					Calls: []string{fmt.Sprintf("DELETE /t/%d.json", topic)}},
				{Name: "execute reverted topic", Request: govern("x-topic", bus.MethodExecute, domain.ActionDiscourseCreateTopic, map[string]any{"topic_id": topic}),
					Calls: []string{fmt.Sprintf("PUT /t/%d/recover.json", topic)}},
				{Name: "execute new topic", Request: govern("x-new-topic", bus.MethodExecute, domain.ActionDiscourseCreateTopic,
					map[string]any{"title": "A topic from the dashboard", "raw": "Proposed on the dashboard and passed.", "category": 8}),
					Calls: []string{"POST /posts.json"}},
				{Name: "revert post", Request: govern("r-post", bus.MethodRevert, domain.ActionDiscourseCreatePost, map[string]any{"post_id": topic + 1, "topic_id": topic}),
					Calls: []string{fmt.Sprintf("DELETE /posts/%d.json", topic+1)}},
				{Name: "execute reverted post", Request: govern("x-post", bus.MethodExecute, domain.ActionDiscourseCreatePost, map[string]any{"post_id": topic + 1}),
					Calls: []string{fmt.Sprintf("PUT /posts/%d/recover.json", topic+1)}},
			},
			Ingress: &platformtest.Ingress{
				Deliver: func(t *testing.T, eventID string) int {
					id := int64(1000 + len(eventID))
					return discoursetest.Deliver(e.hook(), hookKey, "topic_created", e.site.URL(), 1, discoursetest.TopicCreated(id, 8, "Topic "+eventID, "bob", time.Now()))
				},
				Forged: func(t *testing.T) int {
					return discoursetest.Deliver(e.hook(), "guess", "topic_created", e.site.URL(), 2, discoursetest.TopicCreated(2001, 8, "Forged topic", "bob", time.Now()))
				},
				Stale: func(t *testing.T) int {
					return discoursetest.Deliver(e.hook(), hookKey, "topic_created", e.site.URL(), 3, discoursetest.TopicCreated(2002, 8, "Old topic", "bob", time.Now().Add(-2*time.Hour)))
				},
				Settle: e.a.workers.Wait,
			},
			Voting: &platformtest.Voting{
				Open: func(t *testing.T, proposalID string) {
					req := request("e-vote-"+proposalID, bus.MethodInitiateVote, map[string]any{"text": "Shall we?", "topic_id": topic})
					req.ProposalID = proposalID
					res, err := e.a.Perform(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					id, _ := idOf(res["post_id"])
					votePosts[proposalID] = id
				},
				Vote: func(t *testing.T, proposalID, member, click string) int {
					e.site.Vote(votePosts[proposalID], member, "Yes")
					if err := e.a.ReadVotes(context.Background()); err != nil {
						t.Fatal(err)
					}
					return http.StatusOK
				},
			},
		}
	})
}

// A rate-limited request (429, extras.wait_seconds) is tried again; past its tries the effect
// fails and nothing is recorded.
func TestRateLimited(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &nopPublisher{})
	topic, _ := e.site.AddTopic("A topic made by a member", 8)
	e.site.RateLimitNext(fmt.Sprintf("DELETE /t/%d.json", topic), 2)
	if _, err := e.a.Perform(ctx, govern("r-1", bus.MethodRevert, domain.ActionDiscourseCreateTopic, map[string]any{"topic_id": topic})); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.site.Topic(topic); !got.Deleted {
		t.Fatalf("after two 429s: %v", got)
	}
	e.site.RateLimitNext("POST /posts.json", 4)
	_, err := e.a.Perform(ctx, request("e-limited", bus.MethodPostMessage, map[string]any{"text": "hi", "topic_id": topic}))
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "tried 4 times") {
		t.Fatalf("four 429s: %v", err)
	}
}

// make_call reaches the documented endpoints only.
func TestMakeCall(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &nopPublisher{})
	res, err := e.a.Perform(ctx, request("e-cats", MethodMakeCall, map[string]any{"url": "/categories.json"}))
	if err != nil || res["category_list"] == nil {
		t.Fatalf("GET /categories.json: %v, %v", res, err)
	}
	for i, bad := range []map[string]any{{"url": "/admin/api/keys.json", "values": map[string]any{"key": "x"}}, {"url": "/admin/users/1/suspend.json", "method": "PUT"},
		{"url": "/t/1/../../admin.json"}, {"url": "/posts.json", "method": "PATCH"}} {
		if _, err := e.a.Perform(ctx, request(fmt.Sprint("e-bad-", i), MethodMakeCall, bad)); err == nil {
			t.Fatalf("make_call %v was made", bad)
		}
	}
	if got := e.site.Calls(); len(got) != 1 {
		t.Fatalf("calls %q, want the one GET", got)
	}
}

// A forged webhook, one from another site, and a topic the adapter made itself publish
// nothing; a post by a member is a discoursecreatepost.
func TestWebhooks(t *testing.T) {
	pub := &nopPublisher{}
	e := newEnv(t, pub)
	now := time.Now()
	if code := discoursetest.Deliver(e.hook(), "", "post_created", e.site.URL(), 1, discoursetest.PostCreated(5, 4, 2, "hi", "bob", now)); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", code)
	}
	if code := discoursetest.Deliver(e.hook(), hookKey, "post_created", "https://other.example", 1, discoursetest.PostCreated(5, 4, 2, "hi", "bob", now)); code != http.StatusUnauthorized {
		t.Fatalf("another site: %d", code)
	}
	res, err := e.a.Perform(context.Background(), govern("x-new", bus.MethodExecute, domain.ActionDiscourseCreateTopic, map[string]any{"title": "From the dashboard", "raw": "Some text here."}))
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := idOf(res["topic_id"])
	if code := discoursetest.Deliver(e.hook(), hookKey, "topic_created", e.site.URL(), 2, discoursetest.TopicCreated(ours, 8, "From the dashboard", "policykit", now)); code != http.StatusOK {
		t.Fatalf("our topic: %d", code)
	}
	if code := discoursetest.Deliver(e.hook(), hookKey, "post_created", e.site.URL(), 3, discoursetest.PostCreated(77, 4, 2, "a reply", "bob", now)); code != http.StatusOK {
		t.Fatalf("a member's post: %d", code)
	}
	e.a.workers.Wait()
	cmds := pub.proposed(t)
	if len(cmds) != 1 || cmds[0].Action.Type != domain.ActionDiscourseCreatePost || cmds[0].Initiator.Username != "bob" ||
		fmt.Sprint(cmds[0].Action.Fields["post_id"]) != "77" || cmds[0].Action.Fields["raw"] != "a reply" {
		t.Fatalf("proposed %+v, want bob's post only", cmds)
	}
}

type nopPublisher struct {
	msgs []*message.Message
}

func (p *nopPublisher) Publish(topic string, msgs ...*message.Message) error {
	if topic == bus.TopicProposeAction {
		p.msgs = append(p.msgs, msgs...)
	}
	return nil
}
func (p *nopPublisher) Close() error { return nil }

func (p *nopPublisher) proposed(t *testing.T) []bus.ProposeAction {
	var out []bus.ProposeAction
	for _, m := range p.msgs {
		var c bus.ProposeAction
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}
