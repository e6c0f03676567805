package policytest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the scenario parser, seeded with the repository's own
// scenarios: it never panics, and every refusal is a MalformedError.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed scenarios: %v", err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("community: {kit: nope}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("cases:\n  - name: x\n    steps: [{propose: {policy_file: ../../../etc/passwd}}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(filepath.Join(dir, "fuzz.yaml"), data)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: error not ErrMalformed: %v", data, err)
		}
	})
}
