package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

// WaitTimeout bounds every wait of the suite for something a store must eventually do. It
// is a deadlock guard, not a performance requirement.
const WaitTimeout = 60 * time.Second

// NewEvent returns an event of type typ with a fresh id and a small JSON body.
func NewEvent(typ string) eventstore.EventData {
	id := uuid.New()
	return eventstore.EventData{
		ID:            id,
		Type:          typ,
		SchemaVersion: 1,
		Data:          json.RawMessage(fmt.Sprintf(`{"type":%q,"id":%q}`, typ, id)),
	}
}

// NewEvents returns n events from NewEvent.
func NewEvents(n int, typ string) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = NewEvent(typ)
	}
	return out
}

// ReadAllEventually pages through ReadAll from after with pages of pageSize until it has
// want events, and returns them. A store may hold events back for a while (Postgres does
// while older transactions are open), so an empty page means "wait and read again", until
// WaitTimeout. It fails the test on a read error, on more than want events, or on a
// position that does not increase.
func ReadAllEventually(tb testing.TB, s eventstore.Store, after eventstore.Position, pageSize, want int) []eventstore.RecordedEvent {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	var out []eventstore.RecordedEvent
	pos := after
	for len(out) < want {
		page, err := s.ReadAll(ctx, pos, pageSize)
		if err != nil {
			tb.Fatalf("ReadAll after %s: %v (have %d of %d events)", pos, err, len(out), want)
		}
		if len(page) > pageSize {
			tb.Fatalf("ReadAll after %s limit %d returned %d events", pos, pageSize, len(page))
		}
		for _, e := range page {
			if !pos.Less(e.Position) {
				tb.Fatalf("ReadAll after %s returned event at %s, not after it", pos, e.Position)
			}
			pos = e.Position
		}
		out = append(out, page...)
		if len(page) == 0 {
			select {
			case <-ctx.Done():
				tb.Fatalf("ReadAll: have %d of %d events after %v", len(out), want, WaitTimeout)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if len(out) > want {
		tb.Fatalf("ReadAll returned %d events, want %d", len(out), want)
	}
	return out
}

// Collector runs Subscribe in the background and records every batch it delivers. It
// checks, as batches arrive, that positions strictly increase from the start position and
// that no event id is delivered twice, and reports violations with tb.Errorf.
type Collector struct {
	tb     testing.TB
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Subscribe's result, set before done is closed

	mu      sync.Mutex
	events  []eventstore.RecordedEvent
	seen    map[uuid.UUID]bool
	last    eventstore.Position
	changed chan struct{} // closed and replaced on every batch
}

// StartCollector subscribes to s from after. handle, when not nil, runs after each batch is
// recorded and its error is returned to Subscribe. The subscription ends at Stop or when the
// test ends.
func StartCollector(tb testing.TB, s eventstore.Store, after eventstore.Position, handle func([]eventstore.RecordedEvent) error) *Collector {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Collector{
		tb:      tb,
		cancel:  cancel,
		done:    make(chan struct{}),
		seen:    make(map[uuid.UUID]bool),
		last:    after,
		changed: make(chan struct{}),
	}
	go func() {
		defer close(c.done)
		c.err = s.Subscribe(ctx, after, func(ctx context.Context, batch []eventstore.RecordedEvent) error {
			c.record(batch)
			if handle != nil {
				return handle(batch)
			}
			return nil
		})
	}()
	tb.Cleanup(func() { c.Stop() })
	return c
}

func (c *Collector) record(batch []eventstore.RecordedEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(batch) == 0 {
		c.tb.Errorf("Subscribe delivered an empty batch")
	}
	for _, e := range batch {
		if !c.last.Less(e.Position) {
			c.tb.Errorf("Subscribe delivered event %s at %s after %s: out of order", e.ID, e.Position, c.last)
		}
		c.last = e.Position
		if c.seen[e.ID] {
			c.tb.Errorf("Subscribe delivered event %s twice", e.ID)
		}
		c.seen[e.ID] = true
	}
	c.events = append(c.events, batch...)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Events returns a copy of what was delivered so far.
func (c *Collector) Events() []eventstore.RecordedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]eventstore.RecordedEvent(nil), c.events...)
}

// WaitFor waits until at least n events were delivered and returns all delivered so far. It
// fails the test when Subscribe returns first or after WaitTimeout.
func (c *Collector) WaitFor(n int) []eventstore.RecordedEvent {
	c.tb.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, changed := len(c.events), c.changed
		c.mu.Unlock()
		if got >= n {
			return c.Events()
		}
		select {
		case <-changed:
		case <-c.done:
			c.tb.Fatalf("Subscribe returned %v after delivering %d of %d events", c.err, got, n)
		case <-deadline.C:
			c.tb.Fatalf("Subscribe delivered %d of %d events within %v", got, n, WaitTimeout)
		}
	}
}

// Done is closed when Subscribe has returned.
func (c *Collector) Done() <-chan struct{} { return c.done }

// Err waits for Subscribe to return by itself (WaitTimeout at most) and returns its error.
func (c *Collector) Err() error {
	c.tb.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(WaitTimeout):
		c.tb.Fatalf("Subscribe did not return within %v", WaitTimeout)
		return nil
	}
}

// Stop cancels the subscription, waits for Subscribe to return and returns its error.
func (c *Collector) Stop() error {
	c.cancel()
	<-c.done
	return c.err
}
