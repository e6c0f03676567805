package graph_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
)

// repeat is n copies of s, space separated.
func repeat(s string, n int) string { return strings.Repeat(s+" ", n) }

// aliased is n aliases of field: a0: field a1: field ...
func aliased(field string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// Oversized documents are refused by the bounds, before gqlgen validates them (validation's
// overlapping fields check is quadratic in duplicate fields: 16,000 of them cost 28s of
// CPU), and without a token.
func TestOversizedQueriesAreRefusedBeforeValidation(t *testing.T) {
	e := newEnv(t, nil)
	doubling := &strings.Builder{}
	doubling.WriteString("{ ...F0 }\n")
	for i := range 20 {
		fmt.Fprintf(doubling, "fragment F%d on Query { ...F%d __typename }\nfragment G%d on Query { ...F%d }\n", i, i+1, i, i+1)
	}
	// F(i) spreads F(i+1) twice (once through G(i)): 2^20 fields from 40 fragments.
	doubling.Reset()
	doubling.WriteString("{ ...F0 }\n")
	for i := range 20 {
		fmt.Fprintf(doubling, "fragment F%d on Query { ...F%d ...G%d }\nfragment G%d on Query { ...F%d }\n", i, i+1, i, i, i+1)
	}
	doubling.WriteString("fragment F20 on Query { __typename }\n")
	for name, q := range map[string]string{
		"16,000 duplicate fields":   "{ " + repeat("__typename", 16000) + "}",
		"600 duplicate fields":      "{ " + repeat("__typename", 600) + "}",
		"200 aliases":               "{ " + aliased("__typename", 200) + "}",
		"1,000 aliases of __schema": "{ " + aliased("__schema { types { name } }", 1000) + "}",
		"two __schema":              "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }",
		"11 fields of one name":     "{ " + repeat("__typename", graph.MaxSameResponseName+1) + "}",
		"11 through fragments":      "{ ...A ...B }\nfragment A on Query { " + repeat("__typename", 6) + "}\nfragment B on Query { ...A " + repeat("__typename", 5) + "}",
		"doubling fragments":        doubling.String(),
	} {
		errs := e.mustFailAs(t, "", q)
		if errs[0].Extensions["code"] != graph.CodeQueryTooLarge {
			t.Errorf("%s: %+v, want %s", name, errs[0], graph.CodeQueryTooLarge)
		}
	}
	// Within the bounds, the same shapes are validated and run.
	var ok map[string]any
	e.mustQuery(t, &ok, "{ "+repeat("__typename", graph.MaxSameResponseName)+"}")
	e.mustQuery(t, &ok, "{ "+aliased("__typename", graph.MaxAliases)+"}")
	e.mustQuery(t, &ok, "{ ...A ...A ...A }\nfragment A on Query { "+repeat("__typename", graph.MaxSameResponseName)+"}")
	e.mustQuery(t, &ok, "{ "+aliased("me { id username createdAt }", graph.MaxAliases)+"}") // 400 fields
}

// Past the bounds, every error of a response beyond MaxErrors is summed up in one.
func TestResponsesHoldAtMostMaxErrors(t *testing.T) {
	e := newEnv(t, nil)
	// Each pair of fields under one response name with other arguments conflicts: 10 × 45.
	errs := e.mustFail(t, "{ "+conflicting(graph.MaxAliases/graph.MaxSameResponseName)+"}")
	if len(errs) != graph.MaxErrors+1 || errs[graph.MaxErrors].Extensions["code"] != graph.CodeLimitExceeded {
		t.Errorf("%d errors, the last %+v; want %d and a summary", len(errs), errs[len(errs)-1], graph.MaxErrors+1)
	}
}

func TestIntrospectionCountsAndCanBeClosedToAnonymousCallers(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) { d.DisableAnonymousIntrospection = true })
	const schema = `{ __schema { queryType { name } } }`
	wantCode(t, e.mustFailAs(t, "", schema), "FORBIDDEN")
	var ok struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	e.mustQuery(t, &ok, schema)
	if ok.Schema.QueryType.Name != "Query" {
		t.Errorf("introspection with a token: %+v", ok)
	}
	// __typename is no introspection.
	if _, out := e.post(t, "", nil, `{ __typename }`, nil); len(out.Errors) > 0 {
		t.Errorf("anonymous __typename: %+v", out.Errors)
	}

	// Introspection costs IntrospectionComplexity: a query that fits alone (complexity 1602)
	// does not with it.
	const page = `community(id: "garden") { proposals(first: 100) { edges { node {
  id communityId actionId actionType actionKind initiatorId policyId policyName policyKind policyVersion status reason proposalTime decidedAt } } } }`
	var fits map[string]any
	e.mustQuery(t, &fits, "{ "+page+" }")
	wantCode(t, e.mustFail(t, "{ __schema { queryType { name } } "+page+" }"), "COMPLEXITY_LIMIT_EXCEEDED")
}

// One request carries one password guess: login and register cannot be aliased, attempts
// are limited per address and per username, and a refused attempt sets no cookie.
func TestSignInAttemptsAreLimited(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) {
		d.SignInPerAddress = identity.RateLimit{Every: time.Hour, Burst: 6}
		d.SignInPerAccount = identity.RateLimit{Every: time.Hour, Burst: 3}
	})
	noCookie := func(name string, resp *http.Response) {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == identity.SessionCookie {
				t.Errorf("%s set the session cookie", name)
			}
		}
	}
	guesses := "mutation { " + aliased(`login(username: "alice", password: "guess-guess") { id }`, 2) + `ok: login(username: "alice", password: "alice-secret") { id } }`
	resp, out := e.post(t, "", nil, guesses, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != graph.CodeLimitExceeded {
		t.Fatalf("aliased logins: %+v, want %s", out.Errors, graph.CodeLimitExceeded)
	}
	noCookie("aliased logins", resp)
	_, out = e.post(t, "", nil, `mutation { a: register(username: "mallory1", password: "mallory-pw") { id } b: register(username: "mallory2", password: "mallory-pw") { id } }`, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != graph.CodeLimitExceeded {
		t.Fatalf("aliased registers: %+v, want %s", out.Errors, graph.CodeLimitExceeded)
	}

	// Per username: three wrong guesses, then even the right password waits.
	for range 3 {
		if _, out := e.post(t, "", nil, `mutation { login(username: "alice", password: "guess-guess") { id } }`, nil); out.Errors[0].Extensions["code"] != "FORBIDDEN" {
			t.Fatalf("guess: %+v, want FORBIDDEN", out.Errors)
		}
	}
	resp, out = e.post(t, "", nil, `mutation { login(username: "ALICE", password: "alice-secret") { id } }`, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != graph.CodeRateLimited {
		t.Fatalf("fourth attempt for alice: %s %+v, want %s", out.Data, out.Errors, graph.CodeRateLimited)
	}
	noCookie("a rate-limited login", resp)
	// Bob, from the same address, still may.
	resp, out = e.post(t, "", nil, `mutation { login(username: "bob", password: "bob-secret") { id } }`, nil)
	if len(out.Errors) > 0 {
		t.Fatalf("bob: %+v", out.Errors)
	}
	sessionCookie(t, resp)
	// Per address: the sixth attempt from it (two were refused before being tried).
	if _, out := e.post(t, "", nil, `mutation { register(username: "dave", password: "dave-password") { id } }`, nil); len(out.Errors) > 0 {
		t.Fatalf("register: %+v", out.Errors)
	}
	if _, out := e.post(t, "", nil, `mutation { login(username: "carol", password: "carol-secret") { id } }`, nil); len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != graph.CodeRateLimited {
		t.Fatalf("seventh attempt from one address: %+v, want %s", out.Errors, graph.CodeRateLimited)
	}
}

func TestRegistrationCanBeTurnedOff(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) { d.DisableRegistration = true })
	_, out := e.post(t, "", nil, `mutation { register(username: "dave", password: "dave-password") { id } }`, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("register: %s %+v, want FORBIDDEN", out.Data, out.Errors)
	}
	if _, out = e.post(t, "", nil, `mutation { login(username: "dave", password: "dave-password") { id } }`, nil); len(out.Errors) == 0 {
		t.Error("the refused account exists")
	}
}

// A body gqlgen cannot decode is refused without being quoted back.
func TestMalformedBodyIsNotEchoed(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	for _, body := range []string{`{"query": "<script>secret-xyz`, `{"query": ["<script>secret-xyz"]}`} {
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(out), "secret-xyz") || !strings.Contains(string(out), `"INVALID"`) {
			t.Errorf("%s: %d %s; want 400 INVALID without the body", body, resp.StatusCode, out)
		}
	}
}

// Verification re-runs a proposal's decisions in the policy sandbox: it costs
// VerificationComplexity, and a request runs at most MaxVerifications of them.
func TestVerificationHasItsOwnBudget(t *testing.T) {
	e := newEnv(t, nil)
	p := e.mustPropose(t, "alice", "beds")
	wantCode(t, e.mustFail(t, `{ community(id: "garden") { proposals(first: 100) { edges { node { verification { ok } } } } } }`), "COMPLEXITY_LIMIT_EXCEEDED")

	q := "query($p: ID!) { " + aliased("proposal(id: $p) { verification { ok } }", graph.MaxVerifications+1) + "}"
	resp, out := e.post(t, "Bearer "+e.tokens["alice"], nil, q, map[string]any{"p": p})
	resp.Body.Close()
	if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != graph.CodeLimitExceeded {
		t.Fatalf("errors %+v, want one %s", out.Errors, graph.CodeLimitExceeded)
	}
	if n := strings.Count(string(out.Data), `"verification":{"ok":true}`); n != graph.MaxVerifications {
		t.Errorf("%d verifications ran, want %d: %s", n, graph.MaxVerifications, out.Data)
	}
}
