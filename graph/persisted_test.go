package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/graph"
)

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	Data   json.RawMessage
	Errors []gqlError
}

// persistedQuery is Apollo's extensions.persistedQuery for hash.
func persistedQuery(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

// mustPost posts body as alice and decodes the response, whatever its status.
func (e *env) mustPost(t *testing.T, body map[string]any) gqlResponse {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
	return e.mustServe(t, req)
}

// mustGet sends query (may be "") and extensions over GET as alice.
func (e *env) mustGet(t *testing.T, query string, extensions map[string]any) gqlResponse {
	t.Helper()
	v := url.Values{}
	if query != "" {
		v.Set("query", query)
	}
	if extensions != nil {
		b, err := json.Marshal(extensions)
		if err != nil {
			t.Fatal(err)
		}
		v.Set("extensions", string(b))
	}
	req := httptest.NewRequest(http.MethodGet, "/graphql?"+v.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
	return e.mustServe(t, req)
}

func (e *env) mustServe(t *testing.T, req *http.Request) gqlResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d %s: %v", rec.Code, rec.Body, err)
	}
	return resp
}

// mustData fails unless resp succeeded, and returns its data.
func mustData(t *testing.T, what string, resp gqlResponse) string {
	t.Helper()
	if len(resp.Errors) > 0 || len(resp.Data) == 0 || string(resp.Data) == "null" {
		t.Fatalf("%s: errors %+v, data %s", what, resp.Errors, resp.Data)
	}
	return string(resp.Data)
}

// mustRefuse fails unless resp failed with code and no data, and returns its first error.
func mustRefuse(t *testing.T, what string, resp gqlResponse, code string) gqlError {
	t.Helper()
	if len(resp.Errors) == 0 {
		t.Fatalf("%s: no errors; data %s", what, resp.Data)
	}
	if got := resp.Errors[0].Extensions["code"]; got != code {
		t.Fatalf("%s: code %v, want %s (errors %+v)", what, got, code, resp.Errors)
	}
	if len(resp.Data) > 0 && string(resp.Data) != "null" {
		t.Fatalf("%s: data %s alongside the refusal", what, resp.Data)
	}
	return resp.Errors[0]
}

const communitiesQuery = `{ communities { id name } }`

func TestAutomaticPersistedQueries(t *testing.T) {
	e := newEnv(t, nil)
	hash := graph.QueryHash(communitiesQuery)

	first := e.mustPost(t, map[string]any{"extensions": persistedQuery(hash)})
	if err := mustRefuse(t, "unknown hash", first, "PERSISTED_QUERY_NOT_FOUND"); err.Message != "PersistedQueryNotFound" {
		t.Errorf("unknown hash: message %q, want PersistedQueryNotFound (what Apollo clients look for)", err.Message)
	}
	if data := mustData(t, "hash and query", e.mustPost(t, map[string]any{"query": communitiesQuery, "extensions": persistedQuery(hash)})); !strings.Contains(data, `"garden"`) {
		t.Errorf("hash and query: %s", data)
	}
	if data := mustData(t, "hash alone, once known", e.mustPost(t, map[string]any{"extensions": persistedQuery(hash)})); !strings.Contains(data, `"garden"`) {
		t.Errorf("hash alone: %s", data)
	}
	if data := mustData(t, "hash alone over GET", e.mustGet(t, "", persistedQuery(hash))); !strings.Contains(data, `"garden"`) {
		t.Errorf("hash alone over GET: %s", data)
	}

	// A hash that is not the query's is refused, and does not register the query under it.
	other := `{ communities { id } }`
	mustRefuse(t, "wrong hash", e.mustPost(t, map[string]any{"query": other, "extensions": persistedQuery(graph.QueryHash("not this"))}), "INVALID")
	mustRefuse(t, "hash of the refused pair", e.mustPost(t, map[string]any{"extensions": persistedQuery(graph.QueryHash("not this"))}), "PERSISTED_QUERY_NOT_FOUND")
	mustRefuse(t, "version 2", e.mustPost(t, map[string]any{"query": communitiesQuery,
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": hash}}}), "INVALID")
}

func TestAllowList(t *testing.T) {
	const (
		rolesQuery        = `{ community(id: "garden") { roles { edges { node { name } } } } }`
		smallIntrospect   = `{ __schema { queryType { name } } }`
		proposalSubscribe = `subscription($p: ID!) { proposalUpdated(id: $p) { id status } }`
		addRole           = `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"Sneaky\"}"}) { action { id } } }`
	)
	e := newEnvWith(t, nil, func(d *graph.Deps) {
		d.AllowList = graph.NewAllowList(communitiesQuery, rolesQuery, smallIntrospect, proposalSubscribe, proposeRename)
	})
	hash := graph.QueryHash(communitiesQuery)

	t.Run("listed operations run by hash or by text", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"hash":          {"extensions": persistedQuery(hash)},
			"upper hash":    {"extensions": persistedQuery(strings.ToUpper(hash))},
			"text":          {"query": communitiesQuery},
			"hash and text": {"query": communitiesQuery, "extensions": persistedQuery(hash)},
		} {
			if data := mustData(t, name, e.mustPost(t, body)); !strings.Contains(data, `"garden"`) {
				t.Errorf("%s: %s", name, data)
			}
		}
		if data := mustData(t, "hash over GET", e.mustGet(t, "", persistedQuery(hash))); !strings.Contains(data, `"garden"`) {
			t.Errorf("hash over GET: %s", data)
		}
		if data := mustData(t, "listed introspection", e.mustPost(t, map[string]any{"query": smallIntrospect})); !strings.Contains(data, `"Query"`) {
			t.Errorf("listed introspection: %s", data)
		}
	})

	t.Run("anything else is refused", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"unlisted text":                {"query": `{ communities { id } }`},
			"listed text but a space more": {"query": communitiesQuery + " "},
			"unlisted hash":                {"extensions": persistedQuery(graph.QueryHash(`{ communities { id } }`))},
			"introspection":                {"query": introspectionQuery, "operationName": "IntrospectionQuery"},
		} {
			err := mustRefuse(t, name, e.mustPost(t, body), "FORBIDDEN")
			if err.Message != "operation is not in the allow-list" {
				t.Errorf("%s: message %q", name, err.Message)
			}
		}
		mustRefuse(t, "unlisted text over GET", e.mustGet(t, `{ communities { id } }`, nil), "FORBIDDEN")
		// A listed text under another's hash is not a way around the list either.
		mustRefuse(t, "listed text, wrong hash", e.mustPost(t, map[string]any{"query": communitiesQuery,
			"extensions": persistedQuery(graph.QueryHash(rolesQuery))}), "INVALID")
	})

	t.Run("clients cannot persist new queries", func(t *testing.T) {
		q := `{ communities { name } }`
		mustRefuse(t, "register", e.mustPost(t, map[string]any{"query": q, "extensions": persistedQuery(graph.QueryHash(q))}), "FORBIDDEN")
		mustRefuse(t, "then by hash", e.mustPost(t, map[string]any{"extensions": persistedQuery(graph.QueryHash(q))}), "FORBIDDEN")
	})

	t.Run("an unlisted mutation changes nothing", func(t *testing.T) {
		e.statements.n.Store(0)
		mustRefuse(t, "unlisted mutation", e.mustPost(t, map[string]any{"query": addRole}), "FORBIDDEN")
		// Only the caller's authentication reached the database.
		if n := e.statements.n.Load(); n != 1 {
			t.Errorf("the refused mutation ran %d statements, want 1 (authentication)", n)
		}
		data := mustData(t, "roles", e.mustPost(t, map[string]any{"query": rolesQuery}))
		if strings.Contains(data, "Sneaky") {
			t.Errorf("the refused mutation added a role: %s", data)
		}
	})

	t.Run("subscriptions over a websocket", func(t *testing.T) {
		proposal := e.mustPropose(t, "alice", "listed") // proposeRename is listed
		srv := httptest.NewServer(e.handler)
		defer srv.Close()
		c := dialWS(t, srv, "graphql-transport-ws", bearer(e.tokens["alice"]))
		c.mustAck()
		c.subscribe("unlisted", `subscription { proposalUpdated(id: "`+proposal+`") { id } }`)
		wantCode(t, c.mustFail("unlisted"), "FORBIDDEN")

		c.send(map[string]any{"id": "listed", "type": "subscribe", "payload": map[string]any{
			"variables": map[string]any{"p": proposal}, "extensions": persistedQuery(graph.QueryHash(proposalSubscribe)),
		}})
		var p struct{ ProposalUpdated struct{ ID, Status string } }
		c.next("listed", &p, nil) // the current state
		if p.ProposalUpdated.ID != proposal || p.ProposalUpdated.Status != "PROPOSED" {
			t.Errorf("listed subscription by hash: %+v", p.ProposalUpdated)
		}
	})
}

func TestLoadAllowList(t *testing.T) {
	const (
		q1 = `query Communities { communities { id name } }`
		q2 = "mutation Vote($in: CastVoteInput!) { castVote(input: $in) { proposal { id } } }\n"
	)
	h1, h2 := graph.QueryHash(q1), graph.QueryHash(q2)
	manifest := func(ops ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1, "operations": ops})
		return string(b)
	}
	plain := func(m map[string]string) string {
		b, _ := json.Marshal(m)
		return string(b)
	}
	write := func(t *testing.T, dir, name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := graph.AllowList{h1: q1, h2: q2}
	check := func(t *testing.T, got graph.AllowList) {
		t.Helper()
		if len(got) != len(want) || got[h1] != q1 || got[h2] != q2 {
			t.Errorf("loaded %q, want %q", got, want)
		}
	}

	t.Run("apollo manifest", func(t *testing.T) {
		p := write(t, t.TempDir(), "manifest.json", manifest(
			map[string]any{"id": h1, "name": "Communities", "type": "query", "body": q1},
			map[string]any{"id": strings.ToUpper(h2), "name": "Vote", "type": "mutation", "body": q2},
		))
		l, err := graph.LoadAllowList(p)
		if err != nil {
			t.Fatal(err)
		}
		check(t, l)
	})
	t.Run("plain map", func(t *testing.T) {
		l, err := graph.LoadAllowList(write(t, t.TempDir(), "list.json", plain(map[string]string{h1: q1, h2: q2})))
		if err != nil {
			t.Fatal(err)
		}
		check(t, l)
	})
	t.Run("directory of .graphql files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "communities.graphql", q1)
		write(t, dir, "vote.graphql", q2) // its trailing newline is part of its text
		write(t, dir, "README.md", "not an operation")
		l, err := graph.LoadAllowList(dir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, l)
	})

	bad := []struct {
		name, content string
		dir           map[string]string // a directory instead of a file
		wantInError   []string
	}{
		{name: "manifest id not the body's sha256", content: manifest(
			map[string]any{"id": h1, "name": "Communities", "type": "query", "body": q1},
			map[string]any{"id": h1, "name": "Vote", "type": "mutation", "body": q2},
		), wantInError: []string{`"Vote"`, h1, "not the sha256"}},
		{name: "plain map id not the body's sha256", content: plain(map[string]string{h2: q1}), wantInError: []string{h2, "not the sha256"}},
		{name: "body does not parse", content: plain(map[string]string{graph.QueryHash("{ oops"): "{ oops"}), wantInError: []string{"does not parse"}},
		{name: "manifest version 2", content: strings.Replace(manifest(), `"version":1`, `"version":2`, 1), wantInError: []string{"version 2"}},
		{name: "not JSON", content: "query { communities { id } }", wantInError: []string{"JSON"}},
		{name: "no operations", content: manifest(), wantInError: []string{"no operations"}},
		{name: "empty directory", dir: map[string]string{}, wantInError: []string{"no operations"}},
		{name: "file in a directory without an operation", dir: map[string]string{"a.graphql": "fragment F on Query { communities { id } }"}, wantInError: []string{"a.graphql", "no operation"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := dir
			if tc.dir == nil {
				path = write(t, dir, "list.json", tc.content)
			}
			for name, content := range tc.dir {
				write(t, dir, name, content)
			}
			l, err := graph.LoadAllowList(path)
			if err == nil {
				t.Fatalf("loaded %q, want an error", l)
			}
			for _, w := range tc.wantInError {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
	if _, err := graph.LoadAllowList(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v, want an error naming it", err)
	}
}
