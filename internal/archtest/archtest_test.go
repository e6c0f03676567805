package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// module is the module's path; a pattern starting with "./" is relative to it.
const module = "github.com/policykit-go/policykit"

// The policy runtime's libraries.
var policyLibraries = []string{"go.starlark.net/...", "github.com/expr-lang/expr/..."}

// TestDomainAndPolicyImports: the governance model imports only the standard library (the
// root package) and, for its evaluation loop, the policy runtime and its libraries; the
// runtime shares the domain's types and knows nothing else of ours; its Python layer knows
// nothing of policies at all.
func TestDomainAndPolicyImports(t *testing.T) {
	check(t,
		rule{
			name:     "domain imports only the standard library",
			packages: []string{"./domain"},
			only:     []string{},
		},
		rule{
			name:     "domain's packages import only the standard library, the domain and the policy runtime with its libraries",
			packages: []string{"./domain/..."},
			only:     append([]string{"./domain/...", "./policy/..."}, policyLibraries...),
		},
		rule{
			name:     "the policy runtime imports only the standard library, its libraries and the domain's types",
			packages: []string{"./policy/..."},
			only:     append([]string{"./domain", "./policy/..."}, policyLibraries...),
		},
		rule{
			name:     "the Python layer imports only the standard library and Starlark",
			packages: []string{"./policy/python/..."},
			only:     []string{"go.starlark.net/..."},
		},
		rule{
			name:     "neither the domain nor the policy runtime reaches storage, the bus or the network",
			packages: []string{"./domain/...", "./policy/..."},
			never:    []string{"./eventstore/...", "./bus/...", "./engine/...", "./projections/...", "./graph/...", "./adapters/...", "net/http", "github.com/jackc/pgx/..."},
		},
	)
}

// A rule constrains the imports of the module's packages matching packages (patterns: a
// path, or a path ending in "/..." for it and every package under it; "./" stands for the
// module). Every rule must match at least one package, so that a rule for a moved package
// fails rather than passes unnoticed.
type rule struct {
	name     string
	packages []string
	// only, when not nil, lists what the packages may import directly besides the standard
	// library (an empty, non-nil list: the standard library alone).
	only []string
	// never lists what none of the packages may depend on, directly or through others.
	never []string
}

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// check fails t for every import of the module's packages that breaks one of rules.
func check(t *testing.T, rules ...rule) {
	t.Helper()
	pkgs, err := loadPackages()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		for _, v := range violations(r, pkgs) {
			t.Errorf("%s: %s", r.name, v)
		}
	}
}

// violations lists how pkgs break r, one line each.
func violations(r rule, pkgs map[string]pkg) []string {
	var out []string
	matched := 0
	for _, path := range sortedKeys(pkgs) {
		p := pkgs[path]
		if p.Standard || !matchAny(r.packages, path) {
			continue
		}
		matched++
		if r.only != nil {
			for _, imp := range p.Imports {
				if !pkgs[imp].Standard && !matchAny(r.only, imp) {
					out = append(out, fmt.Sprintf("%s imports %s", path, imp))
				}
			}
		}
		for _, dep := range p.Deps {
			if matchAny(r.never, dep) {
				out = append(out, fmt.Sprintf("%s depends on %s", path, dep))
			}
		}
	}
	if matched == 0 {
		out = append(out, fmt.Sprintf("no package matches %v", r.packages))
	}
	return out
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// match reports whether path matches pattern: "x" matches x, "x/..." matches x and every
// path under it, and a leading "./" stands for the module.
func match(pattern, path string) bool {
	if rest, ok := strings.CutPrefix(pattern, "./"); ok {
		pattern = module + "/" + rest
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func sortedKeys(m map[string]pkg) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// loadPackages lists the module's packages and everything they depend on, standard library
// included, once per test binary.
var loadPackages = sync.OnceValues(func() (map[string]pkg, error) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs, nil
})

// The rules catch what they forbid: a domain importing the engine, a runtime importing the
// evaluation loop, a Python layer importing the domain, a dependency through another
// package, and a rule that matches nothing.
func TestRulesCatchViolations(t *testing.T) {
	pkgs := map[string]pkg{
		"fmt":                         {ImportPath: "fmt", Standard: true},
		"go.starlark.net/syntax":      {ImportPath: "go.starlark.net/syntax"},
		module + "/domain":            {ImportPath: module + "/domain", Imports: []string{"fmt", module + "/engine"}, Deps: []string{"fmt", module + "/engine", module + "/eventstore"}},
		module + "/engine":            {ImportPath: module + "/engine", Imports: []string{module + "/eventstore"}, Deps: []string{module + "/eventstore"}},
		module + "/eventstore":        {ImportPath: module + "/eventstore"},
		module + "/policy":            {ImportPath: module + "/policy", Imports: []string{"fmt", module + "/domain", module + "/domain/evaluation"}},
		module + "/policy/python":     {ImportPath: module + "/policy/python", Imports: []string{"go.starlark.net/syntax", module + "/domain"}},
		module + "/domain/evaluation": {ImportPath: module + "/domain/evaluation", Imports: []string{module + "/policy", "go.starlark.net/syntax"}},
	}
	for _, tc := range []struct {
		r    rule
		want []string
	}{
		{rule{packages: []string{"./domain"}, only: []string{}}, []string{module + "/domain imports " + module + "/engine"}},
		{rule{packages: []string{"./policy/..."}, only: []string{"./domain", "./policy/..."}}, []string{
			module + "/policy imports " + module + "/domain/evaluation",
			module + "/policy/python imports go.starlark.net/syntax",
		}},
		{rule{packages: []string{"./policy/python/..."}, only: []string{"go.starlark.net/..."}}, []string{module + "/policy/python imports " + module + "/domain"}},
		{rule{packages: []string{"./domain/..."}, only: []string{"./domain/...", "./policy/...", "go.starlark.net/..."}}, []string{module + "/domain imports " + module + "/engine"}},
		{rule{packages: []string{"./domain"}, never: []string{"./eventstore/..."}}, []string{module + "/domain depends on " + module + "/eventstore"}},
		{rule{packages: []string{"./web/..."}, only: []string{}}, []string{"no package matches [./web/...]"}},
	} {
		if got := violations(tc.r, pkgs); !slices.Equal(got, tc.want) {
			t.Errorf("%+v:\n got %q\nwant %q", tc.r, got, tc.want)
		}
	}
}
