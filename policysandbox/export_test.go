package policysandbox

import (
	"errors"
	"fmt"
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

// RoundTrip encodes and decodes v (a pointer) through the binary encoding of its type, and
// checks that every way of decoding it agrees (see Decode).
func RoundTrip(v any) (any, []byte, error) {
	c := newCodec(reflect.TypeOf(v).Elem())
	b, err := c.enc(nil, reflect.ValueOf(v).UnsafePointer(), 0)
	if err != nil {
		return nil, b, err
	}
	out := reflect.New(reflect.TypeOf(v).Elem())
	if err = c.decode(b, out.UnsafePointer(), newInterner()); err != nil {
		return out.Interface(), b, err
	}
	return out.Interface(), b, Decode(b, reflect.New(reflect.TypeOf(v).Elem()).Interface())
}

// Decode decodes b as a value of v's type into v (a pointer), as the parent does, and
// again into a fresh value as a worker does (strings cut from one copy of b); it returns
// the first error, or an error if the two values differ.
func Decode(b []byte, v any) error {
	c := newCodec(reflect.TypeOf(v).Elem())
	err := c.decode(b, reflect.ValueOf(v).UnsafePointer(), nil)
	w := reflect.New(reflect.TypeOf(v).Elem())
	err2 := c.decodeWith(&wireDecoder{b: b, src: string(b)}, w.UnsafePointer())
	switch {
	case err != nil:
		return err
	case err2 != nil:
		return fmt.Errorf("decoded as a copy: %w", err2)
	case !reflect.DeepEqual(v, w.Interface()):
		return errors.New("the two decodings differ")
	}
	return nil
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

// CopyOf returns the copy the parent keeps of a block's policy and community, made by the
// encoding of *v's type (see codec.clone), or false if it cannot copy such a value.
func CopyOf(v any) (any, bool) {
	c := newCodec(reflect.TypeOf(v).Elem())
	out := reflect.New(reflect.TypeOf(v).Elem())
	ok := c.copyOf(out.UnsafePointer(), reflect.ValueOf(v).UnsafePointer())
	return out.Interface(), ok
}
