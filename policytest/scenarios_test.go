package policytest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/policytest"
)

const scenarioDir = "../testdata/scenarios"

// Every scenario under testdata/scenarios passes: one subtest per file, one per case.
// `policykit policy test testdata/scenarios` runs the same.
func TestScenarios(t *testing.T) {
	paths, err := policytest.Find([]string{scenarioDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("found %d scenario files, want one per example policy (10)", len(paths))
	}
	for _, path := range paths {
		f, err := policytest.Load(path)
		if err != nil {
			t.Fatalf("%v", err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			results, err := f.Run(context.Background(), sandboxed(policytest.Options{}), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				t.Run(strings.TrimPrefix(r.Name, f.Name+"/"), func(t *testing.T) {
					if !r.Passed {
						t.Fatalf("\n%s", r.Failure)
					}
					t.Logf("%s: %d events, %d re-checks in %s", r.Name, r.Events, r.Checks, r.Elapsed)
				})
			}
		})
	}
}
