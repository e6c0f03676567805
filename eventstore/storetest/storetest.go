// Package storetest is the contract test suite of eventstore.Store. Every backend runs it:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return memory.New() })
//	}
//
// newStore is called once per subtest and must return an empty store that lives until the
// subtest ends (use t.Cleanup). The suite never asserts timing: it waits for what a store must
// eventually do for at most WaitTimeout.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

// Options narrow the suite for a backend whose documented guarantees are narrower. The zero
// value runs every check.
type Options struct {
	// StreamScopedIDs: event ids are idempotency keys within their stream only, so reusing
	// an id on another stream is not refused (KurrentDB, which cannot look events up by id).
	// The suite then skips those cases; within a stream every check still runs.
	StreamScopedIDs bool
}

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	RunWith(t, Options{}, newStore)
}

// RunWith runs the contract suite with opts.
func RunWith(t *testing.T, opts Options, newStore func(t *testing.T) eventstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s eventstore.Store)
	}{
		{"AppendToNewStream", testAppendToNewStream},
		{"AppendToExistingStream", testAppendToExistingStream},
		{"ExpectedVersionMismatch", testExpectedVersionMismatch},
		{"IdempotentRetry", testIdempotentRetry},
		{"PartialIDOverlap", func(t *testing.T, s eventstore.Store) { testPartialIDOverlap(t, s, opts) }},
		{"NilIDGetsFreshID", testNilIDGetsFreshID},
		{"ReadStream", testReadStream},
		{"ReadAllPaging", testReadAllPaging},
		{"MetadataRoundTrip", testMetadataRoundTrip},
		{"ConcurrentWritersDistinctStreams", testConcurrentWriters},
		{"VersionRace", testVersionRace},
		{"NoStreamRace", testNoStreamRace},
		{"ConcurrentRetries", testConcurrentRetries},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeFromMiddle", testSubscribeFromMiddle},
		{"SubscribeHandlerError", testSubscribeHandlerError},
		{"InvalidInput", testInvalidInput},
		{"AppendMultiAtomic", testAppendMultiAtomic},
		{"AppendMultiRace", testAppendMultiRace},
		{"AppendMultiKeepsPartOrder", testAppendMultiKeepsPartOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(testCtx(t), stream, expected, events)
	if err != nil {
		t.Fatalf("Append(%s, %s, %d events): %v", stream, expected, len(events), err)
	}
	return res
}

func readStream(t *testing.T, s eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	got, err := s.ReadStream(testCtx(t), stream, eventstore.Forward, 1, 1<<20)
	if err != nil {
		t.Fatalf("ReadStream(%s): %v", stream, err)
	}
	return got
}

func ids(events []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func dataIDs(events []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func versions(events []eventstore.RecordedEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Version
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	if from <= to {
		for v := from; v <= to; v++ {
			out = append(out, v)
		}
	} else {
		for v := from; v >= to; v-- {
			out = append(out, v)
		}
	}
	return out
}

// checkStream asserts that stream holds exactly want, at versions 1..len(want).
func checkStream(t *testing.T, s eventstore.Store, stream string, want []uuid.UUID) {
	t.Helper()
	got := readStream(t, s, stream)
	if !reflect.DeepEqual(ids(got), want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("stream %s holds %v, want %v", stream, ids(got), want)
	}
	if v := versions(got); len(v) > 0 && !reflect.DeepEqual(v, seq(1, int64(len(want)))) {
		t.Fatalf("stream %s has versions %v, want 1..%d", stream, v, len(want))
	}
}

func testAppendToNewStream(t *testing.T, s eventstore.Store) {
	for _, tc := range []struct {
		name     string
		expected eventstore.ExpectedVersion
	}{
		{"NoStream", eventstore.NoStream()},
		{"Any", eventstore.Any()},
		{"Exact0", eventstore.Exact(0)},
		{"ZeroValue", eventstore.ExpectedVersion{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "new-" + tc.name
			evs := NewEvents(3, "Created")
			res := mustAppend(t, s, stream, tc.expected, evs)
			if res != (eventstore.AppendResult{NextExpectedVersion: 3}) {
				t.Fatalf("Append = %+v, want version 3, not duplicate", res)
			}
			got := readStream(t, s, stream)
			checkStream(t, s, stream, dataIDs(evs))
			for i, e := range got {
				if e.Stream != stream || e.Type != "Created" {
					t.Errorf("event %d: stream %q type %q", i, e.Stream, e.Type)
				}
				if i > 0 && !(got[i-1].GlobalPosition < e.GlobalPosition && got[i-1].Position.Less(e.Position)) {
					t.Errorf("event %d: positions %d %s not after %d %s", i, e.GlobalPosition, e.Position, got[i-1].GlobalPosition, got[i-1].Position)
				}
			}
		})
	}
}

func testAppendToExistingStream(t *testing.T, s eventstore.Store) {
	const stream = "existing"
	first := NewEvents(2, "A")
	mustAppend(t, s, stream, eventstore.NoStream(), first)
	all := dataIDs(first)
	for _, tc := range []struct {
		expected eventstore.ExpectedVersion
		n        int
	}{
		{eventstore.Exact(2), 1},
		{eventstore.StreamExists(), 2},
		{eventstore.Any(), 1},
		{eventstore.Exact(6), 3},
	} {
		evs := NewEvents(tc.n, "B")
		res := mustAppend(t, s, stream, tc.expected, evs)
		all = append(all, dataIDs(evs)...)
		if res.NextExpectedVersion != int64(len(all)) || res.Duplicate {
			t.Fatalf("Append(%s) = %+v, want version %d", tc.expected, res, len(all))
		}
	}
	checkStream(t, s, stream, all)
}

func testExpectedVersionMismatch(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	const stream = "at-two"
	evs := NewEvents(2, "A")
	mustAppend(t, s, stream, eventstore.NoStream(), evs)
	for _, tc := range []struct {
		stream   string
		expected eventstore.ExpectedVersion
	}{
		{stream, eventstore.NoStream()},
		{stream, eventstore.Exact(0)},
		{stream, eventstore.Exact(1)},
		{stream, eventstore.Exact(3)},
		{"missing", eventstore.StreamExists()},
		{"missing", eventstore.Exact(1)},
	} {
		_, err := s.Append(ctx, tc.stream, tc.expected, NewEvents(2, "B"))
		if !errors.Is(err, eventstore.ErrConcurrency) {
			t.Errorf("Append(%s, %s) error = %v, want ErrConcurrency", tc.stream, tc.expected, err)
		}
	}
	checkStream(t, s, stream, dataIDs(evs))
	checkStream(t, s, "missing", nil)
	// The failed appends left no trace: the next append continues at version 3.
	if res := mustAppend(t, s, stream, eventstore.Exact(2), NewEvents(1, "C")); res.NextExpectedVersion != 3 {
		t.Fatalf("Append after failures = %+v, want version 3", res)
	}
	// A missing stream is still missing: NoStream works on it.
	mustAppend(t, s, "missing", eventstore.NoStream(), NewEvents(1, "C"))
	ReadAllEventually(t, s, eventstore.Start, 100, 4)
}

func testIdempotentRetry(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	const stream = "retried"
	batch := NewEvents(3, "A")
	if res := mustAppend(t, s, stream, eventstore.NoStream(), batch); res.NextExpectedVersion != 3 {
		t.Fatalf("first Append = %+v", res)
	}
	for _, expected := range []eventstore.ExpectedVersion{eventstore.NoStream(), eventstore.Exact(0), eventstore.Any(), eventstore.Exact(3)} {
		res, err := s.Append(ctx, stream, expected, batch)
		if err != nil {
			t.Fatalf("retry with %s: %v", expected, err)
		}
		if res != (eventstore.AppendResult{NextExpectedVersion: 3, Duplicate: true}) {
			t.Fatalf("retry with %s = %+v, want version 3, duplicate", expected, res)
		}
	}
	more := NewEvents(2, "B")
	mustAppend(t, s, stream, eventstore.Exact(3), more)
	// A late retry still gets the original result and writes nothing.
	res, err := s.Append(ctx, stream, eventstore.NoStream(), batch)
	if err != nil || res != (eventstore.AppendResult{NextExpectedVersion: 3, Duplicate: true}) {
		t.Fatalf("late retry = %+v, %v; want version 3, duplicate", res, err)
	}
	res, err = s.Append(ctx, stream, eventstore.Exact(3), more)
	if err != nil || res != (eventstore.AppendResult{NextExpectedVersion: 5, Duplicate: true}) {
		t.Fatalf("retry of second batch = %+v, %v; want version 5, duplicate", res, err)
	}
	checkStream(t, s, stream, append(dataIDs(batch), dataIDs(more)...))
	ReadAllEventually(t, s, eventstore.Start, 100, 5)
}

func testPartialIDOverlap(t *testing.T, s eventstore.Store, opts Options) {
	ctx := testCtx(t)
	const stream = "overlap"
	batch := NewEvents(2, "A")
	mustAppend(t, s, stream, eventstore.NoStream(), batch)
	a, b := batch[0], batch[1]
	c := NewEvent("C")
	for _, tc := range []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"FirstKnownThenNew", stream, []eventstore.EventData{a, c}},
		{"NewThenKnown", stream, []eventstore.EventData{c, b}},
		{"Reordered", stream, []eventstore.EventData{b, a}},
		{"OtherStream", "other", []eventstore.EventData{a, b}},
		{"OtherStreamLaterID", "other", []eventstore.EventData{c, a}},
	} {
		if tc.stream != stream && opts.StreamScopedIDs {
			continue
		}
		_, err := s.Append(ctx, tc.stream, eventstore.Any(), tc.events)
		if !errors.Is(err, eventstore.ErrIdempotency) {
			t.Errorf("%s: Append error = %v, want ErrIdempotency", tc.name, err)
		}
	}
	checkStream(t, s, stream, dataIDs(batch))
	checkStream(t, s, "other", nil)
	// c was never written: it can still be appended.
	if res := mustAppend(t, s, stream, eventstore.Exact(2), []eventstore.EventData{c}); res.NextExpectedVersion != 3 {
		t.Fatalf("Append of c = %+v, want version 3", res)
	}
}

func testNilIDGetsFreshID(t *testing.T, s eventstore.Store) {
	evs := NewEvents(2, "A")
	evs[0].ID, evs[1].ID = uuid.Nil, uuid.Nil
	mustAppend(t, s, "nil-ids", eventstore.NoStream(), evs)
	got := readStream(t, s, "nil-ids")
	if len(got) != 2 || got[0].ID == uuid.Nil || got[1].ID == uuid.Nil || got[0].ID == got[1].ID {
		t.Fatalf("events appended with nil ids have ids %v, want two distinct fresh ids", ids(got))
	}
	if evs[0].ID != uuid.Nil {
		t.Fatalf("Append modified the caller's events")
	}
	// Without an id there is no idempotency: the same request appends again.
	if res := mustAppend(t, s, "nil-ids", eventstore.Any(), evs); res.NextExpectedVersion != 4 || res.Duplicate {
		t.Fatalf("second Append = %+v, want version 4", res)
	}
}

func testReadStream(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	const stream = "ten"
	var all []eventstore.EventData
	for _, n := range []int{3, 1, 4, 2} {
		evs := NewEvents(n, "A")
		mustAppend(t, s, stream, eventstore.Exact(int64(len(all))), evs)
		all = append(all, evs...)
	}
	mustAppend(t, s, "other", eventstore.NoStream(), NewEvents(3, "B"))
	for _, tc := range []struct {
		dir   eventstore.Direction
		from  int64
		limit int
		want  []int64
	}{
		{eventstore.Forward, 1, 100, seq(1, 10)},
		{eventstore.Forward, 0, 100, seq(1, 10)},
		{eventstore.Forward, 4, 3, seq(4, 6)},
		{eventstore.Forward, 9, 5, seq(9, 10)},
		{eventstore.Forward, 10, 1, seq(10, 10)},
		{eventstore.Forward, 11, 5, nil},
		{eventstore.Backward, 0, 3, seq(10, 8)},
		{eventstore.Backward, -1, 100, seq(10, 1)},
		{eventstore.Backward, 5, 10, seq(5, 1)},
		{eventstore.Backward, 5, 2, seq(5, 4)},
		{eventstore.Backward, 1, 2, seq(1, 1)},
	} {
		got, err := s.ReadStream(ctx, stream, tc.dir, tc.from, tc.limit)
		if err != nil {
			t.Fatalf("ReadStream(dir %d, from %d, limit %d): %v", tc.dir, tc.from, tc.limit, err)
		}
		if v := versions(got); !(len(v) == 0 && len(tc.want) == 0) && !reflect.DeepEqual(v, tc.want) {
			t.Errorf("ReadStream(dir %d, from %d, limit %d) versions = %v, want %v", tc.dir, tc.from, tc.limit, v, tc.want)
			continue
		}
		for _, e := range got {
			if e.ID != all[e.Version-1].ID || e.Stream != stream {
				t.Errorf("ReadStream: version %d is %s in %q, want %s", e.Version, e.ID, e.Stream, all[e.Version-1].ID)
			}
		}
	}
	for _, dir := range []eventstore.Direction{eventstore.Forward, eventstore.Backward} {
		got, err := s.ReadStream(ctx, "missing", dir, 0, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("ReadStream(missing, dir %d) = %d events, %v; want none, no error", dir, len(got), err)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.ReadStream(ctx, stream, eventstore.Forward, 1, limit); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadStream(limit %d) error = %v, want ErrInvalid", limit, err)
		}
	}
}

func testReadAllPaging(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	var want []uuid.UUID
	for i := range 12 {
		evs := NewEvents(1+i%4, "A")
		mustAppend(t, s, fmt.Sprintf("s-%d", i%5), eventstore.Any(), evs)
		want = append(want, dataIDs(evs)...)
	}
	for _, page := range []int{1, 4, 7, 1000} {
		got := ReadAllEventually(t, s, eventstore.Start, page, len(want))
		if !reflect.DeepEqual(ids(got), want) {
			t.Fatalf("ReadAll in pages of %d = %v, want append order %v", page, ids(got), want)
		}
		rest, err := s.ReadAll(ctx, got[len(got)-1].Position, page)
		if err != nil || len(rest) != 0 {
			t.Fatalf("ReadAll after the last event = %d events, %v; want none", len(rest), err)
		}
	}
	all := ReadAllEventually(t, s, eventstore.Start, 1000, len(want))
	// From the middle.
	mid := all[9].Position
	got := ReadAllEventually(t, s, mid, 3, len(want)-10)
	if !reflect.DeepEqual(ids(got), want[10:]) {
		t.Fatalf("ReadAll after %s = %v, want %v", mid, ids(got), want[10:])
	}
	// Each event's Position is the same whether read from its stream or from the log.
	for _, e := range readStream(t, s, "s-0") {
		for _, a := range all {
			if a.ID == e.ID && (a.Position != e.Position || a.GlobalPosition != e.GlobalPosition) {
				t.Errorf("event %s: ReadStream position %s/%d, ReadAll %s/%d", e.ID, e.Position, e.GlobalPosition, a.Position, a.GlobalPosition)
			}
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.ReadAll(ctx, eventstore.Start, limit); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadAll(limit %d) error = %v, want ErrInvalid", limit, err)
		}
	}
}

func testMetadataRoundTrip(t *testing.T, s eventstore.Store) {
	before := time.Now().Add(-time.Hour)
	cause, corr := uuid.New(), uuid.New()
	in := []eventstore.EventData{
		{
			ID: uuid.New(), Type: "ProposalSubmitted", SchemaVersion: 3,
			Data:          json.RawMessage(`{"title": "Rename the channel", "votes": [1, 2.5, -3], "nested": {"ok": true, "none": null}, "text": "h\u00e9llo \"quoted\""}`),
			CausationID:   cause,
			CorrelationID: corr,
		},
		{ID: uuid.New(), Type: "Plain", SchemaVersion: 0, Data: json.RawMessage(`[]`)},
		{ID: uuid.New(), Type: "Scalar", SchemaVersion: 7, Data: json.RawMessage(`"just a string"`), CorrelationID: corr},
	}
	mustAppend(t, s, "meta", eventstore.NoStream(), in)
	fromStream := readStream(t, s, "meta")
	fromLog := ReadAllEventually(t, s, eventstore.Start, 10, 3)
	for name, got := range map[string][]eventstore.RecordedEvent{"ReadStream": fromStream, "ReadAll": fromLog} {
		if len(got) != len(in) {
			t.Fatalf("%s returned %d events, want %d", name, len(got), len(in))
		}
		for i, e := range got {
			w := in[i]
			if e.ID != w.ID || e.Type != w.Type || e.SchemaVersion != w.SchemaVersion ||
				e.CausationID != w.CausationID || e.CorrelationID != w.CorrelationID ||
				e.Stream != "meta" || e.Version != int64(i+1) {
				t.Errorf("%s event %d = %+v, want %+v", name, i, e, w)
			}
			if !jsonEqual(t, e.Data, w.Data) {
				t.Errorf("%s event %d data = %s, want %s", name, i, e.Data, w.Data)
			}
			if e.RecordedAt.IsZero() || e.RecordedAt.Before(before) || e.RecordedAt.After(time.Now().Add(time.Hour)) {
				t.Errorf("%s event %d recorded at %v, want about now", name, i, e.RecordedAt)
			}
			if e.GlobalPosition <= 0 || e.Position == eventstore.Start {
				t.Errorf("%s event %d at %d / %s, want a position after Start", name, i, e.GlobalPosition, e.Position)
			}
		}
	}
	// The store keeps its own copy of the data.
	got := readStream(t, s, "meta")
	for i := range got[0].Data {
		got[0].Data[i] = ' '
	}
	if again := readStream(t, s, "meta"); !jsonEqual(t, again[0].Data, in[0].Data) {
		t.Errorf("changing a read event's Data changed the store: %s", again[0].Data)
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("stored data %q is not JSON: %v", a, err)
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("test data %q is not JSON: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func testConcurrentWriters(t *testing.T, s eventstore.Store) {
	const writers, appends = 8, 50
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	written := make([][]uuid.UUID, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("writer-%d", w)
			for i := range appends {
				evs := NewEvents(1, "W")
				res, err := s.Append(ctx, stream, eventstore.Exact(int64(i)), evs)
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				if res.NextExpectedVersion != int64(i+1) {
					errs <- fmt.Errorf("writer %d append %d: version %d", w, i, res.NextExpectedVersion)
					return
				}
				written[w] = append(written[w], evs[0].ID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	all := ReadAllEventually(t, s, eventstore.Start, 37, writers*appends)
	seen := make(map[uuid.UUID]bool, len(all))
	next := make(map[string]int64)
	for _, e := range all {
		if seen[e.ID] {
			t.Fatalf("ReadAll returned %s twice", e.ID)
		}
		seen[e.ID] = true
		next[e.Stream]++
		if e.Version != next[e.Stream] {
			t.Fatalf("ReadAll returned %s version %d, want %d: per-stream order broken", e.Stream, e.Version, next[e.Stream])
		}
	}
	for w, wrote := range written {
		for _, id := range wrote {
			if !seen[id] {
				t.Fatalf("writer %d event %s missing from ReadAll", w, id)
			}
		}
		checkStream(t, s, fmt.Sprintf("writer-%d", w), wrote)
	}
}

// race runs n appends of distinct batches to stream with expected at once and returns the
// batches that succeeded; every failure must be ErrConcurrency.
func race(t *testing.T, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, n int) [][]eventstore.EventData {
	t.Helper()
	ctx := testCtx(t)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   [][]eventstore.EventData
		start = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := NewEvents(2, "Race")
			<-start
			_, err := s.Append(ctx, stream, expected, evs)
			switch {
			case err == nil:
				mu.Lock()
				won = append(won, evs)
				mu.Unlock()
			case !errors.Is(err, eventstore.ErrConcurrency):
				t.Errorf("racing Append error = %v, want ErrConcurrency", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d of %d racing appends with %s succeeded, want exactly 1", len(won), n, expected)
	}
	return won
}

func testVersionRace(t *testing.T, s eventstore.Store) {
	const stream = "raced"
	first := NewEvents(3, "A")
	mustAppend(t, s, stream, eventstore.NoStream(), first)
	won := race(t, s, stream, eventstore.Exact(3), 8)
	checkStream(t, s, stream, append(dataIDs(first), dataIDs(won[0])...))
}

func testNoStreamRace(t *testing.T, s eventstore.Store) {
	won := race(t, s, "created-once", eventstore.NoStream(), 8)
	checkStream(t, s, "created-once", dataIDs(won[0]))
}

// testConcurrentRetries: copies of one batch sent at once (a client retrying before its first
// attempt returned) write it once; every copy succeeds and all but one are duplicates.
func testConcurrentRetries(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	const copies = 8
	batch := NewEvents(3, "Retry")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
		start   = make(chan struct{})
	)
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := s.Append(ctx, "retry-race", eventstore.NoStream(), batch)
			if err != nil {
				t.Errorf("concurrent retry: %v", err)
				return
			}
			if res.NextExpectedVersion != 3 {
				t.Errorf("concurrent retry = %+v, want version 3", res)
			}
			if !res.Duplicate {
				mu.Lock()
				written++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if written != 1 {
		t.Fatalf("%d of %d copies were written, want 1", written, copies)
	}
	checkStream(t, s, "retry-race", dataIDs(batch))
}

func testSubscribeCatchUpThenLive(t *testing.T, s eventstore.Store) {
	var want []uuid.UUID
	for i := range 5 {
		evs := NewEvents(1+i%2, "Before")
		mustAppend(t, s, fmt.Sprintf("s-%d", i%2), eventstore.Any(), evs)
		want = append(want, dataIDs(evs)...)
	}
	c := StartCollector(t, s, eventstore.Start, nil)
	if got := c.WaitFor(len(want)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("catch-up delivered %v, want %v", ids(got), want)
	}
	for i := range 6 {
		evs := NewEvents(1+i%3, "After")
		mustAppend(t, s, fmt.Sprintf("s-%d", i%3), eventstore.Any(), evs)
		want = append(want, dataIDs(evs)...)
		// Alternate between appending while the subscriber waits and appending in bursts.
		if i%2 == 0 {
			c.WaitFor(len(want))
		}
	}
	if got := c.WaitFor(len(want)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("subscription delivered %v, want %v", ids(got), want)
	}
	if err := c.Stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe returned %v after cancel, want context.Canceled", err)
	}
	if got := c.Events(); len(got) != len(want) {
		t.Fatalf("subscription delivered %d events in total, want %d", len(got), len(want))
	}
}

func testSubscribeFromMiddle(t *testing.T, s eventstore.Store) {
	evs := NewEvents(10, "A")
	for i := range evs {
		mustAppend(t, s, "mid", eventstore.Exact(int64(i)), evs[i:i+1])
	}
	all := ReadAllEventually(t, s, eventstore.Start, 100, 10)
	c := StartCollector(t, s, all[4].Position, nil)
	more := NewEvents(2, "B")
	mustAppend(t, s, "mid", eventstore.Exact(10), more)
	want := append(dataIDs(evs[5:]), dataIDs(more)...)
	if got := c.WaitFor(len(want)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("subscription after %s delivered %v, want %v", all[4].Position, ids(got), want)
	}
	// A subscription after the last event sees only what comes next.
	last := ReadAllEventually(t, s, eventstore.Start, 100, 12)
	c2 := StartCollector(t, s, last[len(last)-1].Position, nil)
	next := NewEvents(1, "C")
	mustAppend(t, s, "mid", eventstore.Exact(12), next)
	if got := c2.WaitFor(1); !reflect.DeepEqual(ids(got), dataIDs(next)) {
		t.Fatalf("subscription at the end delivered %v, want %v", ids(got), dataIDs(next))
	}
}

func testSubscribeHandlerError(t *testing.T, s eventstore.Store) {
	errStop := errors.New("handler says stop")
	mustAppend(t, s, "h", eventstore.NoStream(), NewEvents(3, "A"))
	calls := 0
	c := StartCollector(t, s, eventstore.Start, func([]eventstore.RecordedEvent) error {
		calls++
		return errStop
	})
	if err := c.Err(); !errors.Is(err, errStop) {
		t.Fatalf("Subscribe returned %v, want the handler's error", err)
	}
	if calls != 1 {
		t.Fatalf("handler called %d times after failing, want 1", calls)
	}
	// Also when the failure happens in live mode.
	var live []eventstore.RecordedEvent
	c2 := StartCollector(t, s, eventstore.Start, func(batch []eventstore.RecordedEvent) error {
		live = append(live, batch...)
		if len(live) > 3 {
			return errStop
		}
		return nil
	})
	c2.WaitFor(3)
	mustAppend(t, s, "h", eventstore.Exact(3), NewEvents(1, "B"))
	if err := c2.Err(); !errors.Is(err, errStop) {
		t.Fatalf("live Subscribe returned %v, want the handler's error", err)
	}
}

func testInvalidInput(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	good := NewEvent("Good")
	mod := func(f func(*eventstore.EventData)) []eventstore.EventData {
		e := NewEvent("Bad")
		f(&e)
		return []eventstore.EventData{good, e}
	}
	dup := NewEvent("Dup")
	for _, tc := range []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"EmptyStream", "", []eventstore.EventData{NewEvent("A")}},
		{"NULInStream", "a\x00b", []eventstore.EventData{NewEvent("A")}},
		{"BadUTF8Stream", "a\xffb", []eventstore.EventData{NewEvent("A")}},
		{"NilEvents", "s", nil},
		{"NoEvents", "s", []eventstore.EventData{}},
		{"EmptyType", "s", mod(func(e *eventstore.EventData) { e.Type = "" })},
		{"NilData", "s", mod(func(e *eventstore.EventData) { e.Data = nil })},
		{"EmptyData", "s", mod(func(e *eventstore.EventData) { e.Data = json.RawMessage{} })},
		{"BadJSON", "s", mod(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{"a":`) })},
		{"TwoValues", "s", mod(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{} {}`) })},
		{"NULInJSON", "s", mod(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{"a":"x\u0000y"}`) })},
		{"BadUTF8JSON", "s", mod(func(e *eventstore.EventData) { e.Data = json.RawMessage("{\"a\":\"\xff\"}") })},
		{"NegativeSchema", "s", mod(func(e *eventstore.EventData) { e.SchemaVersion = -1 })},
		{"DuplicateID", "s", []eventstore.EventData{dup, NewEvent("B"), dup}},
	} {
		_, err := s.Append(ctx, tc.stream, eventstore.Any(), tc.events)
		if !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: Append error = %v, want ErrInvalid", tc.name, err)
		}
	}
	checkStream(t, s, "s", nil)
	// An escaped backslash before u0000 is fine.
	ok := NewEvent("Fine")
	ok.Data = json.RawMessage(`{"path":"C:\\u0000"}`)
	mustAppend(t, s, "s", eventstore.NoStream(), []eventstore.EventData{good, ok})
	got := readStream(t, s, "s")
	if len(got) != 2 || !bytes.Contains(got[1].Data, []byte(`\\u0000`)) {
		t.Fatalf("stored %v", got)
	}
}

func testAppendMultiAtomic(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	mustAppend(t, s, "multi-b", eventstore.NoStream(), NewEvents(2, "seed"))

	a1, b1 := NewEvents(2, "a"), NewEvents(1, "b")
	parts := []eventstore.StreamAppend{
		{Stream: "multi-a", Expected: eventstore.NoStream(), Events: a1},
		{Stream: "multi-b", Expected: eventstore.Exact(2), Events: b1},
	}
	res, err := s.AppendMulti(ctx, parts)
	if err != nil {
		t.Fatalf("AppendMulti: %v", err)
	}
	if len(res) != 2 || res[0].NextExpectedVersion != 2 || res[1].NextExpectedVersion != 3 || res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("results = %+v", res)
	}
	checkStream(t, s, "multi-a", dataIDs(a1))

	// The same parts again: every part is a duplicate and nothing is written.
	res, err = s.AppendMulti(ctx, parts)
	if err != nil || !res[0].Duplicate || !res[1].Duplicate {
		t.Fatalf("retry = %+v, %v", res, err)
	}

	// One stale part: nothing of the other part is written either.
	a2, b2 := NewEvents(1, "a"), NewEvents(1, "b")
	_, err = s.AppendMulti(ctx, []eventstore.StreamAppend{
		{Stream: "multi-a", Expected: eventstore.Exact(2), Events: a2},
		{Stream: "multi-b", Expected: eventstore.Exact(2), Events: b2},
	})
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("stale part: err = %v, want ErrConcurrency", err)
	}
	if got := readStream(t, s, "multi-a"); len(got) != 2 {
		t.Fatalf("multi-a has %d events after a failed multi-append, want 2", len(got))
	}
	if all := ReadAllEventually(t, s, eventstore.Start, 100, 5); len(all) != 5 {
		t.Fatalf("log has %d events, want 5", len(all))
	}

	// Invalid: the same stream twice, no parts.
	if _, err := s.AppendMulti(ctx, []eventstore.StreamAppend{
		{Stream: "x", Expected: eventstore.Any(), Events: NewEvents(1, "x")},
		{Stream: "x", Expected: eventstore.Any(), Events: NewEvents(1, "x")},
	}); !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("same stream twice: %v", err)
	}
	if _, err := s.AppendMulti(ctx, nil); !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("no parts: %v", err)
	}
}

// testAppendMultiRace: writers deciding on the same pair of streams at the same versions;
// exactly one wins, in both streams, and no multi-append deadlocks with another that lists
// the streams in the other order.
func testAppendMultiRace(t *testing.T, s eventstore.Store) {
	ctx := testCtx(t)
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts := []eventstore.StreamAppend{
				{Stream: "race-x", Expected: eventstore.NoStream(), Events: NewEvents(1, "x")},
				{Stream: "race-y", Expected: eventstore.NoStream(), Events: NewEvents(1, "y")},
			}
			if i%2 == 1 {
				parts[0], parts[1] = parts[1], parts[0]
			}
			_, err := s.AppendMulti(ctx, parts)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, eventstore.ErrConcurrency):
			t.Fatalf("loser got %v, want ErrConcurrency", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want exactly 1", wins)
	}
	if len(readStream(t, s, "race-x")) != 1 || len(readStream(t, s, "race-y")) != 1 {
		t.Fatal("a stream holds other than exactly the winner's event")
	}
}

// A store that says it keeps the order of a multi-stream append's parts writes them to the
// log in the order given, not in the order it locks the streams in.
func testAppendMultiKeepsPartOrder(t *testing.T, s eventstore.Store) {
	o, ok := s.(eventstore.OrderedAppender)
	if !ok || !o.KeepsPartOrder() {
		return // the store makes no such promise (KurrentDB writes in stream name order)
	}
	ctx := testCtx(t)
	streams := []string{"order-z", "order-a", "order-m", "order-b"}
	var parts []eventstore.StreamAppend
	var want []uuid.UUID
	for _, st := range streams {
		evs := NewEvents(2, st)
		parts = append(parts, eventstore.StreamAppend{Stream: st, Expected: eventstore.NoStream(), Events: evs})
		want = append(want, dataIDs(evs)...)
	}
	if _, err := s.AppendMulti(ctx, parts); err != nil {
		t.Fatalf("AppendMulti: %v", err)
	}
	all := ReadAllEventually(t, s, eventstore.Start, 100, len(want))
	if got := ids(all); !slices.Equal(got, want) {
		t.Fatalf("log order %v, want the parts in the order given %v", got, want)
	}
}
