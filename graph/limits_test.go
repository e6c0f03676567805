package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/graph"
)

func TestDepthLimit(t *testing.T) {
	e := newEnv(t, nil)
	id := e.mustPropose(t, "alice", "deep")
	// 11 levels: proposal > action > governingProposal > ... > id.
	deep := `query($p: ID!) { proposal(id: $p) { action { governingProposal { action { governingProposal { action {
  governingProposal { action { governingProposal { action { id } } } } } } } } } } }`
	errs := e.mustFail(t, deep, map[string]any{"p": id})
	wantCode(t, errs, "INVALID")
	if !strings.Contains(errs[0].Message, "nested") {
		t.Errorf("message = %q", errs[0].Message)
	}
	// The same through a fragment is counted at the depth it is spread.
	viaFragment := `query($p: ID!) { proposal(id: $p) { ...A } }
fragment A on Proposal { action { governingProposal { action { governingProposal { action { governingProposal { action { governingProposal { action { id } } } } } } } } } }`
	wantCode(t, e.mustFail(t, viaFragment, map[string]any{"p": id}), "INVALID")

	// Ten levels are fine.
	var ok struct{ Proposal struct{ ID string } }
	e.mustQuery(t, &ok, `query($p: ID!) { proposal(id: $p) { id action { governingProposal { action { governingProposal { action {
  governingProposal { action { governingProposal { id } } } } } } } } } }`, client.Var("p", id))
}

func TestComplexityLimit(t *testing.T) {
	e := newEnv(t, nil)
	// A full page of proposals, each with everything, costs far more than the limit.
	errs := e.mustFail(t, `{ community(id: "garden") { proposals(first: 100) { edges { cursor node {
  id communityId actionId actionType actionKind initiatorId policyId policyName policyKind policyVersion status reason
  proposalTime decidedAt votePostId voteUrl tally { yes no total choices { choice count } }
  votes { userId username kind boolean choice number castAt } effects { edges { node { id platform method status } } } } } } } }`)
	wantCode(t, errs, "COMPLEXITY_LIMIT_EXCEEDED")

	// So do a community's lists: each page's items count, and nested pages multiply.
	for name, q := range map[string]string{
		"policy versions": `{ community(id: "garden") { policies(first: 100) { edges { node { id versions(first: 100) { edges { node { version } } } } } } } }`,
		"members":         `{ community(id: "garden") { members(first: 100) { edges { node { id platform username readableName isAdmin avatar joinedAt roles } } } roles(first: 100) { edges { node { name description isBase permissions createdAt } } } documents(first: 100) { edges { node { id name text active createdAt updatedAt } } } } }`,
		"proposal lists":  `{ community(id: "garden") { proposals(first: 20) { edges { node { effects(first: 100) { edges { node { id } } } evaluationLogs(first: 100) { edges { node { block } } } } } } } }`,
		"api tokens":      `{ me { apiTokens(first: 100) { edges { cursor node { id name createdAt revokedAt } } } } me2: me { apiTokens(first: 100) { edges { cursor node { id name createdAt revokedAt } } } } me3: me { apiTokens(first: 100) { edges { cursor node { id name createdAt revokedAt } } } } }`,
	} {
		if errs := e.mustFail(t, q); errs[0].Extensions["code"] != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("%s: %+v, want COMPLEXITY_LIMIT_EXCEEDED", name, errs)
		}
	}
	// The defaults fit.
	var ok any
	e.mustQuery(t, &ok, `{ community(id: "garden") { members { edges { node { id roles } } } roles { edges { node { name permissions } } }
  documents { edges { node { id name } } } policies { edges { node { id versions { edges { node { version change } } } } } } } }`)
}

func TestOversizedBodyIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	pad := strings.Repeat(" ", graph.MaxBodyBytes)
	body, _ := json.Marshal(map[string]any{"query": `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"Big\"}"}) { action { id } } }` + pad})

	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(out), `"INVALID"`) {
		t.Errorf("status %d, body %s; want 413 with INVALID", resp.StatusCode, out)
	}

	// Without a Content-Length (chunked), the body is cut at the limit and refused the same.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(bytes.NewReader(body)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(out2), `"INVALID"`) {
		t.Errorf("chunked oversized body: status %d, %s; want 413 with INVALID", resp2.StatusCode, out2)
	}

	var c struct {
		Community struct{ Roles conn[struct{ Name string }] }
	}
	e.mustQuery(t, &c, `{ community(id: "garden") { roles { edges { node { name } } } } }`)
	for _, r := range c.Community.Roles.nodes() {
		if r.Name == "Big" {
			t.Error("the oversized request changed something")
		}
	}
}

// introspectionQuery is the query standard GraphQL clients (graphql-js getIntrospectionQuery,
// GraphiQL, codegen tools) send.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestIntrospectionOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": introspectionQuery, "operationName": "IntrospectionQuery"})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Schema struct {
				QueryType    struct{ Name string }
				MutationType struct{ Name string }
				Types        []struct {
					Name   string
					Fields []struct{ Name string }
				}
			} `json:"__schema"`
		}
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		t.Fatalf("status %d, errors %+v", resp.StatusCode, out.Errors)
	}
	s := out.Data.Schema
	if s.QueryType.Name != "Query" || s.MutationType.Name != "Mutation" {
		t.Errorf("root types %q %q", s.QueryType.Name, s.MutationType.Name)
	}
	fields := map[string][]string{}
	for _, ty := range s.Types {
		for _, f := range ty.Fields {
			fields[ty.Name] = append(fields[ty.Name], f.Name)
		}
	}
	for ty, want := range map[string]string{"Query": "communities", "Mutation": "proposeConstitutionAction", "Proposal": "tally", "Community": "proposals"} {
		if !strings.Contains(","+strings.Join(fields[ty], ",")+",", ","+want+",") {
			t.Errorf("%s fields %v lack %s", ty, fields[ty], want)
		}
	}
}

// The dashboard's query, as docs/graphql.md shows it (a community with its first 20
// proposals, each with its tally and votes), costs the same few statements however many
// proposals there are.
func TestDashboardQueryHasNoNPlusOne(t *testing.T) {
	e := newEnv(t, nil)
	var ids []string
	for i := range 22 {
		ids = append(ids, e.mustPropose(t, "alice", fmt.Sprintf("c%d", i)))
	}
	for i, id := range ids[len(ids)-6:] {
		value := []string{"yes", "no"}[i%2]
		var r struct {
			CastVote struct{ Proposal struct{ Status string } }
		}
		e.mustQueryAs(t, "carol", &r, `mutation($p: ID!, $v: String!) { castVote(input: {communityId: "garden", proposalId: $p, value: $v}) { proposal { status } } }`,
			client.Var("p", id), client.Var("v", value))
	}
	var out struct {
		Community struct {
			Proposals struct {
				Edges []struct {
					Node struct {
						ID, Status string
						Tally      struct{ Yes, No, Total int }
						Votes      []struct{ UserID string }
					}
				}
				PageInfo struct{ HasNextPage bool }
			}
		}
	}
	e.statements.n.Store(0)
	e.mustQuery(t, &out, documentedQuery(t, "Dashboard"), client.Var("community", "garden"))
	statements := e.statements.n.Load()

	edges := out.Community.Proposals.Edges
	if len(edges) != 20 || !out.Community.Proposals.PageInfo.HasNextPage {
		t.Fatalf("got %d proposals (more: %v), want 20 and more", len(edges), out.Community.Proposals.PageInfo.HasNextPage)
	}
	voted := 0
	for _, ed := range edges {
		if ed.Node.Tally.Total != len(ed.Node.Votes) {
			t.Errorf("%s: tally %+v but %d votes", ed.Node.ID, ed.Node.Tally, len(ed.Node.Votes))
		}
		voted += ed.Node.Tally.Total
	}
	if voted != 6 {
		t.Errorf("%d votes on the page, want 6", voted)
	}
	// the caller (token, memberships and permissions), community, the page of proposals,
	// the votes of the page.
	if statements != 4 {
		t.Errorf("the dashboard query ran %d statements, want 4", statements)
	}
}

func TestQueriesOverGET(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	get := func(q string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"?query="+url.QueryEscape(q), nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(`{ communities { id name } }`); code != http.StatusOK || !strings.Contains(body, `{"id":"garden","name":"Garden"}`) {
		t.Errorf("GET query: %d %s", code, body)
	}
	// A mutation is never carried out over GET.
	if _, body := get(`mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"ViaGet\"}"}) { action { id } } }`); !strings.Contains(body, "errors") {
		t.Errorf("GET mutation: %s", body)
	}
	if _, body := get(`{ community(id: "garden") { roles { edges { node { name } } } } }`); strings.Contains(body, "ViaGet") {
		t.Error("a GET mutation changed the community")
	}
}
