package sourcecred

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
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/pgtest"
)

const testCommunity = "c1"

// accountsJSON is an instance's output/accounts.json as SourceCred writes it
// (CredAccountData): accounts with their identity, cred over time, total cred and grain in
// attograin strings; unclaimed aliases; interval endpoints.
const accountsJSON = `{
  "accounts": [
    {"account": {"identity": {"id": "AbCdEfGhIjKlMnOpQrStUv", "subtype": "USER", "name": "alice",
        "address": "N\u0000sourcecred\u0000core\u0000IDENTITY\u0000AbCdEfGhIjKlMnOpQrStUv\u0000",
        "aliases": [{"address": "N\u0000sourcecred\u0000discourse\u0000user\u0000https://forum.example\u0000alice\u0000", "description": "discourse/@alice"},
                    {"address": "N\u0000sourcecred\u0000discord\u0000MEMBER\u0000user\u0000140750062325202944\u0000", "description": "discord/alice#1234"}]},
      "balance": "123456789012345678901234567", "paid": "1000000000000000000", "active": true, "payoutAddresses": {}},
     "cred": [1.5, 200.25, 311.0], "totalCred": 512.75},
    {"account": {"identity": {"id": "ZyXwVuTsRqPoNmLkJiHgFe", "subtype": "USER", "name": "Bob",
        "address": "N\u0000sourcecred\u0000core\u0000IDENTITY\u0000ZyXwVuTsRqPoNmLkJiHgFe\u0000", "aliases": []},
      "balance": "0", "paid": "0", "active": false},
     "cred": [0, 12], "totalCred": 12}
  ],
  "unclaimedAliases": [],
  "intervalEndpoints": [1600000000000, 1600604800000, 1601209600000]
}`

// fakeInstance serves an instance's published output, as GitHub Pages would, counting
// reads; fail answers the next reads with these statuses (with Retry-After 0).
type fakeInstance struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reads []string
	fail  []int
	body  string
}

func newFakeInstance(t *testing.T) *fakeInstance {
	f := &fakeInstance{body: accountsJSON}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reads = append(f.reads, r.Method+" "+r.URL.Path)
		var status int
		if len(f.fail) > 0 {
			status, f.fail = f.fail[0], f.fail[1:]
		}
		body := f.body
		f.mu.Unlock()
		if status != 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", status)
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/instance"+AccountsPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeInstance) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reads)
}

type testEnv struct {
	f      *fakeInstance
	p      *Performer
	dir    *platform.MemoryDirectory
	ledger *platform.MemoryLedger
	now    time.Time
	mu     sync.Mutex
	pos    int64
}

func (e *testEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newEnv(t *testing.T, change ...func(*Config, *Deps)) *testEnv {
	t.Helper()
	e := &testEnv{f: newFakeInstance(t), dir: &platform.MemoryDirectory{}, ledger: platform.NewMemoryLedger(), now: time.Now()}
	u, _ := url.Parse(e.f.srv.URL)
	e.connect(t, testCommunity, map[string]string{SettingURL: e.f.srv.URL + "/instance/"})
	cfg := Config{On: true, AllowedHosts: []string{u.Host}, RetryWait: time.Millisecond, RetryMaxWait: time.Second, DirectoryWait: 20 * time.Millisecond}
	deps := Deps{Directory: e.dir, Ledger: e.ledger, Now: e.clock}
	for _, c := range change {
		c(&cfg, &deps)
	}
	var err error
	if e.p, err = New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *testEnv) connect(t *testing.T, community string, settings map[string]string) {
	t.Helper()
	ev := domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: community, At: time.Now().UTC()},
		Platform: domain.PlatformSourceCred, ExternalID: settings[SettingURL], Settings: settings}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e.pos++
	env := bus.EventEnvelope{ID: uuid.New(), Type: ev.EventType(), GlobalPosition: e.pos, Position: fmt.Sprintf("%d:0", e.pos), Data: data}
	if err := e.dir.Learn(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

func request(key, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: testCommunity, ProposalID: "p1", ActionID: "a1", EffectID: key, IdempotencyKey: key,
		Platform: domain.PlatformSourceCred, Method: method, Purpose: bus.PurposeQuery, Args: args}
}

// The adapter passes the platform kit's conformance suite, its ledger in memory and in
// Postgres: a query is answered once under redelivery and after a crash. It has no events,
// votes or governable actions.
func TestSourceCredConformance(t *testing.T) {
	ledgers := map[string]func(t *testing.T) platform.Ledger{
		"memory": func(*testing.T) platform.Ledger { return platform.NewMemoryLedger() },
		"postgres": func(t *testing.T) platform.Ledger {
			pool, _ := pgtest.NewPool(t)
			if err := platform.Migrate(context.Background(), pool); err != nil {
				t.Fatal(err)
			}
			return platform.PostgresLedger{Pool: pool, Platform: domain.PlatformSourceCred}
		},
	}
	for name, mk := range ledgers {
		t.Run(name, func(t *testing.T) {
			platformtest.Run(t, func(t *testing.T, _ message.Publisher) *platformtest.Harness {
				ledger := mk(t)
				e := newEnv(t, func(_ *Config, d *Deps) { d.Ledger = ledger })
				return &platformtest.Harness{
					Perform: e.p.Perform,
					Calls:   e.f.calls,
					Crash: func(ctx context.Context, req bus.EffectRequest) error {
						_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
						return err
					},
					Effect:      request("e-cred", MethodGetCred, map[string]any{"username": "alice"}),
					EffectCalls: []string{"GET /instance/output/accounts.json"},
				}
			})
		})
	}
}

func mustPerform(t *testing.T, p *Performer, req bus.EffectRequest) map[string]any {
	t.Helper()
	res, err := p.Perform(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// get_cred answers the total cred, get_grain the balance in attograin, exact; an account is
// found by its name (any case), its identity id or an alias's platform id.
func TestLookups(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct {
		method string
		args   map[string]any
		want   json.Number
	}{
		{MethodGetCred, map[string]any{"username": "alice"}, "512.75"},
		{MethodGetCred, map[string]any{"username": "ALICE"}, "512.75"},
		{MethodGetCred, map[string]any{"username": "bob"}, "12"},
		{MethodGetCred, map[string]any{"id": "AbCdEfGhIjKlMnOpQrStUv"}, "512.75"},
		{MethodGetCred, map[string]any{"id": json.Number("140750062325202944")}, "512.75"},
		{MethodGetGrain, map[string]any{"username": "alice"}, "123456789012345678901234567"},
		{MethodGetGrain, map[string]any{"username": "bob"}, "0"},
	} {
		res := mustPerform(t, e.p, request(fmt.Sprintf("e-%d", i), c.method, c.args))
		if len(res) != 1 || res["value"] != c.want {
			t.Fatalf("%s(%v) answered %#v, want {value: %s}", c.method, c.args, res, c.want)
		}
	}
	// One read served them all (the cache).
	if got := e.f.calls(); len(got) != 1 {
		t.Fatalf("the instance was read %d times: %q", len(got), got)
	}
	for i, args := range []map[string]any{{"username": "carol"}, {"id": "nope"}, {}} {
		if _, err := e.p.Perform(context.Background(), request(fmt.Sprintf("e-miss-%d", i), MethodGetCred, args)); err == nil {
			t.Fatalf("get_cred(%v) answered", args)
		}
	}
	if recs := e.ledger.Records(); len(recs) != 7 {
		t.Fatalf("%d records, want the 7 answers only", len(recs))
	}
}

// accounts.json is read again once its time-to-live passed, and not before.
func TestCacheTTL(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Deps) { c.CacheTTL = time.Minute })
	mustPerform(t, e.p, request("e-1", MethodGetCred, map[string]any{"username": "alice"}))
	e.f.mu.Lock()
	e.f.body = strings.Replace(accountsJSON, `"totalCred": 512.75`, `"totalCred": 600`, 1)
	e.f.mu.Unlock()
	e.advance(30 * time.Second)
	if res := mustPerform(t, e.p, request("e-2", MethodGetCred, map[string]any{"username": "alice"})); res["value"] != json.Number("512.75") {
		t.Fatalf("within the TTL: %v", res)
	}
	e.advance(31 * time.Second)
	if res := mustPerform(t, e.p, request("e-3", MethodGetCred, map[string]any{"username": "alice"})); res["value"] != json.Number("600") {
		t.Fatalf("past the TTL: %v", res)
	}
	if got := e.f.calls(); len(got) != 2 {
		t.Fatalf("reads %q, want 2", got)
	}
}

// A rate-limited (429) or failing (503) read is tried again after Retry-After; past its
// tries, the query fails and nothing is recorded, so a redelivery tries again.
func TestRateLimited(t *testing.T) {
	e := newEnv(t)
	e.f.fail = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}
	if res := mustPerform(t, e.p, request("e-1", MethodGetCred, map[string]any{"username": "alice"})); res["value"] != json.Number("512.75") {
		t.Fatalf("after a 429 and a 503: %v", res)
	}
	if got := e.f.calls(); len(got) != 3 {
		t.Fatalf("reads %q, want 3", got)
	}

	e2 := newEnv(t)
	e2.f.fail = []int{429, 429, 429, 429}
	_, err := e2.p.Perform(context.Background(), request("e-2", MethodGetCred, map[string]any{"username": "alice"}))
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "tried 4 times") {
		t.Fatalf("four 429s: %v", err)
	}
	if recs := e2.ledger.Records(); len(recs) != 0 {
		t.Fatalf("a failed query was recorded: %+v", recs)
	}
	if res := mustPerform(t, e2.p, request("e-2", MethodGetCred, map[string]any{"username": "alice"})); res["value"] != json.Number("512.75") {
		t.Fatalf("the redelivery: %v", res)
	}
}

// An instance URL the server may not reach is refused before anything is sent: a host off the
// allow-list, a scheme other than http(s), and, without an allow-list, a private address.
func TestInstanceURLsAreGuarded(t *testing.T) {
	e := newEnv(t)
	for i, bad := range []string{"http://evil.example/instance", "file:///etc/passwd", "ftp://x/y", "http://u:p@" + strings.TrimPrefix(e.f.srv.URL, "http://")} {
		c := fmt.Sprintf("c-bad-%d", i)
		e.connect(t, c, map[string]string{SettingURL: bad})
		req := request("e-"+c, MethodGetCred, map[string]any{"username": "alice"})
		req.CommunityID = c
		if _, err := e.p.Perform(context.Background(), req); err == nil {
			t.Fatalf("instance %q was read", bad)
		}
	}
	open := newEnv(t, func(c *Config, _ *Deps) { c.AllowedHosts = nil })
	_, err := open.p.Perform(context.Background(), request("e-private", MethodGetCred, map[string]any{"username": "alice"}))
	if err == nil || !strings.Contains(err.Error(), "not public") {
		t.Fatalf("a loopback instance without an allow-list: %v", err)
	}
	if got := append(e.f.calls(), open.f.calls()...); len(got) != 0 {
		t.Fatalf("refused instances were read: %q", got)
	}
	// Methods other than the two are refused.
	if _, err := e.p.Perform(context.Background(), request("e-post", bus.MethodPostMessage, map[string]any{"text": "hi"})); err == nil ||
		!strings.Contains(err.Error(), "get_cred and get_grain") {
		t.Fatalf("post_message: %v", err)
	}
}

func TestConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if ConfigFromEnv(env()).Enabled() {
		t.Fatal("enabled by default")
	}
	for _, e := range []func(string) string{env("SOURCECRED_ENABLED", "true"), env("SOURCECRED_ALLOWED_HOSTS", "sc.example, 127.0.0.1:8080")} {
		c := ConfigFromEnv(e)
		if !c.Enabled() || c.Validate() != nil {
			t.Fatalf("%+v: %v", c, c.Validate())
		}
	}
	for _, bad := range []func(string) string{env("SOURCECRED_ENABLED", "yes please"), env("SOURCECRED_CACHE_TTL", "soon", "SOURCECRED_ENABLED", "1"),
		env("SOURCECRED_ALLOWED_HOSTS", "http://sc.example/")} {
		if err := ConfigFromEnv(bad).Validate(); err == nil {
			t.Fatal("a bad setting validated")
		}
	}
}
