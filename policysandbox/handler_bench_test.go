package policysandbox_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/policykit-go/policykit/domain"
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
	for i, in := range ins {
		code, _ := json.Marshal(in.Code)
		in.Code = domain.PolicyCode{}
		body, _ := json.Marshal(in)
		first := append([]byte{'e'}, binary.BigEndian.AppendUint32(nil, uint32(len(code)))...)
		first = append(append(first, code...), body...)
		if resp := h(ctx, first); resp[0] != 'o' {
			b.Fatalf("%q", resp)
		}
		reqs[i] = append([]byte{'h'}, body...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if resp := h(ctx, reqs[i%len(reqs)]); resp[0] != 'o' {
			b.Fatalf("%q", resp)
		}
	}
}
