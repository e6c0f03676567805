package memory_test

import (
	"testing"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/eventstore/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return memory.New() })
}

// eventstore.All reads the whole log across pages, in order, and stops when asked.
func TestAllPagesThroughTheLog(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	for i := range 3 {
		if _, err := s.Append(ctx, "s", eventstore.Any(), storetest.NewEvents(1000, "E")); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	var n int
	var last eventstore.Position
	for ev, err := range eventstore.All(ctx, s, eventstore.Start) {
		if err != nil {
			t.Fatal(err)
		}
		if !last.Less(ev.Position) {
			t.Fatalf("event %d at %s does not follow %s", n, ev.Position, last)
		}
		last = ev.Position
		n++
	}
	if n != 3000 {
		t.Fatalf("All yielded %d events, want 3000", n)
	}
	n = 0
	for range eventstore.All(ctx, s, eventstore.Start) {
		if n++; n == 10 {
			break
		}
	}
	if n != 10 {
		t.Fatalf("stopped after %d events, want 10", n)
	}
}
