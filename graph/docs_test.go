package graph_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

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
		if _, errs := gqlparser.LoadQuery(schema, b[1]); len(errs) > 0 {
			t.Errorf("example %d is not valid: %v\n%s", i+1, errs, b[1])
		}
	}
}
