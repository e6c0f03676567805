// Package adapters_test checks the rules that keep adapters apart from the engine: they meet
// it on the bus only.
package adapters_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/policykit-go/policykit"

// No adapter imports the engine, the GraphQL layer or the projections, directly or through
// another package, in its code or its tests.
func TestAdaptersDoNotImportTheEngineSide(t *testing.T) {
	forbidden := []string{module + "/engine", module + "/graph", module + "/projections"}
	out, err := exec.Command("go", "list", "-test", "-deps", "-f", `{{.ImportPath}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	checked := 0
	for sc.Scan() {
		dep := strings.TrimSpace(sc.Text())
		checked++
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("an adapter depends on %s: adapters meet the engine on the bus only (find who: go list -deps -test -f '{{.ImportPath}} {{.Imports}}' ./adapters/...)", dep)
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list listed nothing")
	}
}

// No adapter's SQL names a table of the engine's side (the event store, the engine's, the
// read models, the accounts): the tables every migration outside adapters/ creates.
func TestAdaptersDoNotQueryTheEngineTables(t *testing.T) {
	tables := engineTables(t)
	if len(tables) < 5 {
		t.Fatalf("found only the engine-side tables %q: the migrations moved?", tables)
	}
	use := regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)`)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !(strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go")) && !strings.HasSuffix(path, ".sql") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		code := string(src)
		if strings.HasSuffix(path, ".sql") {
			code = sqlComment.ReplaceAllString(code, "")
		} else {
			code = goComment.ReplaceAllString(code, "")
		}
		for _, m := range use.FindAllStringSubmatch(code, -1) {
			if slices.Contains(tables, strings.ToLower(m[1])) {
				t.Errorf("%s uses the engine-side table %s (%q): learn it from the events on the bus (platform.Directory)", path, m[1], m[0])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Comments are prose ("turn button clicks into votes"), not queries.
var (
	sqlComment = regexp.MustCompile(`--.*`)
	goComment  = regexp.MustCompile(`(?m)^\s*//.*$|\s//\s.*$`)
)

// engineTables lists the tables created by the migrations outside adapters/.
func engineTables(t *testing.T) []string {
	t.Helper()
	create := regexp.MustCompile(`(?i)CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)`)
	var tables []string
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "adapters" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range create.FindAllStringSubmatch(string(src), -1) {
			tables = append(tables, strings.ToLower(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tables
}
