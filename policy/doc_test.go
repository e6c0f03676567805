package policy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The package documentation names every platform method policies can call, and
// action.respond, with its parameters.
func TestDocNamesEveryMethod(t *testing.T) {
	raw, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := regexp.MustCompile(`\s+`).ReplaceAllString(strings.ReplaceAll(string(raw), "//", " "), " ")
	var names []string
	for _, ms := range MethodKinds() {
		names = append(names, ms...)
	}
	names = append(names, "action.respond(text)")
	for _, n := range names {
		if !strings.Contains(doc, n) {
			t.Errorf("doc.go does not mention %s", n)
		}
	}
}
