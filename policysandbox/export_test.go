package policysandbox

import (
	"hash/maphash"
	"reflect"
	"testing"

	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/sandbox"
)

// EncodeRequests returns the two evaluation requests the Evaluator would send for in: with
// its code and statics, and by code hash and statics key.
func EncodeRequests(tb testing.TB, e *Evaluator, in policy.Input) (withCode, byHash []byte) {
	tb.Helper()
	p, out := e.prepare(&in)
	if out.Err != nil {
		tb.Fatal(out.Err)
	}
	reqs, _ := e.requests(sandbox.WorkerID(1<<62), []*pending{p})
	reqs2, _ := e.requests(sandbox.WorkerID(1<<62), []*pending{p})
	return reqs[0].Body, reqs2[0].Body
}

// Counters of an Evaluator: blocks sent with their code, "unknown code" answers, blocks
// sent again alone after their worker was lost.
func Counters(e *Evaluator) (codeSent, unknownCode, sentAlone uint64) {
	return e.codeSent.Load(), e.unknownCode.Load(), e.sentAlone.Load()
}

// StaticsSent counts the blocks sent with their policy and community.
func StaticsSent(e *Evaluator) uint64 { return e.staticsSent.Load() }

// RoundTrip encodes and decodes v (a pointer) through the binary encoding of its type.
func RoundTrip(v any) (any, []byte, error) {
	c := newCodec(reflect.TypeOf(v).Elem())
	b, err := c.enc(nil, reflect.ValueOf(v).UnsafePointer(), 0)
	if err != nil {
		return nil, b, err
	}
	out := reflect.New(reflect.TypeOf(v).Elem())
	err = c.decode(b, out.UnsafePointer(), newInterner())
	return out.Interface(), b, err
}

// Decode decodes b as a value of v's type into v (a pointer).
func Decode(b []byte, v any) error {
	return newCodec(reflect.TypeOf(v).Elem()).decode(b, reflect.ValueOf(v).UnsafePointer(), nil)
}

// Queued returns the number of blocks waiting for a worker.
func Queued(e *Evaluator) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue) + len(e.front) + len(e.alone)
}

// Hold makes e's dispatching wait (blocks queue up) until release is called.
func Hold(e *Evaluator) (release func()) {
	ch := make(chan struct{})
	e.mu.Lock()
	e.hold = ch
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		e.hold = nil
		e.mu.Unlock()
		close(ch)
	}
}

// NewEncoder returns an Evaluator without workers, for encoding requests.
func NewEncoder() *Evaluator {
	return &Evaluator{
		workers: 1, codeBytes: DefaultCodeCacheBytes, known: make(map[sandbox.WorkerID]map[string]struct{}),
		shared:  staticsCache{limit: DefaultCodeCacheBytes},
		inputs:  newWire[policy.Input](),
		outputs: newWire[policy.Output](),
		statics: newWire[statics](),
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
	}
}

// SameEncoding reports whether the encoding of *a's type finds *a and *b the same without
// encoding them (same), and whether their encodings are equal (equal).
func SameEncoding(a, b any) (same, equal bool, err error) {
	c := newCodec(reflect.TypeOf(a).Elem())
	pa, pb := reflect.ValueOf(a).UnsafePointer(), reflect.ValueOf(b).UnsafePointer()
	ea, err := c.enc(nil, pa, 0)
	if err != nil {
		return false, false, err
	}
	eb, err := c.enc(nil, pb, 0)
	if err != nil {
		return false, false, err
	}
	return c.same(pa, pb), string(ea) == string(eb), nil
}
