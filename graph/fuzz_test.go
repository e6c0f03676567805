package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzHandler posts arbitrary bodies to the GraphQL handler, anonymously and as a member:
// it never panics and never answers 5xx; every answer is JSON, and a refused request's
// errors carry a code.
func FuzzHandler(f *testing.F) {
	for _, q := range []string{
		`{"query":"{ me { id } }"}`,
		`{"query":"query($id: ID!) { community(id: $id) { name policies(first: 5) { edges { node { id name } } } } }","variables":{"id":"garden"}}`,
		`{"query":"mutation { login(username: \"a\", password: \"b\") { account { id } } }"}`,
		`{"query":"{ __schema { types { name } } }"}`,
		`{"query":"{ a: me { id } b: me { id } }"}`,
		`{"query":"mutation($c: ID!) { proposeAction(communityId: $c, type: \"policykitaddrole\", fields: {name: \"x\"}) { proposal { id } } }","variables":{"c":"garden"}}`,
		`{"query":"fragment F on Query { me { id } } { ...F ...F }"}`,
		`{"query":"{ me { id }","variables":[]}`,
		`{"query":1}`,
		`[{"query":"{ me { id } }"}]`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`,
		`not json`,
	} {
		f.Add(false, []byte(q))
		f.Add(true, []byte(q))
	}
	e := newEnv(f, nil)
	token := e.tokens["alice"]
	f.Fuzz(func(t *testing.T, member bool, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if member {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("member=%v %q: answered %d %s", member, body, rec.Code, rec.Body)
		}
		var out struct {
			Errors []gqlError
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("member=%v %q: answered %d, not JSON: %s", member, body, rec.Code, rec.Body)
		}
		for _, e := range out.Errors {
			if e.Extensions["code"] == nil {
				t.Fatalf("member=%v %q: an error without a code: %+v", member, body, e)
			}
		}
	})
}
