// Package eventstore defines the append-only event log that is the only source of truth of
// PolicyKit-Go, and the contract every backend (Postgres, in-memory, KurrentDB) keeps.
//
// Streams hold the events of one aggregate (a community, a proposal) in version order,
// starting at version 1. The global log holds every event of every stream in one total order
// that a subscriber can follow from a Position without ever skipping an event, including events
// whose transactions commit after events that were numbered later.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Errors of the store contract. Backends wrap them; callers test with errors.Is.
var (
	// ErrConcurrency: the stream's version did not match the expected version.
	ErrConcurrency = errors.New("eventstore: wrong expected version")
	// ErrIdempotency: some but not all of a batch's event ids were already appended, or an id
	// was reused on another stream or at another place in the stream.
	ErrIdempotency = errors.New("eventstore: event ids reused with different events")
	// ErrInvalid: the request itself is malformed (empty stream name, empty type, bad JSON).
	ErrInvalid = errors.New("eventstore: invalid request")
)

// ExpectedVersion states what the writer believes about a stream before its append.
// The zero value is Any.
type ExpectedVersion struct {
	kind    expectKind
	version int64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectExists
	expectExact
)

// Any appends whatever the stream's version.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream appends only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedVersion { return ExpectedVersion{kind: expectExists} }

// Exact appends only if the stream's last event has version v. Exact(0) is NoStream.
func Exact(v int64) ExpectedVersion {
	if v <= 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// Check reports whether a stream currently at version current (0: no events) satisfies e.
func (e ExpectedVersion) Check(current int64) bool {
	switch e.kind {
	case expectNoStream:
		return current == 0
	case expectExists:
		return current > 0
	case expectExact:
		return current == e.version
	default:
		return true
	}
}

// Code returns the wire form used by backends: -1 any, 0 no stream, -2 stream exists, n exact.
func (e ExpectedVersion) Code() int64 {
	switch e.kind {
	case expectNoStream:
		return 0
	case expectExists:
		return -2
	case expectExact:
		return e.version
	default:
		return -1
	}
}

func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no-stream"
	case expectExists:
		return "stream-exists"
	case expectExact:
		return strconv.FormatInt(e.version, 10)
	default:
		return "any"
	}
}

// EventData is an event to append. ID is the idempotency key: appending the same ids to the
// same stream again returns the original result and writes nothing.
type EventData struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	CausationID   uuid.UUID // uuid.Nil when the event has no cause recorded
	CorrelationID uuid.UUID // uuid.Nil when the event starts a new conversation
}

// RecordedEvent is an event as it stands in the log.
type RecordedEvent struct {
	ID             uuid.UUID
	Stream         string
	Version        int64 // 1-based position in the stream
	GlobalPosition int64 // unique and increasing in append order; not commit order
	Position       Position
	Type           string
	SchemaVersion  int
	Data           json.RawMessage
	RecordedAt     time.Time
	CausationID    uuid.UUID
	CorrelationID  uuid.UUID
}

// Position is a place in the global log, in the order subscribers see it. Start is before
// every event. Backends define the two numbers: Postgres uses the appending transaction's id
// and the global sequence, so that the order is stable once read; others may leave Commit 0.
type Position struct {
	Commit uint64
	Seq    int64
}

// Start is the position before the first event.
var Start = Position{}

// Less orders positions.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Seq < q.Seq
}

// String is the stable text form "commit:seq", used in cursors and on the command line.
func (p Position) String() string {
	return strconv.FormatUint(p.Commit, 10) + ":" + strconv.FormatInt(p.Seq, 10)
}

// ParsePosition reads the form produced by String.
func ParsePosition(s string) (Position, error) {
	c, q, ok := strings.Cut(s, ":")
	if !ok {
		return Position{}, fmt.Errorf("%w: position %q is not commit:seq", ErrInvalid, s)
	}
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("%w: position %q: %v", ErrInvalid, s, err)
	}
	seq, err := strconv.ParseInt(q, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("%w: position %q: %v", ErrInvalid, s, err)
	}
	return Position{Commit: commit, Seq: seq}, nil
}

// AppendResult tells where an append landed.
type AppendResult struct {
	// NextExpectedVersion is the stream's version after the append.
	NextExpectedVersion int64
	// Duplicate is true when every event id was already in the stream and nothing was written.
	Duplicate bool
}

// Direction of a stream read.
type Direction int

const (
	Forward Direction = iota
	Backward
)

// StreamAppend is one stream's part of an AppendMulti.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []EventData
}

// Store is the event store port. Implementations are safe for concurrent use.
type Store interface {
	// AppendMulti appends to several distinct streams atomically: every part is written or
	// none is. Each part is checked as Append checks it (expected version, idempotency by
	// event id); the first failing part's error is returned and nothing is written. Results
	// are in the order of appends. A decision that spans a proposal, its action and its
	// community is appended this way, so a crash never leaves half of it in the log.
	AppendMulti(ctx context.Context, appends []StreamAppend) ([]AppendResult, error)
	// Append adds events to the end of stream atomically. It returns ErrConcurrency when the
	// stream does not match expected, and is idempotent by event id (see EventData).
	Append(ctx context.Context, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error)
	// ReadStream returns up to limit events of stream starting at version from (inclusive),
	// going forward or backward. Backward with from <= 0 starts at the last event.
	// A stream with no events returns an empty slice and no error.
	ReadStream(ctx context.Context, stream string, dir Direction, from int64, limit int) ([]RecordedEvent, error)
	// ReadAll returns up to limit events of the global log strictly after position after, in
	// subscription order. It returns only events whose order can no longer change, so a
	// reader that pages with the last returned Position never skips an event.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)
	// Subscribe delivers every event after position after to handle, first the stored ones
	// (catch-up) then new ones as they commit (live), in ReadAll order, one batch at a time.
	// It returns when ctx ends (with ctx's error) or when handle returns an error (with it).
	Subscribe(ctx context.Context, after Position, handle func(context.Context, []RecordedEvent) error) error
}

// OrderedAppender is implemented by stores whose AppendMulti writes the parts to the global
// log in the order given, each part's events after the part before it, in one commit. The
// engine appends the decisions of many commands in one AppendMulti (group commit) only on
// such a store: the audit reads a decision as the run of events of one cause.
type OrderedAppender interface {
	KeepsPartOrder() bool
}

// HeldReader is implemented by stores whose ReadAll can hold committed events back for a
// while: the Postgres store returns events only below the oldest transaction still running
// on the server, so an event that committed after a still-open transaction started waits
// for it. HeldBack reports whether committed events after a position are held back now.
type HeldReader interface {
	HeldBack(ctx context.Context, after Position) (bool, error)
}

// ReadAllSettled is ReadAll for readers that must reach the end of the log as it stands:
// when ReadAll returns nothing while events are held back (see HeldReader), it waits for
// them, polling with a short backoff, until they can be read or ctx ends.
func ReadAllSettled(ctx context.Context, s Store, after Position, limit int) ([]RecordedEvent, error) {
	delay := time.Millisecond
	for {
		evs, err := s.ReadAll(ctx, after, limit)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		h, ok := s.(HeldReader)
		if !ok {
			return nil, nil
		}
		held, err := h.HeldBack(ctx, after)
		if err != nil || !held {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// All yields every event of the log after position after, in order, up to the end of the
// log as it stands (see ReadAllSettled), reading pages as it goes. A read error is yielded
// once, with a zero event, and ends the sequence.
func All(ctx context.Context, s Store, after Position) iter.Seq2[RecordedEvent, error] {
	return func(yield func(RecordedEvent, error) bool) {
		for {
			evs, err := ReadAllSettled(ctx, s, after, 1000)
			if err != nil {
				yield(RecordedEvent{}, err)
				return
			}
			if len(evs) == 0 {
				return
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			after = evs[len(evs)-1].Position
		}
	}
}
