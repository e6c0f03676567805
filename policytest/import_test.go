package policytest_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policytest"
)

// seedDir holds PolicyKit's ten example policies as downloadable policy JSON. It lives in
// the shared folder beside the repository, not in it.
const seedDir = "../../shared/seed/policy_examples"

// requireSeedDir skips the test when the shared folder is absent, except in CI, where it
// must be there.
func requireSeedDir(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(seedDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("seed policies not found at %s (CI=true): %v", seedDir, err)
		}
		t.Skipf("seed policies not found at %s: %v", seedDir, err)
	}
}

// The seed examples, imported from their JSON files with domain.ParsePolicyFile, decide
// exactly like the scenarios' inline policies, which copy the code from the documentation's
// text: every scenario case is run twice, inline and imported, and both runs must pass and
// append the same decisions (statuses, effects with their arguments, votes, data, action
// outcomes, community changes) at the same virtual times.
func TestSeedPoliciesImportAndDecideLikeTheScenarios(t *testing.T) {
	requireSeedDir(t)
	seeds, err := filepath.Glob(filepath.Join(seedDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 10 {
		t.Fatalf("found %d seed policies in %s, want the 10 examples", len(seeds), seedDir)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := domain.ParsePolicyFile(data); err != nil {
			t.Errorf("%s does not import: %v", filepath.Base(path), err)
		}
	}

	files, err := policytest.Find([]string{scenarioDir})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string][]string{} // seed file -> scenario files naming it
	for _, path := range files {
		f, err := policytest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		var named []string
		for _, p := range f.Policies {
			if p.SeedFile != "" {
				named = append(named, p.SeedFile)
				covered[p.SeedFile] = append(covered[p.SeedFile], filepath.Base(path))
			}
		}
		if len(named) == 0 {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			inline, err := f.Run(ctx, sandboxed(policytest.Options{}), nil)
			if err != nil {
				t.Fatal(err)
			}
			imported, err := f.Run(ctx, sandboxed(policytest.Options{SeedDir: seedDir}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(inline) != len(imported) || len(inline) == 0 {
				t.Fatalf("%d inline cases, %d imported", len(inline), len(imported))
			}
			for i := range inline {
				a, b := inline[i], imported[i]
				if !a.Passed {
					t.Errorf("%s (inline code) failed:\n%s", a.Name, a.Failure)
				}
				if !b.Passed {
					t.Errorf("%s (imported from %s) failed:\n%s", b.Name, strings.Join(named, ", "), b.Failure)
				}
				if d := firstDifference(a.Decisions, b.Decisions); d != "" {
					t.Errorf("%s decides differently with the policy imported from %s:\n%s", a.Name, strings.Join(named, ", "), d)
				}
			}
		})
	}
	t.Run("every seed policy has a scenario", func(t *testing.T) {
		for _, path := range seeds {
			if len(covered[filepath.Base(path)]) == 0 {
				t.Errorf("no scenario names seed_file %s", filepath.Base(path))
			}
		}
		for name, where := range covered {
			if _, err := os.Stat(filepath.Join(seedDir, name)); err != nil {
				t.Errorf("%s name seed_file %s, which is not in %s", strings.Join(where, ", "), name, seedDir)
			}
		}
	})
}

// errorLine matches the line number in a policy error. The seed JSON and the documentation's
// text lay some blocks out differently (a leading comment line, say), so the same error can
// sit on another line; everything else must be equal.
var errorLine = regexp.MustCompile(`at line \d+ of`)

func firstDifference(a, b []string) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = errorLine.ReplaceAllString(a[i], "at line N of")
		}
		if i < len(b) {
			y = errorLine.ReplaceAllString(b[i], "at line N of")
		}
		if x != y {
			return "  event " + strconv.Itoa(i+1) + ":\n    inline:   " + orMissing(x) + "\n    imported: " + orMissing(y)
		}
	}
	return ""
}

func orMissing(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
