package policytest_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/policytest"
	"github.com/policykit-go/policykit/sandbox"
)

// sandboxOptions are the server's default sandbox settings (policykit serve): the scenarios
// run behind the same limits.
var sandboxOptions = policysandbox.Options{
	Workers: 2, MemoryLimit: 256 << 20, Deadline: time.Second,
	Args: []string{"-test.run=^$"},
}

// evaluator is the policy sandbox every test's scenarios run in, as `policykit policy test`
// runs them.
var evaluator *policysandbox.Evaluator

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		policysandbox.ServeWorker()
	}
	var err error
	evaluator, err = policysandbox.New(context.Background(), sandboxOptions, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	evaluator.Close()
	os.Exit(code)
}

// sandboxed is opts evaluating in the tests' policy sandbox.
func sandboxed(opts policytest.Options) policytest.Options {
	opts.Evaluator = evaluator
	return opts
}
