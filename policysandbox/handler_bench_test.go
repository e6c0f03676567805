package policysandbox_test

import (
	"context"
	"testing"

	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policysandbox"
)

// BenchmarkWorkerHandler: a worker's share of one block, in process: decoding the input,
// evaluating through the runtime's cache and encoding the output.
//
//	go test -run='^$' -bench=BenchmarkWorkerHandler ./policysandbox/
func BenchmarkWorkerHandler(b *testing.B) {
	ins, _ := seedCheckInputs(b)
	rt, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := policysandbox.Handler(rt)
	ctx := context.Background()
	reqs := make([][]byte, len(ins))
	enc := policysandbox.NewEncoder()
	for i, in := range ins {
		withCode, byHash := policysandbox.EncodeRequests(b, enc, in)
		if resp := h(ctx, withCode); resp[0] != 'o' {
			b.Fatalf("%q", resp)
		}
		reqs[i] = byHash
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if resp := h(ctx, reqs[i%len(reqs)]); resp[0] != 'o' {
			b.Fatalf("%q", resp)
		}
	}
}
