package opencollective

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/opencollective/octest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/sealed"
)

const (
	testCommunity  = "garden"
	testCollective = "garden-collective"
	testToken      = "oc-personal-token"
	testKey        = "0123456789abcdef0123456789abcdef-webhook-key"
)

type testEnv struct {
	oc        *octest.Server
	a         *Adapter
	dir       *platform.MemoryDirectory
	box       *sealed.Box
	ledger    platform.Ledger
	site      *httptest.Server
	positions int64
	connected domain.PlatformConnected
}

// newEnv is the adapter against a fake Open Collective, serving its webhook route on a
// test server whose URL is its base URL, and the garden community connected.
func newEnv(t *testing.T, pub message.Publisher, change ...func(*Deps)) *testEnv {
	t.Helper()
	box, err := sealed.NewBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{oc: octest.New(t, testToken, testCollective), dir: &platform.MemoryDirectory{}, box: box, ledger: platform.NewMemoryLedger()}
	mux := http.NewServeMux()
	e.site = httptest.NewServer(mux)
	t.Cleanup(e.site.Close)
	cfg := Config{WebhookKey: testKey, APIURL: e.oc.URL(), SiteURL: "https://oc.example", RetryWait: time.Millisecond,
		RetryMaxWait: 2 * time.Second, DirectoryWait: 20 * time.Millisecond}
	deps := Deps{Directory: e.dir, Box: box, Ledger: e.ledger, BaseURL: e.site.URL, Publisher: platform.Publisher{Publisher: pub}}
	for _, c := range change {
		c(&deps)
	}
	if e.a, err = New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	mux.Handle(HookPattern, e.a)
	e.connected = e.connect(t, testToken)
	e.oc.AddExpense(octest.Expense{LegacyID: 7, Collective: testCollective, Description: "Seeds for the spring beds",
		Amount: 123450, Tags: []string{"garden", "seeds"}, Payee: "alice", CreatedBy: "alice"})
	return e
}

// connect teaches the directory the garden's connection with token, sealed, and returns it.
func (e *testEnv) connect(t *testing.T, token string) domain.PlatformConnected {
	t.Helper()
	s, err := e.box.Seal(testCommunity, domain.PlatformOpenCollective, SecretAPIToken, token)
	if err != nil {
		t.Fatal(err)
	}
	ev := domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: testCommunity, At: time.Now().UTC()},
		Platform: domain.PlatformOpenCollective, ExternalID: testCollective, Secrets: map[string]string{SecretAPIToken: s}}
	e.learn(t, ev)
	return ev
}

func (e *testEnv) learn(t *testing.T, ev domain.Event) bus.EventEnvelope {
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
	return env
}

// hookURL is the garden connection's webhook URL.
func (e *testEnv) hookURL() string {
	return e.a.WebhookURL(testCommunity, e.a.secret(testCommunity, testCollective, e.connected.Secrets))
}

func post(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func request(key, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: testCommunity, ProposalID: "p1", ActionID: "a1", EffectID: key, IdempotencyKey: key,
		Platform: domain.PlatformOpenCollective, Method: method, Purpose: bus.PurposePolicy, Args: args}
}

// The adapter passes the platform kit's conformance suite, its ledger in memory and in
// Postgres: an expense activity becomes one ProposeAction however often it is delivered, a
// delivery to a guessed URL or of a stale activity changes nothing, and process_expense
// (a read, then processExpense) is made once under redelivery and after a crash.
func TestOpenCollectiveConformance(t *testing.T) {
	ledgers := map[string]func(t *testing.T) platform.Ledger{
		"memory": func(*testing.T) platform.Ledger { return platform.NewMemoryLedger() },
		"postgres": func(t *testing.T) platform.Ledger {
			pool, _ := pgtest.NewPool(t)
			if err := Migrate(context.Background(), pool); err != nil {
				t.Fatal(err)
			}
			return platform.PostgresLedger{Pool: pool, Platform: domain.PlatformOpenCollective}
		},
	}
	for name, mk := range ledgers {
		t.Run(name, func(t *testing.T) {
			platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
				ledger := mk(t)
				e := newEnv(t, pub, func(d *Deps) { d.Ledger = ledger })
				return &platformtest.Harness{
					Perform: e.a.Perform,
					Calls:   e.oc.Calls,
					Crash: func(ctx context.Context, req bus.EffectRequest) error {
						_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
						return err
					},
					Effect:      request("e-approve", MethodProcessExpense, map[string]any{"action": "APPROVE", "expense_id": json.Number("7")}),
					EffectCalls: []string{"expense", "processExpense"},
					Ingress: &platformtest.Ingress{
						Deliver: func(t *testing.T, eventID string) int {
							return post(t, e.hookURL(), e.oc.Activity(len(eventID), "collective.expense.created", 7, time.Now()))
						},
						Forged: func(t *testing.T) int {
							guessed := e.a.WebhookURL(testCommunity, "guessed-secret")
							return post(t, guessed, e.oc.Activity(9, "collective.expense.created", 7, time.Now()))
						},
						Stale: func(t *testing.T) int {
							return post(t, e.hookURL(), e.oc.Activity(10, "collective.expense.created", 7, time.Now().Add(-48*time.Hour)))
						},
						Settle: func() {},
					},
				}
			})
		})
	}
}

// recorder collects what the adapter publishes.
type recorder struct {
	mu   sync.Mutex
	msgs []bus.ProposeAction
}

func (r *recorder) Publish(_ string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		var cmd bus.ProposeAction
		if err := json.Unmarshal(m.Payload, &cmd); err != nil {
			return err
		}
		r.msgs = append(r.msgs, cmd)
	}
	return nil
}

func (r *recorder) Close() error { return nil }

func (r *recorder) all() []bus.ProposeAction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.ProposeAction(nil), r.msgs...)
}

// Connecting a collective registers a webhook per expense activity at a URL with the
// connection's secret, once however often the event is delivered; a new connection replaces
// them; disconnecting removes them.
func TestConnectingRegistersWebhooks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, &recorder{})
	env := e.learn(t, e.connected)
	for range 3 {
		if err := e.a.HandleEvent(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	hooks := e.oc.Webhooks()
	if len(hooks) != len(activities) {
		t.Fatalf("%d webhooks registered, want %d: %+v", len(hooks), len(activities), hooks)
	}
	for i, h := range hooks {
		if h.Account != testCollective || h.ActivityType != activities[i].enum || h.URL != e.hookURL() {
			t.Fatalf("webhook %+v, want %s on %s at %s", h, activities[i].enum, testCollective, e.hookURL())
		}
	}
	secret := strings.TrimPrefix(hooks[0].URL, e.site.URL+"/api/hooks/opencollective/"+testCommunity+"/")
	if len(secret) < 40 || strings.Contains(secret, "/") {
		t.Fatalf("the webhook URL's secret %q is not a long random segment", secret)
	}

	// The community connects again (a new token): new webhooks at a new URL, the old gone,
	// and deliveries to the old URL refused.
	oldURL := e.hookURL()
	e.connected = e.connect(t, testToken)
	if err := e.a.HandleEvent(ctx, e.learn(t, e.connected)); err != nil {
		t.Fatal(err)
	}
	hooks = e.oc.Webhooks()
	if len(hooks) != len(activities) || hooks[0].URL == oldURL || hooks[0].URL != e.hookURL() {
		t.Fatalf("after reconnecting: %+v, want %d webhooks at %s", hooks, len(activities), e.hookURL())
	}
	if code := post(t, oldURL, e.oc.Activity(1, "collective.expense.created", 7, time.Now())); code != http.StatusUnauthorized {
		t.Fatalf("a delivery to the replaced connection's URL answered %d, want 401", code)
	}

	dis := e.learn(t, domain.PlatformDisconnected{CommunityHeader: domain.CommunityHeader{CommunityID: testCommunity, At: time.Now().UTC()},
		Platform: domain.PlatformOpenCollective})
	for range 2 {
		if err := e.a.HandleEvent(ctx, dis); err != nil {
			t.Fatal(err)
		}
	}
	if hooks := e.oc.Webhooks(); len(hooks) != 0 {
		t.Fatalf("after disconnecting, webhooks remain: %+v", hooks)
	}
	if n := e.oc.Count("deleteWebhook"); n != 2*len(activities) {
		t.Fatalf("%d deleteWebhook calls, want %d (each webhook once)", n, 2*len(activities))
	}
}

// An expense created on Open Collective becomes one expensecreated action with the
// attributes the seed's policies read, from the API's answer, not the delivery's body.
func TestExpenseCreatedBecomesATriggerAction(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, rec)
	body := e.oc.Activity(501, "collective.expense.created", 7, time.Now())
	// The body's description and amount are not believed: the API's are.
	body = bytes.Replace(body, []byte(`"amount":123450`), []byte(`"amount":1`), 1)
	for range 2 {
		if code := post(t, e.hookURL(), body); code != http.StatusOK {
			t.Fatalf("the delivery answered %d", code)
		}
	}
	got := rec.all()
	if len(got) != 1 {
		t.Fatalf("%d actions published, want 1", len(got))
	}
	a := got[0].Action
	want := map[string]any{"expense_id": float64(7), "description": "Seeds for the spring beds", "amount": float64(123450),
		"formatted_amount": "$1,234.50", "currency": "USD", "type": "INVOICE", "url": "https://oc.example/garden-collective/expenses/7",
		"expense_user_slug": "alice", "status": "PENDING"}
	fields := map[string]any{}
	raw, _ := json.Marshal(a.Fields)
	_ = json.Unmarshal(raw, &fields)
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %s = %v, want %v", k, fields[k], v)
		}
	}
	if tags, _ := fields["tags"].([]any); len(tags) != 2 || tags[0] != "garden" {
		t.Errorf("tags %v", fields["tags"])
	}
	if a.Type != domain.ActionExpenseCreated || a.Kind != domain.KindTrigger || a.Platform != domain.PlatformOpenCollective ||
		got[0].Initiator == nil || got[0].Initiator.Username != "alice" {
		t.Fatalf("action %+v initiator %+v", a, got[0].Initiator)
	}
}

// A forged delivery approves nothing: to a guessed URL it is refused before the API is
// asked; with the right URL, a body that claims what the API contradicts (an expense of
// another collective, an approval of a pending expense, a deleted expense that exists)
// proposes nothing.
func TestForgedDeliveriesProposeNothing(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, rec)
	e.oc.AddExpense(octest.Expense{LegacyID: 8, Collective: "other-collective", Description: "Not ours", Amount: 100})
	before := len(e.oc.Calls())
	if code := post(t, e.a.WebhookURL(testCommunity, "guess"), e.oc.Activity(1, "collective.expense.created", 7, time.Now())); code != http.StatusUnauthorized {
		t.Fatalf("a guessed URL answered %d", code)
	}
	if calls := e.oc.Calls()[before:]; len(calls) != 0 {
		t.Fatalf("a guessed URL made the adapter call the API: %v", calls)
	}
	for _, c := range []struct {
		typ     string
		expense int
	}{{"collective.expense.created", 8}, {"collective.expense.approved", 7}, {"collective.expense.deleted", 7}, {"collective.expense.paid", 7}} {
		if code := post(t, e.hookURL(), e.oc.Activity(2, c.typ, c.expense, time.Now())); code != http.StatusUnprocessableEntity {
			t.Errorf("a forged %s of expense %d answered %d, want 422", c.typ, c.expense, code)
		}
	}
	if n := len(rec.all()); n != 0 {
		t.Fatalf("forged deliveries proposed %d actions", n)
	}
}

// process_expense during an outage: 503s and a 429 are waited out, and an answer lost
// after Open Collective processed the expense is not processed again: the expense is
// approved once and the effect succeeds.
func TestProcessExpenseThroughAnOutage(t *testing.T) {
	e := newEnv(t, &recorder{})
	e.oc.FailNext("expense", octest.Failure{Status: http.StatusServiceUnavailable}, octest.Failure{Status: http.StatusTooManyRequests, RetryAfter: "0"})
	e.oc.FailNext("processExpense", octest.Failure{Status: http.StatusServiceUnavailable},
		octest.Failure{Status: http.StatusBadGateway, After: true})
	res, err := e.a.Perform(context.Background(), request("e-outage", MethodProcessExpense, map[string]any{"action": "APPROVE", "expense_id": "7"}))
	if err != nil {
		t.Fatal(err)
	}
	if res["status"] != "APPROVED" || e.oc.Expense(7).Status != "APPROVED" {
		t.Fatalf("answered %v, expense %+v", res, e.oc.Expense(7))
	}
	// The first processExpense was refused (503) and tried again; the second was carried
	// out and its answer lost (502); reading the expense showed it approved, so no third.
	if n := e.oc.Count("processExpense"); n != 2 {
		t.Fatalf("%d processExpense calls, want 2 (one refused, one carried out): %v", n, e.oc.Calls())
	}
}

// An expense whose state changed since the policy looked (rejected on Open Collective) fails
// process_expense(APPROVE) at once, without asking Open Collective to process it; a comment
// is made once however often it is delivered.
func TestProcessExpenseOfAChangedExpenseFails(t *testing.T) {
	e := newEnv(t, &recorder{})
	e.oc.SetStatus(7, "REJECTED")
	_, err := e.a.Perform(context.Background(), request("e-changed", MethodProcessExpense, map[string]any{"action": "APPROVE", "expense_id": "7"}))
	if !errors.Is(err, ErrStateChanged) {
		t.Fatalf("approving a rejected expense: %v, want ErrStateChanged", err)
	}
	if n := e.oc.Count("processExpense"); n != 0 {
		t.Fatalf("%d processExpense calls", n)
	}
	for range 3 {
		if _, err := e.a.Perform(context.Background(), request("e-comment", MethodPostMessage, map[string]any{"text": "Vote started", "expense_id": "7"})); err != nil {
			t.Fatal(err)
		}
	}
	if c := e.oc.Comments(7); len(c) != 1 || c[0].HTML != "Vote started" || c[0].ByToken != testToken {
		t.Fatalf("comments %+v", c)
	}
	if _, err := e.a.Perform(context.Background(), request("e-bad", MethodProcessExpense, map[string]any{"action": "DESTROY", "expense_id": "7"})); err == nil {
		t.Fatal("an unknown action was performed")
	}
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct {
		cents    int64
		currency string
		want     string
	}{{123450, "USD", "$1,234.50"}, {5, "EUR", "€0.05"}, {100000000, "GBP", "£1,000,000.00"}, {4200, "XYZ", "42.00 XYZ"}, {-250, "USD", "-$2.50"}} {
		if got := FormatAmount(c.cents, c.currency); got != c.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.cents, c.currency, got, c.want)
		}
	}
}
