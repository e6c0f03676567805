package loomio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/hooks"
	"github.com/policykit-go/policykit/adapters/loomio/loomiotest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

const (
	testCommunity = "garden"
	testKey       = "loomio-key-garden"
	testGroup     = 42
	testHook      = "whsec-garden"
)

// recorder is a message.Publisher that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []published
}

type published struct {
	topic, id string
	payload   []byte
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.msgs = append(r.msgs, published{topic: topic, id: m.UUID, payload: m.Payload})
	}
	return nil
}

func (r *recorder) Close() error { return nil }

// on returns the distinct messages on topic, by id, in order.
func (r *recorder) on(topic string) []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []published
	seen := map[string]bool{}
	for _, m := range r.msgs {
		if m.topic == topic && !seen[m.id] {
			seen[m.id] = true
			out = append(out, m)
		}
	}
	return out
}

type testEnv struct {
	f         *loomiotest.Fake
	a         *Adapter
	dir       *platform.MemoryDirectory
	box       *sealed.Box
	ledger    *platform.MemoryLedger
	rec       *recorder
	hook      *httptest.Server
	positions int64
}

func newEnv(t *testing.T, change ...func(*Config, *Deps)) *testEnv {
	t.Helper()
	box, err := sealed.NewBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{f: loomiotest.New(testKey, testGroup), dir: &platform.MemoryDirectory{}, box: box,
		ledger: platform.NewMemoryLedger(), rec: &recorder{}}
	t.Cleanup(e.f.Close)
	e.connect(t, testHook)
	cfg := Config{URL: e.f.URL(), RetryWait: time.Millisecond, RetryMaxWait: time.Second, DirectoryWait: 20 * time.Millisecond}
	deps := Deps{Directory: e.dir, Box: box, Ledger: e.ledger, Publisher: platform.Publisher{Publisher: e.rec}}
	for _, c := range change {
		c(&cfg, &deps)
	}
	if e.a, err = New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.a.Close() })
	mux := http.NewServeMux()
	for pattern, h := range e.a.Routes() {
		mux.Handle(pattern, h)
	}
	e.hook = httptest.NewServer(mux)
	t.Cleanup(e.hook.Close)
	return e
}

// connect teaches the directory the community's connection of its Loomio group, with the
// webhook secret hook and any other settings.
func (e *testEnv) connect(t *testing.T, hook string, settings ...string) {
	t.Helper()
	secrets := map[string]string{}
	for name, plain := range map[string]string{SecretAPIKey: testKey, SecretWebhook: hook} {
		v, err := e.box.Seal(testCommunity, domain.PlatformLoomio, name, plain)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = v
	}
	set := map[string]string{SettingGroupID: strconv.Itoa(testGroup)}
	for i := 0; i+1 < len(settings); i += 2 {
		set[settings[i]] = settings[i+1]
	}
	e.learn(t, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: testCommunity, At: time.Now().UTC()},
		Platform: domain.PlatformLoomio, ExternalID: strconv.Itoa(testGroup), Settings: set, Secrets: secrets})
}

func (e *testEnv) learn(t *testing.T, ev domain.Event) {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e.positions++
	env := bus.EventEnvelope{ID: uuid.New(), Type: ev.EventType(), GlobalPosition: e.positions, Position: fmt.Sprintf("%d:0", e.positions), Data: data}
	if err := e.dir.Learn(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

// webhookURL is the group's webhook with secret.
func (e *testEnv) webhookURL(secret string) string {
	return e.hook.URL + "/api/hooks/loomio/" + testCommunity + "/" + secret
}

func (e *testEnv) deliver(t *testing.T, secret string, body []byte) int {
	t.Helper()
	resp, err := http.Post(e.webhookURL(secret), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func request(key, proposal, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: testCommunity, ProposalID: proposal, ActionID: "a1", EffectID: key, IdempotencyKey: key,
		Platform: domain.PlatformLoomio, Method: method, Purpose: bus.PurposeQuery, Args: args}
}

// seedArgs are the arguments the seed policy "Vote in Loomio on OpenCollective expenses"
// passes (closing_at as policy code's datetime becomes).
func seedArgs() map[string]any {
	return map[string]any{"title": "Expense 'Seeds'", "poll_type": "proposal", "details": "Submitted on Open Collective: https://oc/e/1",
		"options": []any{"consent", "objection"}, "closing_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339Nano)}
}

// openPoll starts the seed's poll for proposal and returns its Loomio id.
func (e *testEnv) openPoll(t *testing.T, proposal string) int {
	t.Helper()
	res, err := e.a.Perform(context.Background(), request("e-"+proposal, proposal, MethodInitiateVote, seedArgs()))
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.Atoi(fmt.Sprint(res["post_id"]))
	if err != nil {
		t.Fatalf("answer %v: %v", res, err)
	}
	return id
}

func decodeAs[T any](t *testing.T, m published) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(m.payload, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// initiate_vote creates the poll in the connection's group with the policy's title, type,
// details, options and closing time, the key as Loomio's api_key, and answers its id and URL;
// the policy's own group_id or api_key are not sent.
func TestInitiateVoteCreatesThePoll(t *testing.T) {
	e := newEnv(t)
	args := seedArgs()
	args["api_key"], args["group_id"], args["anonymous"] = "stolen", 7, true
	res, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, args))
	if err != nil {
		t.Fatal(err)
	}
	ids := e.f.PollIDs()
	if len(ids) != 1 {
		t.Fatalf("%d polls created", len(ids))
	}
	got, _ := e.f.Poll(ids[0])
	if got["title"] != "Expense 'Seeds'" || got["poll_type"] != "proposal" || !slices.Equal(got["options"].([]string), []string{"consent", "objection"}) ||
		got["closing_at"] != args["closing_at"] || got["details"] != args["details"] || got["anonymous"] != true {
		t.Fatalf("poll created %v", got)
	}
	body := e.f.Bodies()[0]
	if body["api_key"] != testKey || fmt.Sprint(body["group_id"]) != strconv.Itoa(testGroup) {
		t.Fatalf("sent api_key %v group_id %v, want the connection's", body["api_key"], body["group_id"])
	}
	if res["post_id"] != strconv.Itoa(ids[0]) || res["url"] != fmt.Sprintf("%s/p/pk%04d", e.f.URL(), ids[0]) {
		t.Fatalf("answer %v", res)
	}
	if p, ok, _ := e.a.deps.Store.PollByKey(context.Background(), testCommunity, fmt.Sprintf("pk%04d", ids[0])); !ok || p.ProposalID != "p1" {
		t.Fatalf("poll followed %+v %v", p, ok)
	}

	// create_discussion makes a thread in the group.
	d, err := e.a.Perform(context.Background(), request("e2", "p1", MethodCreateDiscussion, map[string]any{"title": "Budget", "description": "For 2025"}))
	if err != nil || !strings.HasPrefix(fmt.Sprint(d["url"]), e.f.URL()+"/d/dk") {
		t.Fatalf("create_discussion: %v %v", d, err)
	}
	if _, err := e.a.Perform(context.Background(), request("e3", "p1", "post_message", map[string]any{"text": "hi"})); err == nil {
		t.Fatal("post_message performed")
	}
}

// Loomio's refusals come back as the effect's error, naming what Loomio said; a refusal for
// now (429) is tried again after Retry-After, a POST that failed on Loomio's side (500) is
// not repeated (the poll may exist), a GET is.
func TestLoomioRefusals(t *testing.T) {
	t.Run("a key Loomio does not know", func(t *testing.T) {
		e := newEnv(t)
		e.f.APIKey = "another"
		_, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, seedArgs()))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusForbidden || strings.Contains(err.Error(), testKey) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("validation", func(t *testing.T) {
		e := newEnv(t)
		args := seedArgs()
		delete(args, "closing_at")
		_, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, args))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "closing_at") {
			t.Fatalf("error %v", err)
		}
		// Not recorded: the same request tries again once the policy is fixed.
		if _, ok, _ := e.ledger.Result(context.Background(), "e1"); ok {
			t.Fatal("a failure was recorded as the effect's result")
		}
	})
	t.Run("an unknown poll type", func(t *testing.T) {
		e := newEnv(t)
		args := seedArgs()
		args["poll_type"] = "lottery"
		if _, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, args)); err == nil || len(e.f.Calls()) != 0 {
			t.Fatalf("error %v, calls %v", err, e.f.Calls())
		}
	})
	t.Run("429 then created", func(t *testing.T) {
		e := newEnv(t)
		e.f.Fail("POST /api/b2/polls", loomiotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "0", Body: `{"error":"rate limited"}`})
		if _, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, seedArgs())); err != nil {
			t.Fatal(err)
		}
		if got := e.f.Calls(); len(got) != 2 || len(e.f.PollIDs()) != 1 {
			t.Fatalf("calls %v, polls %v", got, e.f.PollIDs())
		}
	})
	t.Run("500 on create is not repeated", func(t *testing.T) {
		e := newEnv(t)
		e.f.Fail("POST /api/b2/polls", loomiotest.Fault{Status: http.StatusInternalServerError, Body: "oops"})
		_, err := e.a.Perform(context.Background(), request("e1", "p1", MethodInitiateVote, seedArgs()))
		if err == nil || len(e.f.Calls()) != 1 {
			t.Fatalf("error %v, calls %v", err, e.f.Calls())
		}
	})
	t.Run("502 on read is tried again", func(t *testing.T) {
		e := newEnv(t)
		id := e.openPoll(t, "p1")
		e.f.Fail("GET /api/b2/polls/:id", loomiotest.Fault{Status: http.StatusBadGateway})
		if err := e.f.Choose(id, 7, "Alice", "consent"); err != nil {
			t.Fatal(err)
		}
		if err := e.a.SyncOpen(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(e.rec.on(bus.TopicCastVote)); n != 1 {
			t.Fatalf("%d votes after a 502 and a retry", n)
		}
	})
}

// Members' stances reach the engine from the group's webhook, read from the API: each as a
// choice vote by the Loomio user; a member voting again replaces their vote; the poll closed
// early closes the proposal's vote with the final votes. A forged request (another secret)
// is refused and changes nothing.
func TestWebhookVotesAndEarlyClose(t *testing.T) {
	e := newEnv(t)
	e.f.SetWebhook(e.webhookURL(testHook))
	id := e.openPoll(t, "p1")
	for _, v := range []struct {
		user   int
		name   string
		choice string
	}{{7, "Alice", "consent"}, {8, "Bob", "objection"}, {8, "Bob", "consent"}} {
		if err := e.f.Choose(id, v.user, v.name, v.choice); err != nil {
			t.Fatal(err)
		}
		e.a.Settle()
	}
	votes := e.rec.on(bus.TopicCastVote)
	var got []string
	for _, m := range votes {
		cv := decodeAs[bus.CastVote](t, m)
		if cv.ProposalID != "p1" || cv.Platform != domain.PlatformLoomio || cv.Vote.Kind != domain.VoteChoice || cv.Vote.At.IsZero() {
			t.Fatalf("vote %+v", cv)
		}
		got = append(got, cv.Vote.Username+":"+cv.Vote.Choice)
	}
	if !slices.Equal(got, []string{"7:consent", "8:objection", "8:consent"}) {
		t.Fatalf("votes %v", got)
	}
	if n := len(e.rec.on(bus.TopicProposeAction)); n != 3 {
		t.Fatalf("%d trigger actions for three events", n)
	}

	// A forged request, with the right body, changes nothing.
	events := e.f.Events()
	if code := e.deliver(t, "guess", events[0]); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", code)
	}

	if err := e.f.ClosePoll(id, "Approved by consent"); err != nil {
		t.Fatal(err)
	}
	e.a.Settle()
	closes := e.rec.on(bus.CommandTopic(bus.CommandCloseVote))
	if len(closes) != 1 {
		t.Fatalf("%d closes", len(closes))
	}
	cv := decodeAs[bus.CloseVote](t, closes[0])
	var final []string
	for _, v := range cv.Votes {
		final = append(final, v.Username+":"+v.Choice)
	}
	if cv.ProposalID != "p1" || cv.Platform != domain.PlatformLoomio || !slices.Equal(final, []string{"7:consent", "8:consent"}) {
		t.Fatalf("close %+v", cv)
	}
	// The outcome statement the poll closed with goes with the close, for the proposal.
	if cv.Outcome["statement"] != "Approved by consent" || cv.Outcome["statement_format"] != "md" || cv.Outcome["id"] == "" {
		t.Fatalf("the close's outcome %v", cv.Outcome)
	}
	// The poll is no longer read; a vote refused by the closed poll changes nothing.
	if open, _ := e.a.deps.Store.OpenPolls(context.Background()); len(open) != 0 {
		t.Fatalf("open polls %v", open)
	}
	calls := len(e.f.Calls())
	if err := e.a.SyncOpen(context.Background()); err != nil || len(e.f.Calls()) != calls {
		t.Fatalf("read a closed poll: %v, calls %v", err, e.f.Calls()[calls:])
	}
}

// Without the webhook (a delivery missed, or none set up), the polling of open polls brings
// the votes and the close; a poll whose proposal is decided is no longer read.
func TestPollingFallback(t *testing.T) {
	e := newEnv(t)
	id := e.openPoll(t, "p1")
	if err := e.f.Vote(id, 7, "Alice", map[string]int{"consent": 2, "objection": 1}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // read twice: the vote once
		if err := e.a.SyncOpen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if votes := e.rec.on(bus.TopicCastVote); len(votes) != 1 || decodeAs[bus.CastVote](t, votes[0]).Vote.Choice != "consent" {
		t.Fatalf("votes %v", votes)
	}
	if err := e.f.Expire(id); err != nil {
		t.Fatal(err)
	}
	if err := e.a.SyncOpen(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.rec.on(bus.CommandTopic(bus.CommandCloseVote))); n != 1 {
		t.Fatalf("%d closes", n)
	}

	// A second poll whose proposal was decided meanwhile is dropped unread.
	id2 := e.openPoll(t, "p2")
	e.learn(t, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: testCommunity, ProposalID: "p2", At: time.Now().UTC()}})
	calls := len(e.f.Calls())
	if err := e.a.SyncOpen(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.f.Calls()) != calls {
		t.Fatalf("poll %d of a decided proposal read: %v", id2, e.f.Calls()[calls:])
	}
}

// The connection's members setting matches Loomio users to community members: by Loomio
// user id to a community user id, or by Loomio username to a member another platform knows
// ("slack:UBOB"); their votes are those members' (UserID set, so that they replace the
// members' Slack votes and the members' roles apply). A member not in the map votes as
// their Loomio self. A mapped member the directory does not know yet has their vote wait,
// not count as someone else's, and it goes out once the directory knows them. A poll
// expired without an outcome closes with none.
func TestMembersMatchLoomioVotersToCommunityMembers(t *testing.T) {
	e := newEnv(t)
	e.connect(t, testHook, SettingMembers, `{"7": "alice", "bob": "slack:UBOB", "10": "slack:UDAN"}`)
	e.learn(t, domain.UserRegistered{CommunityHeader: domain.CommunityHeader{CommunityID: testCommunity, At: time.Now().UTC()},
		UserID: "u-bob", Platform: domain.PlatformSlack, Username: "UBOB"})
	id := e.openPoll(t, "p1")
	for _, v := range []struct {
		user   int
		name   string
		choice string
	}{{7, "Alice", "consent"}, {8, "Bob", "objection"}, {9, "Carol", "consent"}, {10, "Dan", "objection"}} {
		if err := e.f.Choose(id, v.user, v.name, v.choice); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := e.a.SyncOpen(ctx); err != nil {
		t.Fatal(err)
	}
	voters := func() []string {
		var got []string
		for _, m := range e.rec.on(bus.TopicCastVote) {
			cv := decodeAs[bus.CastVote](t, m)
			got = append(got, cv.Vote.UserID+"|"+cv.Vote.Username+":"+cv.Vote.Choice)
		}
		return got
	}
	if got := voters(); !slices.Equal(got, []string{"alice|:consent", "u-bob|:objection", "|9:consent"}) {
		t.Fatalf("votes %v", got)
	}

	// Dan joins the community on Slack: his Loomio vote goes out as his.
	e.learn(t, domain.UserRegistered{CommunityHeader: domain.CommunityHeader{CommunityID: testCommunity, At: time.Now().UTC()},
		UserID: "u-dan", Platform: domain.PlatformSlack, Username: "UDAN"})
	if err := e.f.Expire(id); err != nil {
		t.Fatal(err)
	}
	if err := e.a.SyncOpen(ctx); err != nil {
		t.Fatal(err)
	}
	closes := e.rec.on(bus.CommandTopic(bus.CommandCloseVote))
	if len(closes) != 1 {
		t.Fatalf("%d closes", len(closes))
	}
	cv := decodeAs[bus.CloseVote](t, closes[0])
	var final []string
	for _, v := range cv.Votes {
		final = append(final, v.UserID+"|"+v.Username+":"+v.Choice)
	}
	if !slices.Equal(final, []string{"alice|:consent", "u-bob|:objection", "|9:consent", "u-dan|:objection"}) || cv.Outcome != nil {
		t.Fatalf("close %+v", cv)
	}
}

// A members setting that is not a map of Loomio users to community users stops the poll's
// reading with an error naming the setting: no vote goes out as the wrong member's.
func TestMalformedMembersSetting(t *testing.T) {
	for _, raw := range []string{`["alice"]`, `{"7": ""}`, `{"7": 3}`} {
		e := newEnv(t)
		e.connect(t, testHook, SettingMembers, raw)
		id := e.openPoll(t, "p1")
		if err := e.f.Choose(id, 7, "Alice", "consent"); err != nil {
			t.Fatal(err)
		}
		err := e.a.SyncOpen(context.Background())
		if err == nil || !strings.Contains(err.Error(), SettingMembers) || len(e.rec.on(bus.TopicCastVote)) != 0 {
			t.Fatalf("members %s: error %v, votes %d", raw, err, len(e.rec.on(bus.TopicCastVote)))
		}
	}
}

func TestPollRef(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.loomio.com/p/Ab12cD/expense-seeds": "Ab12cD",
		"https://www.loomio.com/p/Ab12cD?stance_id=4":   "Ab12cD",
		"https://www.loomio.com/p/Ab12cD":               "Ab12cD",
		"https://www.loomio.com/d/xyz/thread":           "",
		"https://www.loomio.com/p/a%2Fb":                "",
	} {
		if got := pollRef(in); got != want {
			t.Errorf("pollRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c := ConfigFromEnv(env(nil)); c.Enabled() {
		t.Fatal("enabled without LOOMIO_URL")
	}
	c := ConfigFromEnv(env(map[string]string{"LOOMIO_URL": "https://www.loomio.com/", "LOOMIO_POLL_INTERVAL": "30s"}))
	if !c.Enabled() || c.Validate() != nil || c.PollInterval != 30*time.Second {
		t.Fatalf("%+v: %v", c, c.Validate())
	}
	err := ConfigFromEnv(env(map[string]string{"LOOMIO_URL": "loomio.com", "LOOMIO_POLL_INTERVAL": "often"})).Validate()
	if err == nil || !strings.Contains(err.Error(), "LOOMIO_URL") || !strings.Contains(err.Error(), "LOOMIO_POLL_INTERVAL") {
		t.Fatalf("error %v", err)
	}
}

// The group webhook and the generic hook are served on one mux (serve runs both): their
// patterns do not collide, and each request goes to its own.
func TestWebhookRouteBesideTheGenericHook(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(hooks.Pattern, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	mux.Handle(webhookPattern, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	for path, want := range map[string]int{"/api/hooks/loomio/garden": http.StatusTeapot, "/api/hooks/loomio/garden/whsec": http.StatusAccepted} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if rec.Code != want {
			t.Errorf("POST %s answered %d, want %d", path, rec.Code, want)
		}
	}
}
