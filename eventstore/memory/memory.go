// Package memory is an in-memory eventstore.Store for tests and single-process tools.
//
// It keeps the full contract of the port (optimistic concurrency, idempotency by event id,
// input validation, catch-up and live subscriptions) but nothing survives the process. All
// operations are serialized by one mutex, so the global order is simply append order:
// positions are Position{Commit: 0, Seq: n} with n = 1, 2, 3, ... and every event is readable
// by ReadAll as soon as Append returns.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

// subscribeBatch is the largest batch Subscribe hands to its handler.
const subscribeBatch = 500

var _ eventstore.Store = (*Store)(nil)

// Store is an in-memory event store. The zero value is not usable; call New.
// It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	log     []eventstore.RecordedEvent // the global log; log[i].Position.Seq == i+1
	streams map[string][]int           // stream -> indexes into log, in version order
	ids     map[uuid.UUID]int          // event id -> index into log
	changed chan struct{}              // closed (and replaced) by every append that writes
}

// New returns an empty store.
func New() *Store {
	return &Store{
		streams: make(map[string][]int),
		ids:     make(map[uuid.UUID]int),
		changed: make(chan struct{}),
	}
}

// Append adds events to the end of stream atomically; see eventstore.Store.
//
// Errors wrap eventstore.ErrInvalid (see eventstore.PrepareAppend), eventstore.ErrConcurrency
// (the stream does not match expected) or eventstore.ErrIdempotency (the batch's ids were
// partly appended before, or appended to another stream or at other versions). When every id
// of the batch is already in the stream, in the same order at consecutive versions, Append
// writes nothing and returns the original result (the version of the batch's last event) with
// Duplicate set, whatever expected is.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	evs, err := eventstore.PrepareAppend(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	current, dup, err := s.checkLocked(stream, expected, evs)
	if err != nil || dup != nil {
		return deref(dup), err
	}
	s.writeLocked(stream, current, evs)
	s.wake()
	return eventstore.AppendResult{NextExpectedVersion: current + int64(len(evs))}, nil
}

// AppendMulti appends to several streams atomically; see eventstore.Store.
func (s *Store) AppendMulti(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	parts, err := eventstore.PrepareAppendMulti(appends)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]eventstore.AppendResult, len(parts))
	currents := make([]int64, len(parts))
	for i, a := range parts {
		current, dup, err := s.checkLocked(a.Stream, a.Expected, a.Events)
		if err != nil {
			return nil, err
		}
		if dup != nil {
			results[i], currents[i] = *dup, -1
			continue
		}
		currents[i] = current
		results[i] = eventstore.AppendResult{NextExpectedVersion: current + int64(len(a.Events))}
	}
	for i, a := range parts {
		if currents[i] >= 0 {
			s.writeLocked(a.Stream, currents[i], a.Events)
		}
	}
	s.wake()
	return results, nil
}

// KeepsPartOrder tells that AppendMulti writes its parts to the log in the order given (see
// eventstore.OrderedAppender).
func (s *Store) KeepsPartOrder() bool { return true }

func deref(r *eventstore.AppendResult) eventstore.AppendResult {
	if r == nil {
		return eventstore.AppendResult{}
	}
	return *r
}

// checkLocked checks an append to stream: it returns the stream's version, or the original
// result when the batch is a duplicate, or the error. s.mu must be held.
func (s *Store) checkLocked(stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData) (int64, *eventstore.AppendResult, error) {
	current := int64(len(s.streams[stream]))
	if first, ok := s.ids[evs[0].ID]; ok {
		if v, ok := s.duplicateOf(stream, first, evs); ok {
			return 0, &eventstore.AppendResult{NextExpectedVersion: v, Duplicate: true}, nil
		}
		return 0, nil, fmt.Errorf("append %s: %w: event %s was appended before with other events", stream, eventstore.ErrIdempotency, evs[0].ID)
	}
	if !expected.Check(current) {
		return 0, nil, fmt.Errorf("append %s: %w: stream is at version %d, expected %s", stream, eventstore.ErrConcurrency, current, expected)
	}
	for _, e := range evs[1:] {
		if _, ok := s.ids[e.ID]; ok {
			return 0, nil, fmt.Errorf("append %s: %w: event %s was appended before", stream, eventstore.ErrIdempotency, e.ID)
		}
	}
	return current, nil, nil
}

// writeLocked appends checked events after version current. s.mu must be held.
func (s *Store) writeLocked(stream string, current int64, evs []eventstore.EventData) {
	idx := s.streams[stream]
	now := time.Now().Truncate(time.Microsecond) // the resolution Postgres keeps
	for i, e := range evs {
		n := len(s.log)
		s.log = append(s.log, eventstore.RecordedEvent{
			ID:             e.ID,
			Stream:         stream,
			Version:        current + int64(i) + 1,
			GlobalPosition: int64(n + 1),
			Position:       eventstore.Position{Seq: int64(n + 1)},
			Type:           e.Type,
			SchemaVersion:  e.SchemaVersion,
			Data:           bytes.Clone(e.Data),
			RecordedAt:     now,
			CausationID:    e.CausationID,
			CorrelationID:  e.CorrelationID,
		})
		idx = append(idx, n)
		s.ids[e.ID] = n
	}
	s.streams[stream] = idx
}

// wake tells subscribers that the log grew. s.mu must be held.
func (s *Store) wake() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// duplicateOf reports whether evs were appended to stream before as one run of consecutive
// versions starting with the event at log index first, and if so the version of the last.
// s.mu must be held.
func (s *Store) duplicateOf(stream string, first int, evs []eventstore.EventData) (int64, bool) {
	start := s.log[first]
	if start.Stream != stream {
		return 0, false
	}
	idx := s.streams[stream]
	for i, e := range evs {
		v := start.Version + int64(i) // 1-based
		if v > int64(len(idx)) || s.log[idx[v-1]].ID != e.ID {
			return 0, false
		}
	}
	return start.Version + int64(len(evs)) - 1, true
}

// ReadStream returns up to limit events of stream from version from (inclusive); see
// eventstore.Store. limit must be positive, otherwise the error wraps eventstore.ErrInvalid.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("read stream %s: %w: limit %d is not positive", stream, eventstore.ErrInvalid, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.streams[stream]
	out := []eventstore.RecordedEvent{}
	switch dir {
	case eventstore.Forward:
		if from < 1 {
			from = 1
		}
		for v := from; v <= int64(len(idx)) && len(out) < limit; v++ {
			out = append(out, s.copyOf(idx[v-1]))
		}
	case eventstore.Backward:
		if from <= 0 || from > int64(len(idx)) {
			from = int64(len(idx))
		}
		for v := from; v >= 1 && len(out) < limit; v-- {
			out = append(out, s.copyOf(idx[v-1]))
		}
	default:
		return nil, fmt.Errorf("read stream %s: %w: unknown direction %d", stream, eventstore.ErrInvalid, dir)
	}
	return out, nil
}

// ReadAll returns up to limit events strictly after position after, in append order; see
// eventstore.Store. limit must be positive, otherwise the error wraps eventstore.ErrInvalid.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("read all: %w: limit %d is not positive", eventstore.ErrInvalid, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readAfter(after, limit), nil
}

// readAfter returns copies of up to limit events after position after. s.mu must be held.
func (s *Store) readAfter(after eventstore.Position, limit int) []eventstore.RecordedEvent {
	i := sort.Search(len(s.log), func(i int) bool { return after.Less(s.log[i].Position) })
	out := []eventstore.RecordedEvent{}
	for ; i < len(s.log) && len(out) < limit; i++ {
		out = append(out, s.copyOf(i))
	}
	return out
}

// copyOf returns the event at log index i with its own copy of Data. s.mu must be held.
func (s *Store) copyOf(i int) eventstore.RecordedEvent {
	e := s.log[i]
	e.Data = bytes.Clone(e.Data)
	return e
}

// Subscribe delivers every event after position after to handle, in ReadAll order, in batches
// of at most 500 events: first the stored ones, then each new append as it happens. It
// returns ctx.Err() when ctx ends and handle's error, unwrapped, when handle fails; the
// batch handle failed on counts as not delivered. handle runs on the calling goroutine, one
// batch at a time.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	pos := after
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		batch := s.readAfter(pos, subscribeBatch)
		changed := s.changed
		s.mu.Unlock()

		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return err
			}
			pos = batch[len(batch)-1].Position
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
