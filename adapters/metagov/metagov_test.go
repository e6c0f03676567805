package metagov

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

const (
	testCommunity = "c1"
	testSlug      = "my-community"
	testKey       = "k3y-for-the-gateway"
	testSite      = "https://pk.example"
)

type testEnv struct {
	f      *fakeMetagov
	p      *Performer
	ledger *platform.MemoryLedger
	dir    *platform.MemoryDirectory
	box    *sealed.Box
	// positions are the directory's events' global positions so far.
	positions int64
}

// newEnv is a Performer against a fresh fake Metagov, whose community testCommunity is
// connected with the Metagov community testSlug and the key testKey, sealed.
func newEnv(t *testing.T, change ...func(*Config, *Deps)) *testEnv {
	t.Helper()
	box, err := sealed.NewBox([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{f: newFakeMetagov(t, testKey), ledger: platform.NewMemoryLedger(), dir: &platform.MemoryDirectory{}, box: box}
	e.connect(t, testCommunity, "ext-id", map[string]string{"community": testSlug}, map[string]string{"api_key": testKey})
	cfg := Config{URL: e.f.URL(), RetryWait: time.Millisecond, RetryMaxWait: time.Second, DirectoryWait: 20 * time.Millisecond}
	deps := Deps{Directory: e.dir, Box: box, Ledger: e.ledger, BaseURL: testSite}
	for _, c := range change {
		c(&cfg, &deps)
	}
	if e.p, err = New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect teaches the directory community's Metagov connection, its secrets sealed.
func (e *testEnv) connect(t *testing.T, community, externalID string, settings, secrets map[string]string) {
	t.Helper()
	sealedSecrets := map[string]string{}
	for name, plain := range secrets {
		v, err := e.box.Seal(community, domain.PlatformMetagov, name, plain)
		if err != nil {
			t.Fatal(err)
		}
		sealedSecrets[name] = v
	}
	e.learn(t, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: community, At: time.Now().UTC()},
		Platform: domain.PlatformMetagov, ExternalID: externalID, Settings: settings, Secrets: sealedSecrets})
}

// learn gives the directory ev, as the bus delivers it.
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

func request(key, method string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: testCommunity, ProposalID: "p1", ActionID: "a1", EffectID: key, IdempotencyKey: key,
		Platform: domain.PlatformMetagov, Method: method, Purpose: bus.PurposeQuery, Args: args}
}

// plain is v as JSON sees it (numbers float64), to compare answers whatever their types.
func plain(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustPerform(t *testing.T, p *Performer, req bus.EffectRequest) map[string]any {
	t.Helper()
	res, err := p.Perform(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// start_process posts the parameters with the proposal's callback, reads the process where
// Metagov said it is, answers it, and is not performed again by a redelivery.
func TestStartProcess(t *testing.T) {
	e := newEnv(t)
	req := request("e-start", MethodStartProcess, map[string]any{"name": "loomio.poll",
		"parameters": map[string]any{"title": "Lunch?", "options": []any{"pizza", "tacos"}, "closing_at": json.Number("1700000000"),
			"callback_url": "https://elsewhere.example/steal"}})
	res := mustPerform(t, e.p, req)
	want := map[string]any{"id": 1.0, "name": "loomio.poll", "community": testSlug, "status": "pending",
		"errors": map[string]any{}, "outcome": map[string]any{}}
	if got := plain(t, res); !reflect.DeepEqual(got, want) {
		t.Fatalf("start_process answered %v, want the process %v", got, want)
	}
	wantCalls := []string{"POST /api/internal/process/loomio.poll", "GET /api/internal/process/loomio.poll/1"}
	if got := e.f.requests(); !slices.Equal(got, wantCalls) {
		t.Fatalf("Metagov was asked %q, want %q", got, wantCalls)
	}
	started := e.f.started(1)
	if cb, want := started["callback_url"], testSite+"/api/hooks/metagov/c1?proposal=p1"; cb != want {
		t.Fatalf("callback_url %v, want %s (the policy's own is replaced)", cb, want)
	}
	wantParams := map[string]any{"title": "Lunch?", "options": []any{"pizza", "tacos"}, "closing_at": 1700000000.0}
	if got := plain(t, started["parameters"]); !reflect.DeepEqual(got, wantParams) {
		t.Fatalf("Metagov got the parameters %v, want %v", got, wantParams)
	}
	for _, c := range e.f.all() {
		if c.Community != testSlug || c.Auth != "Bearer "+testKey {
			t.Fatalf("%s %s carried X-Metagov-Community %q and Authorization %q, want %q and the bearer key", c.Method, c.Path, c.Community, c.Auth, testSlug)
		}
		if c.Method == http.MethodPost && c.ContentType != "application/json" {
			t.Fatalf("%s %s has Content-Type %q", c.Method, c.Path, c.ContentType)
		}
	}

	again := mustPerform(t, e.p, req)
	if !reflect.DeepEqual(plain(t, again), plain(t, res)) {
		t.Fatalf("the redelivery answered %v, the first delivery %v", again, res)
	}
	if got := e.f.requests(); len(got) != len(wantCalls) {
		t.Fatalf("a redelivery called Metagov again: %q", got)
	}
	if recs := e.ledger.Records(); len(recs) != 1 || recs[0].Method != MethodStartProcess || recs[0].CommunityID != testCommunity {
		t.Fatalf("the ledger recorded %+v, want the one start_process", recs)
	}
}

// close_process deletes the process it names and answers it closed.
func TestCloseProcess(t *testing.T) {
	e := newEnv(t)
	mustPerform(t, e.p, request("e-start", MethodStartProcess, map[string]any{"name": "loomio.poll", "parameters": map[string]any{"title": "Lunch?"}}))
	mustPerform(t, e.p, request("e-start-2", MethodStartProcess, map[string]any{"name": "loomio.poll"}))
	before := len(e.f.requests())

	// As the policy layer names it: the id as the process answer carried it, a number.
	res := mustPerform(t, e.p, request("e-close", MethodCloseProcess, map[string]any{"id": json.Number("2"), "name": "loomio.poll"}))
	if got := e.f.requests()[before:]; !slices.Equal(got, []string{"DELETE /api/internal/process/loomio.poll/2"}) {
		t.Fatalf("close_process asked %q", got)
	}
	want := map[string]any{"id": 2.0, "name": "loomio.poll", "community": testSlug, "status": "completed", "errors": map[string]any{},
		"outcome": map[string]any{"votes": map[string]any{"yes": 2.0, "no": 1.0}}}
	if got := plain(t, res); !reflect.DeepEqual(got, want) {
		t.Fatalf("close_process answered %v, want %v", got, want)
	}
	if e.f.started(1)["status"] != "pending" {
		t.Fatal("closing process 2 closed process 1")
	}

	// Metagov refuses to close a completed process: the effect fails with its answer.
	_, err := e.p.Perform(context.Background(), request("e-close-again", MethodCloseProcess, map[string]any{"id": "2", "name": "loomio.poll"}))
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "already completed") {
		t.Fatalf("closing a completed process: %v, want Metagov's 400 and its reason", err)
	}

	for _, args := range []map[string]any{{"name": "loomio.poll"}, {"id": "1"}, {"id": "1/../../x", "name": "loomio.poll"}} {
		before := len(e.f.requests())
		if _, err := e.p.Perform(context.Background(), request("e-bad-"+fmt.Sprint(args), MethodCloseProcess, args)); err == nil {
			t.Fatalf("close_process %v was performed", args)
		}
		if len(e.f.requests()) != before {
			t.Fatalf("close_process %v called Metagov", args)
		}
	}
}

// perform_action posts the parameters and answers Metagov's object.
func TestPerformAction(t *testing.T) {
	e := newEnv(t)
	res := mustPerform(t, e.p, request("e-act", MethodPerformAction, map[string]any{"name": "sourcecred.user-cred",
		"parameters": map[string]any{"username": "alice", "count": json.Number("12345678901234567890")}}))
	want := map[string]any{"action": "sourcecred.user-cred", "community": testSlug,
		"received": map[string]any{"username": "alice", "count": 12345678901234567890.0}}
	if got := plain(t, res); !reflect.DeepEqual(got, want) {
		t.Fatalf("perform_action answered %v, want %v", got, want)
	}
	calls := e.f.all()
	if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].Path != "/api/internal/action/sourcecred.user-cred" {
		t.Fatalf("Metagov was asked %q", e.f.requests())
	}
	// The body is {"parameters": ...}; the big number went as the number the policy gave.
	if _, ok := calls[0].Body["parameters"].(map[string]any); !ok || len(calls[0].Body) != 1 {
		t.Fatalf("perform_action posted %v, want {\"parameters\": {...}}", calls[0].Body)
	}

	// Without parameters, an empty object is posted.
	mustPerform(t, e.p, request("e-act-2", MethodPerformAction, map[string]any{"name": "sourcecred.refresh"}))
	if got := e.f.all()[1].Body; !reflect.DeepEqual(got, map[string]any{"parameters": map[string]any{}}) {
		t.Fatalf("perform_action without parameters posted %v", got)
	}
}

// A name that would leave its path segment is refused before anything is asked.
func TestNamesStayInTheirSegment(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"", "../admin", "loomio/../../admin", "a..b", "x?y=1", "x#y", "/abs", "x y"} {
		for _, method := range []string{MethodPerformAction, MethodStartProcess} {
			if _, err := e.p.Perform(context.Background(), request("e-"+method+name, method, map[string]any{"name": name})); err == nil {
				t.Fatalf("%s(%q) was performed", method, name)
			}
		}
	}
	if got := e.f.requests(); len(got) != 0 {
		t.Fatalf("bad names called Metagov: %q", got)
	}
}

// Methods other than Metagov's are refused, saying which there are.
func TestOtherMethodsRefused(t *testing.T) {
	e := newEnv(t)
	for _, m := range []string{bus.MethodPostMessage, bus.MethodInitiateVote, bus.MethodExecute, bus.MethodRevert, "get_process"} {
		_, err := e.p.Perform(context.Background(), request("e-"+m, m, map[string]any{"text": "hi"}))
		if err == nil || !strings.Contains(err.Error(), "metagov cannot "+m) || !strings.Contains(err.Error(), "perform_action, start_process and close_process") {
			t.Fatalf("%s: %v, want a refusal naming the methods", m, err)
		}
	}
	if got := e.f.requests(); len(got) != 0 {
		t.Fatalf("refused methods called Metagov: %q", got)
	}
	if recs := e.ledger.Records(); len(recs) != 0 {
		t.Fatalf("refused methods were recorded: %+v", recs)
	}
}

// A 500 fails the effect with the status and the start of the body, without trying again
// (a POST may have been carried out); the failure is not recorded, so a redelivery tries.
func TestServerErrorFailsTheEffect(t *testing.T) {
	e := newEnv(t)
	path := "/api/internal/action/opencollective.post"
	e.f.failNext("POST", path, fakeFailure{status: 500, body: "boom: the plugin fell over " + strings.Repeat("é", 2000)})
	req := request("e-500", MethodPerformAction, map[string]any{"name": "opencollective.post"})
	_, err := e.p.Perform(context.Background(), req)
	if err == nil {
		t.Fatal("a 500 answered no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "POST "+path) || !strings.Contains(msg, "500") || !strings.Contains(msg, "boom: the plugin fell over") {
		t.Fatalf("the error %q does not name the request, the status and Metagov's reason", msg)
	}
	if len(msg) > 2*excerptLen || strings.Contains(msg, testKey) {
		t.Fatalf("the error is unbounded or carries the key (%d bytes): %.200s", len(msg), msg)
	}
	if got := e.f.requests(); len(got) != 1 {
		t.Fatalf("a POST answered 500 was tried again: %q", got)
	}
	if recs := e.ledger.Records(); len(recs) != 0 {
		t.Fatalf("a failed effect was recorded: %+v", recs)
	}
	res := mustPerform(t, e.p, req)
	if res["action"] != "opencollective.post" {
		t.Fatalf("the redelivery answered %v", res)
	}
	if got := e.f.requests(); len(got) != 2 {
		t.Fatalf("the redelivery after a failure asked %q, want one more POST", got)
	}
}

// A 429 (and a 503) is tried again after Retry-After or a backoff; a GET is also tried again
// after a 500, since it changes nothing.
func TestRefusedForNowIsTriedAgain(t *testing.T) {
	e := newEnv(t)
	e.f.failNext("POST", "/api/internal/process/loomio.poll",
		fakeFailure{status: 429, retryAfter: "0", body: "slow down"}, fakeFailure{status: 503, body: "busy"})
	e.f.failNext("GET", "/api/internal/process/loomio.poll/1", fakeFailure{status: 500, body: "hiccup"})
	res := mustPerform(t, e.p, request("e-start", MethodStartProcess, map[string]any{"name": "loomio.poll"}))
	if res["status"] != "pending" || fmt.Sprint(res["id"]) != "1" {
		t.Fatalf("start_process answered %v", res)
	}
	want := []string{"POST /api/internal/process/loomio.poll", "POST /api/internal/process/loomio.poll", "POST /api/internal/process/loomio.poll",
		"GET /api/internal/process/loomio.poll/1", "GET /api/internal/process/loomio.poll/1"}
	if got := e.f.requests(); !slices.Equal(got, want) {
		t.Fatalf("Metagov was asked %q, want %q", got, want)
	}

	// Past its tries, a 429 fails the effect, saying so.
	e.f.failNext("POST", "/api/internal/action/x.y", fakeFailure{status: 429}, fakeFailure{status: 429}, fakeFailure{status: 429}, fakeFailure{status: 429})
	_, err := e.p.Perform(context.Background(), request("e-limited", MethodPerformAction, map[string]any{"name": "x.y"}))
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "tried 4 times") {
		t.Fatalf("four 429s: %v", err)
	}

	// A wait longer than a request may wait is not waited.
	e.f.failNext("POST", "/api/internal/action/x.z", fakeFailure{status: 429, retryAfter: "3600"})
	_, err = e.p.Perform(context.Background(), request("e-long", MethodPerformAction, map[string]any{"name": "x.z"}))
	if err == nil || !strings.Contains(err.Error(), "wait 1h0m0s") {
		t.Fatalf("a Retry-After of an hour: %v", err)
	}
}

// A process Metagov started but that cannot be read is answered as its Location says, so
// that the proposal follows and can close it.
func TestStartedProcessThatCannotBeRead(t *testing.T) {
	e := newEnv(t)
	e.f.failNext("GET", "/api/internal/process/loomio.poll/1", fakeFailure{status: 404, body: "gone"})
	res := mustPerform(t, e.p, request("e-start", MethodStartProcess, map[string]any{"name": "loomio.poll"}))
	want := map[string]any{"id": "1", "name": "loomio.poll", "status": "pending"}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("start_process answered %v, want %v", res, want)
	}
}

// A connection without a key sends none; the Metagov community is the external id when the
// connection sets none; a community not connected fails its effects.
func TestConnections(t *testing.T) {
	e := newEnv(t)
	e.f.key = ""
	e.connect(t, "c2", "their-slug", nil, nil)
	req := request("e-c2", MethodPerformAction, map[string]any{"name": "x.y"})
	req.CommunityID = "c2"
	mustPerform(t, e.p, req)
	if c := e.f.all()[0]; c.Community != "their-slug" || c.Auth != "" {
		t.Fatalf("c2's request carried community %q and Authorization %q, want its external id and none", c.Community, c.Auth)
	}

	req = request("e-c3", MethodPerformAction, map[string]any{"name": "x.y"})
	req.CommunityID = "c3"
	if _, err := e.p.Perform(context.Background(), req); err == nil || !strings.Contains(err.Error(), "Metagov connection") {
		t.Fatalf("a community not connected: %v", err)
	}

	// A key sealed for another community does not open for this one.
	other, err := e.box.Seal("c1", domain.PlatformMetagov, "api_key", "stolen")
	if err != nil {
		t.Fatal(err)
	}
	e.learn(t, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c4"}, Platform: domain.PlatformMetagov,
		ExternalID: "slug4", Secrets: map[string]string{"api_key": other}})
	before := len(e.f.requests())
	req = request("e-c4", MethodPerformAction, map[string]any{"name": "x.y"})
	req.CommunityID = "c4"
	if _, err := e.p.Perform(context.Background(), req); err == nil || !strings.Contains(err.Error(), "api_key") {
		t.Fatalf("a key sealed for another community: %v", err)
	}
	if len(e.f.requests()) != before {
		t.Fatal("a community whose key does not open called Metagov")
	}

	// Without a secret key on the server, a connection with a key cannot be used.
	noBox := newEnv(t, func(_ *Config, d *Deps) { d.Box = nil })
	if _, err := noBox.p.Perform(context.Background(), request("e-nobox", MethodPerformAction, map[string]any{"name": "x.y"})); err == nil ||
		!strings.Contains(err.Error(), "POLICYKIT_SECRET_KEY") {
		t.Fatalf("no secret key: %v", err)
	}
}

// What Metagov answers is bounded, and an answer that is not an object is a value.
func TestAnswers(t *testing.T) {
	e := newEnv(t)
	e.f.bigAction = true
	_, err := e.p.Perform(context.Background(), request("e-big", MethodPerformAction, map[string]any{"name": "x.big"}))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("an answer over 1 MiB: %v", err)
	}
	if len(err.Error()) > 1000 {
		t.Fatalf("the error quotes the answer: %d bytes", len(err.Error()))
	}
}

// A Location on another server is not followed (the request would carry the key there).
func TestLocate(t *testing.T) {
	e := newEnv(t)
	for loc, want := range map[string]string{
		"/api/internal/process/loomio.poll/3":               e.f.URL() + "/api/internal/process/loomio.poll/3",
		"api/internal/process/loomio.poll/3":                e.f.URL() + "/api/internal/process/loomio.poll/3",
		e.f.srv.URL + "/metagov/api/internal/process/a.b/1": e.f.srv.URL + "/metagov/api/internal/process/a.b/1",
	} {
		got, err := e.p.locate(loc)
		if err != nil || got != want {
			t.Fatalf("locate(%q) = %q, %v; want %q", loc, got, err, want)
		}
	}
	for _, loc := range []string{"https://evil.example/api/internal/process/a/1", "//evil.example/x"} {
		if got, err := e.p.locate(loc); err == nil {
			t.Fatalf("locate(%q) followed it to %q", loc, got)
		}
	}
}

func TestConfig(t *testing.T) {
	env := func(url string) func(string) string {
		return func(k string) string {
			if k == "METAGOV_URL" {
				return url
			}
			return ""
		}
	}
	if ConfigFromEnv(env("")).Enabled() {
		t.Fatal("enabled without METAGOV_URL")
	}
	for _, ok := range []string{"http://metagov:8000", "https://gw.example/metagov/", " http://127.0.0.1:8000 "} {
		c := ConfigFromEnv(env(ok))
		if !c.Enabled() || c.Validate() != nil {
			t.Fatalf("METAGOV_URL %q: enabled %v, %v", ok, c.Enabled(), c.Validate())
		}
	}
	for _, bad := range []string{"metagov:8000", "/api", "ftp://metagov", "http://", "http://u:p@metagov", "http://metagov/?x=1", "::"} {
		err := ConfigFromEnv(env(bad)).Validate()
		if err == nil || !strings.Contains(err.Error(), "METAGOV_URL") {
			t.Fatalf("METAGOV_URL %q: %v", bad, err)
		}
	}
	// The App's registry names the adapter in the problem.
	var r platform.Registry
	r.Register(Registration())
	if err := r.Validate(env("metagov.example")); err == nil || !strings.HasPrefix(err.Error(), "metagov: METAGOV_URL") {
		t.Fatalf("the registry's validation: %v", err)
	}
	if err := r.Validate(env("")); err != nil {
		t.Fatalf("a disabled adapter is not validated: %v", err)
	}
}
