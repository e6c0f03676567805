package reddit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/adapters/reddit/reddittest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

type recorder struct {
	mu   sync.Mutex
	msgs map[string][]*message.Message
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[string][]*message.Message{}
	}
	r.msgs[topic] = append(r.msgs[topic], msgs...)
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) payloads(topic string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	seen := map[string]bool{}
	for _, m := range r.msgs[topic] {
		if !seen[m.UUID] {
			seen[m.UUID] = true
			out = append(out, m.Payload)
		}
	}
	return out
}

type harness struct {
	a    *Adapter
	fake *reddittest.Fake
	dir  *platform.MemoryDirectory
}

func learn(t testing.TB, d platform.Directory, pos int64, e domain.Event) {
	t.Helper()
	data, _ := json.Marshal(e)
	env := bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Position: fmt.Sprintf("%d:0", pos), Data: data}
	if err := d.Learn(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

// newHarness is an adapter for community c1, installed on r/garden by u/modbot.
func newHarness(t *testing.T, pub message.Publisher, ledger platform.Ledger) *harness {
	t.Helper()
	fake := reddittest.New(t.Cleanup)
	dir := &platform.MemoryDirectory{}
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: time.Now()}, Platform: domain.PlatformReddit, ExternalID: "garden"})
	secrets := &platform.MemorySecrets{}
	tok, _ := json.Marshal(map[string]any{"access_token": reddittest.AccessToken, "token_type": "bearer", "refresh_token": reddittest.RefreshToken, "expiry": time.Now().Add(time.Hour)})
	_ = secrets.Put(context.Background(), tokenName("garden"), string(tok))
	_ = secrets.Put(context.Background(), "user:garden", "modbot")
	a, err := New(Section{ClientID: reddittest.ClientID, ClientSecret: reddittest.ClientSecret, APIURL: fake.URL(), AuthURL: fake.URL(), RateLimitMaxWait: 3 * time.Second},
		Deps{Publisher: pub, Directory: dir, Secrets: secrets, Ledger: ledger, DirectoryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{a: a, fake: fake, dir: dir}
}

func effect(id, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: "c1", EffectID: id, IdempotencyKey: id, Platform: domain.PlatformReddit, Method: method, Purpose: bus.PurposePolicy, Args: args}
}

func governReq(id, method string) bus.EffectRequest {
	r := effect(id, method, map[string]any{"action_id": "a-" + id, "action_type": domain.ActionRedditMakePost, "fields": map[string]any{"name": "t3_p1", "title": "Hi"}})
	r.ActionID = "a-" + id
	return r
}

// The Reddit adapter passes the platform kit's conformance suite. It has no ingress of its
// own (it polls), so the ingress checks do not apply; votes are replies read back.
func TestRedditConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		h := newHarness(t, pub, ledger)
		votes := map[string]string{}
		return &platformtest.Harness{
			Perform: h.a.Perform,
			Calls:   h.fake.Changes,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect:      effect("e-post", "make_post", map[string]any{"title": "Hello", "text": "from policy", "subreddit": "garden"}),
			EffectCalls: []string{"POST /api/submit"},
			Govern: []platformtest.GovernCase{
				{Name: "execute post", Request: governReq("x-post", bus.MethodExecute), Calls: []string{"POST /api/approve t3_p1"}},
				{Name: "revert post", Request: governReq("r-post", bus.MethodRevert), Calls: []string{"POST /api/remove t3_p1"}},
			},
			Voting: &platformtest.Voting{
				Open: func(t *testing.T, proposalID string) {
					r := effect("e-vote-"+proposalID, bus.MethodInitiateVote, map[string]any{"text": "Vote?", "post_id": "t3_p1"})
					r.ProposalID = proposalID
					res, err := h.a.Perform(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					votes[proposalID] = res["post_id"].(string)
				},
				Vote: func(t *testing.T, proposalID, member, click string) int {
					h.fake.Reply(votes[proposalID], member, "+1", "t1_"+click, 1.7e9)
					if err := h.a.PollVotes(context.Background()); err != nil {
						t.Fatal(err)
					}
					return 200
				},
			},
		}
	})
}

// New posts are found by polling with a durable cursor: the first poll only sets it, each
// later post is proposed once as a governable redditmakepost by its author, and the
// account's own posts are not.
func TestNewPostsAreProposedOnce(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	ctx := context.Background()
	h.fake.AddPost("p0", "alice", "Before the install")
	for range 2 {
		if err := h.a.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.AddPost("p1", "alice", "First")
	h.fake.AddPost("p2", "modbot", "Ours")
	h.fake.AddPost("p3", "bob", "Second")
	for range 2 {
		if err := h.a.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, raw := range pub.payloads(bus.TopicProposeAction) {
		var p bus.ProposeAction
		_ = json.Unmarshal(raw, &p)
		if p.Action.Type != domain.ActionRedditMakePost || !p.Action.Reversible || p.Initiator == nil || p.Initiator.Username != p.Action.Field("author") {
			t.Fatalf("proposed %+v", p)
		}
		got = append(got, p.Action.Field("name"))
	}
	if !slices.Equal(got, []string{"t3_p1", "t3_p3"}) {
		t.Fatalf("proposed %q, want t3_p1 then t3_p3", got)
	}
	if c, _ := h.a.state.Cursor(ctx, "garden"); c != "t3_p3" {
		t.Fatalf("cursor %q", c)
	}
}

// A 429 is waited out (X-Ratelimit-Reset) and the removal is made once.
func TestRateLimitedRemovalIsWaitedOut(t *testing.T) {
	h := newHarness(t, &recorder{}, nil)
	h.fake.Limit(1)
	for range 2 {
		if _, err := h.a.Perform(context.Background(), governReq("r-post", bus.MethodRevert)); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.fake.Changes(); !slices.Equal(got, []string{"POST /api/remove t3_p1"}) || h.fake.Limited() != 1 {
		t.Fatalf("calls %q after %d refusals, want one removal after one", got, h.fake.Limited())
	}
}

// "+1"/"-1" replies to the vote comment are the votes of eligible users, a later reply
// replacing the earlier one; other replies and other users count for nothing.
func TestReplyVotes(t *testing.T) {
	pub := &recorder{}
	h := newHarness(t, pub, nil)
	ctx := context.Background()
	r := effect("e-vote", bus.MethodInitiateVote, map[string]any{"text": "Keep the post?", "users": []any{"alice", "bob"}})
	r.ProposalID = "p1"
	res, err := h.a.Perform(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := res["post_id"].(string)
	if !strings.HasPrefix(c, "t1_") || !slices.Equal(h.fake.Changes(), []string{"POST /api/submit", "POST /api/comment"}) {
		t.Fatalf("initiate_vote answered %v after %q", res, h.fake.Changes())
	}
	h.fake.Reply(c, "alice", "+1", "t1_a1", 100)
	h.fake.Reply(c, "bob", " -1 ", "t1_b1", 101)
	h.fake.Reply(c, "bob", "I agree", "t1_b0", 102)
	h.fake.Reply(c, "carol", "+1", "t1_c1", 103)
	h.fake.Reply(c, "alice", "-1", "t1_a2", 104)
	for range 2 {
		if err := h.a.PollVotes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for _, raw := range pub.payloads(bus.TopicCastVote) {
		var v bus.CastVote
		_ = json.Unmarshal(raw, &v)
		got[v.Vote.Username] = v.Vote.Boolean
	}
	if len(pub.payloads(bus.TopicCastVote)) != 2 || got["alice"] || got["bob"] {
		t.Fatalf("votes %v, want alice no (her later reply) and bob no, once each", got)
	}
}

// A forged install callback (a state not signed by the server) is refused and connects
// nothing.
func TestForgedInstallCallbackIsRefused(t *testing.T) {
	h := newHarness(t, &recorder{}, nil)
	created := false
	p := &Plugged{Adapter: h.a}
	srv := httptest.NewServer(p.installRoutes(platform.Host{BaseURL: "https://policykit.example", Log: nil,
		CreateCommunity: func(context.Context, platform.Installation) (string, bool, error) {
			created = true
			return "c9", true, nil
		}}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/auth/reddit/callback?" + url.Values{"code": {"c"}, "state": {"forged.state"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || created {
		t.Fatalf("forged callback answered %d, created %v", resp.StatusCode, created)
	}
}
