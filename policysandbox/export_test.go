package policysandbox

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
)

// EncodeRequests returns the two evaluation requests the Evaluator would send for in: with
// its code, and by code hash.
func EncodeRequests(tb testing.TB, in policy.Input) (withCode, byHash []byte) {
	tb.Helper()
	if in.CodeHash == "" {
		in.CodeHash = policy.Hash(in.Code)
	}
	code, err := json.Marshal(in.Code)
	if err != nil {
		tb.Fatal(err)
	}
	in.Code = domain.PolicyCode{}
	byHash, err = newWire(reflect.TypeFor[policy.Input]()).encode([]byte{kindByHash}, in)
	if err != nil {
		tb.Fatal(err)
	}
	withCode = append([]byte{kindWithCode}, binary.BigEndian.AppendUint32(nil, uint32(len(code)))...)
	withCode = append(append(withCode, code...), byHash[1:]...)
	return withCode, byHash
}

// Counters of an Evaluator: blocks sent with their code, "unknown code" answers, blocks
// sent again alone after their worker was lost.
func Counters(e *Evaluator) (codeSent, unknownCode, sentAlone uint64) {
	return e.codeSent.Load(), e.unknownCode.Load(), e.sentAlone.Load()
}

// RoundTrip encodes and decodes v (a pointer) through the binary encoding of its type.
func RoundTrip(v any) (any, []byte, error) {
	w := newWire(reflect.TypeOf(v).Elem())
	b, err := w.encode(nil, reflect.ValueOf(v).Elem().Interface())
	if err != nil {
		return nil, b, err
	}
	out := reflect.New(reflect.TypeOf(v).Elem())
	err = w.decode(b, out.Interface(), newInterner())
	return out.Interface(), b, err
}

// Decode decodes b as a value of v's type into v (a pointer).
func Decode(b []byte, v any) error {
	return newWire(reflect.TypeOf(v).Elem()).decode(b, v, nil)
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
