package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// documentedQuery is the text of the example in docs/graphql.md that defines the operation
// "query <name>", so that tests and benchmarks run the very query the documentation shows.
func documentedQuery(tb testing.TB, name string) string {
	tb.Helper()
	doc, err := os.ReadFile("../docs/graphql.md")
	if err != nil {
		tb.Fatal(err)
	}
	for _, b := range regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if regexp.MustCompile(`(?m)^query ` + regexp.QuoteMeta(name) + `\b`).MatchString(b[1]) {
			return b[1]
		}
	}
	tb.Fatalf("docs/graphql.md has no query %s", name)
	return ""
}

// Every GraphQL example in docs/graphql.md is valid against the schema, so the documentation
// cannot drift from the API unnoticed.
func TestDocumentedQueriesAreValid(t *testing.T) {
	schemaText, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(schemaText)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	doc, err := os.ReadFile("../docs/graphql.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d GraphQL examples in docs/graphql.md", len(blocks))
	}
	for i, b := range blocks {
		if _, errs := gqlparser.LoadQueryWithRules(schema, b[1], nil); len(errs) > 0 {
			t.Errorf("example %d is not valid: %v\n%s", i+1, errs, b[1])
		}
	}
}

// Every documented query (the mutations and subscriptions aside) runs within the depth and
// complexity limits: the examples ask for pages small enough for the API to take them.
func TestDocumentedQueriesFitTheLimits(t *testing.T) {
	e := newEnv(t, nil)
	schemaText, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema := gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(schemaText)})
	doc, err := os.ReadFile("../docs/graphql.md")
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	for _, b := range regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		parsed, errs := gqlparser.LoadQueryWithRules(schema, b[1], nil)
		if len(errs) > 0 {
			t.Fatalf("not valid: %v\n%s", errs, b[1])
		}
		for _, op := range parsed.Operations {
			if op.Operation != ast.Query {
				continue
			}
			queries++
			vars := map[string]any{}
			for _, v := range op.VariableDefinitions {
				vars[v.Variable] = "garden"
			}
			body, _ := json.Marshal(map[string]any{"query": b[1], "operationName": op.Name, "variables": vars})
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			var out struct{ Errors []gqlError }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s: %v", op.Name, err)
			}
			for _, ge := range out.Errors {
				if code := ge.Extensions["code"]; code == "COMPLEXITY_LIMIT_EXCEEDED" || code == "GRAPHQL_VALIDATION_FAILED" || strings.Contains(ge.Message, "nested") {
					t.Errorf("query %s is refused: %s", op.Name, ge.Message)
				}
			}
		}
	}
	if queries < 8 {
		t.Fatalf("found %d documented queries", queries)
	}
}
