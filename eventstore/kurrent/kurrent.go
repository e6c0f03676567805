// Package kurrent is the KurrentDB backend of the event store, for installations whose log
// outgrows one Postgres server. It speaks KurrentDB's gRPC API through the official Go client
// and keeps the eventstore.Store contract with these mappings:
//
//   - Our stream versions are 1-based, KurrentDB's revisions 0-based: version v is revision
//     v-1, and "no events" (version 0) is KurrentDB's no_stream.
//   - A Position carries KurrentDB's $all position: Commit is the commit position, Seq the
//     prepare position. Positions compare as $all orders events, and String/ParsePosition
//     round-trip them, so checkpoints written with this store resume where they stopped.
//     GlobalPosition is the prepare position, unique per event.
//   - Causation and correlation ids and the schema version travel in the event's user
//     metadata (JSON); the data is the event's JSON as is.
//   - Idempotency by event id is checked by the adapter before it writes (reading the
//     stream), and KurrentDB's own idempotent append covers copies of one batch that race.
//     Event ids are keys within their stream: reusing an id on another stream is not
//     detected (KurrentDB has no lookup by id), which the engine never does since it derives
//     ids from the cause, the stream and the version.
//   - Every write names the exact revision the adapter read, also for Any, so a check and
//     its write cannot be separated by another writer.
//
// Multi-stream appends: KurrentDB (through this client) has no transaction across streams.
// AppendMulti checks every part first, then writes the parts one stream at a time in stream
// name order. The first write is the commit point and carries, in its first event's
// metadata, the remaining parts with the exact revisions they expect (a redo record). So:
//   - a conflict found before or at the first write leaves nothing in the log;
//   - concurrent multi-appends over the same streams are serialized by the first of them in
//     name order: exactly one wins;
//   - a crash after the first write leaves a redo record that Recover (run by Open) rolls
//     forward, idempotently by event id;
//   - what remains: if another writer appends to one of the later streams between the
//     commit point and that part's write, the part cannot be written at the revision the
//     decision was made against. AppendMulti then fails with ErrIncomplete and the part is
//     reported, not silently written elsewhere. The engine decides under a per-community
//     lock held by one leader, so its own decisions do not race this way.
package kurrent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

// ErrIncomplete: a multi-stream append passed its commit point but a later part could not be
// written at the revision it expects, because another writer appended to that stream first.
var ErrIncomplete = errors.New("kurrent: multi-stream append committed but a later part could not be written")

const (
	// maxAttempts bounds the retries of an append with Any or StreamExists that keeps losing
	// races with other writers.
	maxAttempts = 20
	// pageSize is how many events one read asks for.
	pageSize = 500
	// defaultRecoveryWindow is how many of the latest $all events Recover inspects.
	defaultRecoveryWindow = 10000
)

// Store is the KurrentDB event store. It is safe for concurrent use.
type Store struct {
	client         *esdb.Client
	log            *slog.Logger
	recoveryWindow int
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger (the default discards).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithRecoveryWindow sets how many of the latest events Recover inspects for multi-stream
// appends to finish.
func WithRecoveryWindow(n int) Option { return func(s *Store) { s.recoveryWindow = n } }

// Open connects to the KurrentDB server of connection string url (esdb://host:port?tls=false,
// or the cluster forms KurrentDB documents) and finishes any multi-stream append a crash
// interrupted.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb connection string: %w", err)
	}
	s := &Store{log: slog.New(slog.DiscardHandler), recoveryWindow: defaultRecoveryWindow}
	for _, o := range opts {
		o(s)
	}
	cfg.Logger = s.clientLog
	if s.client, err = esdb.NewClient(cfg); err != nil {
		return nil, fmt.Errorf("kurrentdb client: %w", err)
	}
	if err := s.Recover(ctx); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// clientLog passes the client library's messages to the store's logger. Its info messages
// (discovery attempts) and the drop of a subscription that its caller cancelled are routine,
// so they go out at debug level.
func (s *Store) clientLog(level esdb.LogLevel, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	switch {
	case level == esdb.LogError && !strings.Contains(msg, "context canceled"):
		s.log.Error("kurrentdb client: " + msg)
	case level == esdb.LogWarn:
		s.log.Warn("kurrentdb client: " + msg)
	default:
		s.log.Debug("kurrentdb client: " + msg)
	}
}

// Close closes the connection.
func (s *Store) Close() error { return s.client.Close() }

// metadata is the user metadata stored with each event.
type metadata struct {
	CausationID   uuid.UUID `json:"causationId,omitzero"`
	CorrelationID uuid.UUID `json:"correlationId,omitzero"`
	SchemaVersion int       `json:"schemaVersion"`
	// Redo holds the remaining parts of a multi-stream append, on the first event of its
	// first part.
	Redo []redoPart `json:"policykitRedo,omitempty"`
}

// redoPart is a part of a multi-stream append still to write after the commit point.
type redoPart struct {
	Stream string                 `json:"stream"`
	After  int64                  `json:"after"` // the stream's version the part expects
	Events []eventstore.EventData `json:"events"`
}

func toESDB(e eventstore.EventData, redo []redoPart) (esdb.EventData, error) {
	md, err := json.Marshal(metadata{CausationID: e.CausationID, CorrelationID: e.CorrelationID, SchemaVersion: e.SchemaVersion, Redo: redo})
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: md}, nil
}

// system reports whether an event is one of KurrentDB's own ($-typed: stream metadata,
// statistics, links), which the store's log does not include.
func system(ev *esdb.RecordedEvent) bool { return strings.HasPrefix(ev.EventType, "$") }

func fromESDB(ev *esdb.RecordedEvent) (eventstore.RecordedEvent, metadata) {
	var md metadata
	if len(ev.UserMetadata) > 0 {
		_ = json.Unmarshal(ev.UserMetadata, &md) // foreign events may carry other metadata
	}
	return eventstore.RecordedEvent{
		ID:             ev.EventID,
		Stream:         ev.StreamID,
		Version:        int64(ev.EventNumber) + 1,
		GlobalPosition: int64(ev.Position.Prepare),
		Position:       eventstore.Position{Commit: ev.Position.Commit, Seq: int64(ev.Position.Prepare)},
		Type:           ev.EventType,
		SchemaVersion:  md.SchemaVersion,
		Data:           json.RawMessage(slices.Clone(ev.Data)),
		RecordedAt:     ev.CreatedDate,
		CausationID:    md.CausationID,
		CorrelationID:  md.CorrelationID,
	}, md
}

// readRaw reads up to count events of stream from revision from; a missing stream is empty.
func (s *Store) readRaw(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, count uint64) ([]*esdb.RecordedEvent, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: dir, From: from}, count)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: read %s: %w", stream, err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if code(err) == esdb.ErrorCodeResourceNotFound {
				return nil, nil
			}
			return nil, fmt.Errorf("kurrentdb: read %s: %w", stream, err)
		}
		out = append(out, r.OriginalEvent())
	}
}

// locate tells where stream stands for an append of evs with expected: its current version,
// and the version the stream reached with evs when evs are already in it (0 otherwise). Ids
// of evs found in the stream other than as the whole batch in order are ErrIdempotency.
//
// When expected is an exact version that the stream is at, only the stream's last
// len(evs) events are compared (the retry of a write that succeeded); otherwise the whole
// stream is read, which happens on conflicts and with Any or StreamExists.
func (s *Store) locate(ctx context.Context, stream string, expected eventstore.ExpectedVersion, evs []eventstore.EventData) (cur, dup int64, err error) {
	tail, err := s.readRaw(ctx, stream, esdb.Backwards, esdb.End{}, uint64(len(evs)))
	if err != nil || len(tail) == 0 {
		return 0, 0, err
	}
	cur = int64(tail[0].EventNumber) + 1
	where := make(map[uuid.UUID]int64)
	if code := expected.Code(); code > 0 && expected.Check(cur) {
		for _, e := range tail {
			where[e.EventID] = int64(e.EventNumber) + 1
		}
	} else {
		for from := uint64(0); ; {
			page, err := s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(from), pageSize)
			if err != nil {
				return 0, 0, err
			}
			for _, e := range page {
				where[e.EventID] = int64(e.EventNumber) + 1
				cur = max(cur, int64(e.EventNumber)+1)
			}
			if len(page) < pageSize {
				break
			}
			from = page[len(page)-1].EventNumber + 1
		}
	}
	found := 0
	for _, e := range evs {
		if _, ok := where[e.ID]; ok {
			found++
		}
	}
	if found == 0 {
		return cur, 0, nil
	}
	first := where[evs[0].ID]
	for i, e := range evs {
		if v, ok := where[e.ID]; !ok || v != first+int64(i) {
			return 0, 0, fmt.Errorf("%w: stream %s already holds some of the batch's ids", eventstore.ErrIdempotency, stream)
		}
	}
	return cur, first + int64(len(evs)) - 1, nil
}

// write appends evs to stream at exactly version cur. wrong reports KurrentDB's
// WrongExpectedVersion; res.Duplicate reports KurrentDB's idempotent acknowledgement, which
// carries no log position.
func (s *Store) write(ctx context.Context, stream string, cur int64, evs []eventstore.EventData, redo []redoPart) (res eventstore.AppendResult, wrong bool, err error) {
	data := make([]esdb.EventData, len(evs))
	for i, e := range evs {
		var r []redoPart
		if i == 0 {
			r = redo
		}
		if data[i], err = toESDB(e, r); err != nil {
			return res, false, err
		}
	}
	var rev esdb.ExpectedRevision = esdb.NoStream{}
	if cur > 0 {
		rev = esdb.Revision(uint64(cur - 1))
	}
	w, err := s.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: rev}, data...)
	if err != nil {
		if code(err) == esdb.ErrorCodeWrongExpectedVersion {
			return res, true, nil
		}
		return res, false, fmt.Errorf("kurrentdb: append to %s: %w", stream, err)
	}
	if w.CommitPosition == 0 && w.PreparePosition == 0 {
		return eventstore.AppendResult{NextExpectedVersion: int64(w.NextExpectedVersion) + 1, Duplicate: true}, false, nil
	}
	return eventstore.AppendResult{NextExpectedVersion: cur + int64(len(evs))}, false, nil
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	evs, err := eventstore.PrepareAppend(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	for range maxAttempts {
		cur, dup, err := s.locate(ctx, stream, expected, evs)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if dup > 0 {
			return eventstore.AppendResult{NextExpectedVersion: dup, Duplicate: true}, nil
		}
		if !expected.Check(cur) {
			return eventstore.AppendResult{}, fmt.Errorf("%w: stream %s is at version %d, expected %s", eventstore.ErrConcurrency, stream, cur, expected)
		}
		res, wrong, err := s.write(ctx, stream, cur, evs, nil)
		if err != nil || !wrong {
			return res, err
		}
		// Another writer got there first: look again (it may have been a copy of this batch).
	}
	return eventstore.AppendResult{}, fmt.Errorf("%w: stream %s kept changing during %d attempts", eventstore.ErrConcurrency, stream, maxAttempts)
}

// AppendMulti implements eventstore.Store with the commit-point design of the package doc.
func (s *Store) AppendMulti(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if len(appends) == 0 {
		return nil, fmt.Errorf("%w: no streams to append to", eventstore.ErrInvalid)
	}
	evs := make([][]eventstore.EventData, len(appends))
	seen := make(map[string]bool, len(appends))
	for i, a := range appends {
		if seen[a.Stream] {
			return nil, fmt.Errorf("%w: stream %s appears twice", eventstore.ErrInvalid, a.Stream)
		}
		seen[a.Stream] = true
		var err error
		if evs[i], err = eventstore.PrepareAppend(a.Stream, a.Events); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(appends))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(appends[a].Stream, appends[b].Stream) })

	for range maxAttempts {
		results := make([]eventstore.AppendResult, len(appends))
		curs := make([]int64, len(appends))
		var todo []int
		for _, i := range order {
			a := appends[i]
			cur, dup, err := s.locate(ctx, a.Stream, a.Expected, evs[i])
			if err != nil {
				return nil, err
			}
			if dup > 0 {
				results[i] = eventstore.AppendResult{NextExpectedVersion: dup, Duplicate: true}
				continue
			}
			if !a.Expected.Check(cur) {
				return nil, fmt.Errorf("%w: stream %s is at version %d, expected %s", eventstore.ErrConcurrency, a.Stream, cur, a.Expected)
			}
			curs[i] = cur
			todo = append(todo, i)
		}
		if len(todo) == 0 {
			return results, nil
		}
		var redo []redoPart
		for _, i := range todo[1:] {
			redo = append(redo, redoPart{Stream: appends[i].Stream, After: curs[i], Events: evs[i]})
		}
		first := todo[0]
		res, wrong, err := s.write(ctx, appends[first].Stream, curs[first], evs[first], redo)
		if err != nil {
			return nil, err
		}
		if wrong {
			continue // nothing written: check every part again
		}
		results[first] = res
		for j, i := range todo[1:] {
			if err := s.rollForward(ctx, redo[j]); err != nil {
				return nil, err
			}
			results[i] = eventstore.AppendResult{NextExpectedVersion: curs[i] + int64(len(evs[i]))}
		}
		return results, nil
	}
	return nil, fmt.Errorf("%w: streams kept changing during %d attempts", eventstore.ErrConcurrency, maxAttempts)
}

// rollForward writes a part after a multi-stream append's commit point, at exactly the
// version it expects. It is idempotent: a part already written is left as it is.
func (s *Store) rollForward(ctx context.Context, p redoPart) error {
	_, wrong, err := s.write(ctx, p.Stream, p.After, p.Events, nil)
	if err != nil || !wrong {
		return err
	}
	at, err := s.readRaw(ctx, p.Stream, esdb.Forwards, esdb.Revision(uint64(p.After)), uint64(len(p.Events)))
	if err != nil {
		return err
	}
	if len(at) == len(p.Events) {
		same := true
		for i, e := range at {
			same = same && e.EventID == p.Events[i].ID
		}
		if same {
			return nil
		}
	}
	s.log.Error("multi-stream append left incomplete: another writer appended to a later stream first",
		"stream", p.Stream, "after_version", p.After, "events", len(p.Events))
	return fmt.Errorf("%w: stream %s moved past version %d", ErrIncomplete, p.Stream, p.After)
}

// Recover finishes the multi-stream appends among the latest events of the log whose later
// parts a crash kept from being written. It is idempotent and cheap when there is nothing to
// do: it reads the window of latest events once.
func (s *Store) Recover(ctx context.Context) error {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, uint64(s.recoveryWindow))
	if err != nil {
		return fmt.Errorf("kurrentdb: recover: %w", err)
	}
	var redo [][]redoPart
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rs.Close()
			return fmt.Errorf("kurrentdb: recover: %w", err)
		}
		ev := r.OriginalEvent()
		if system(ev) || len(ev.UserMetadata) == 0 || !strings.Contains(string(ev.UserMetadata), "policykitRedo") {
			continue
		}
		if _, md := fromESDB(ev); len(md.Redo) > 0 {
			redo = append(redo, md.Redo)
		}
	}
	rs.Close()
	var errs []error
	for i := len(redo) - 1; i >= 0; i-- { // oldest first
		for _, p := range redo[i] {
			if err := s.rollForward(ctx, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kurrentdb: recover: %w", err)
	}
	return nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", eventstore.ErrInvalid, limit)
	}
	var raw []*esdb.RecordedEvent
	var err error
	if dir == eventstore.Backward {
		var pos esdb.StreamPosition = esdb.End{}
		if from > 0 {
			pos = esdb.Revision(uint64(from - 1))
		}
		raw, err = s.readRaw(ctx, stream, esdb.Backwards, pos, uint64(limit))
	} else {
		raw, err = s.readRaw(ctx, stream, esdb.Forwards, esdb.Revision(uint64(max(from, 1)-1)), uint64(limit))
	}
	if err != nil {
		return nil, err
	}
	out := make([]eventstore.RecordedEvent, 0, len(raw))
	for _, e := range raw {
		rec, _ := fromESDB(e)
		out = append(out, rec)
	}
	return out, nil
}

func allPosition(p eventstore.Position) esdb.AllPosition {
	if p == eventstore.Start {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: uint64(p.Seq)}
}

// ReadAll implements eventstore.Store: KurrentDB's $all order, less its system events.
// Events are in $all once written, so nothing is held back.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", eventstore.ErrInvalid, limit)
	}
	var out []eventstore.RecordedEvent
	cursor := after
	for len(out) < limit {
		// Reading $all from a position includes the event at it, hence one more.
		want := uint64(limit-len(out)) + 1
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: allPosition(cursor)}, want)
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: read $all: %w", err)
		}
		n := uint64(0)
		for {
			r, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return nil, fmt.Errorf("kurrentdb: read $all: %w", err)
			}
			n++
			ev := r.OriginalEvent()
			rec, _ := fromESDB(ev)
			if !cursor.Less(rec.Position) {
				continue
			}
			cursor = rec.Position
			if !system(ev) && len(out) < limit {
				out = append(out, rec)
			}
		}
		rs.Close()
		if n < want {
			break // the end of the log
		}
	}
	return out, nil
}

// Subscribe implements eventstore.Store: it catches up by reading $all in pages, then follows
// a KurrentDB catch-up subscription from the last event it delivered, subscribing again
// from there if the server drops it.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	for {
		evs, err := s.ReadAll(ctx, after, pageSize)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		if err := handle(ctx, evs); err != nil {
			return err
		}
		after = evs[len(evs)-1].Position
	}
	delay := 10 * time.Millisecond
	for {
		err := s.follow(ctx, &after, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he handlerError
		if errors.As(err, &he) {
			return he.err
		}
		s.log.Warn("kurrentdb subscription dropped; subscribing again", "after", after.String(), "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

// follow runs one catch-up subscription from *after, advancing it as events are handled.
func (s *Store) follow(ctx context.Context, after *eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: allPosition(*after), Filter: esdb.ExcludeSystemEventsFilter()})
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		msg := sub.Recv()
		if msg.SubscriptionDropped != nil {
			return fmt.Errorf("kurrentdb: subscription dropped: %w", msg.SubscriptionDropped.Error)
		}
		if msg.EventAppeared == nil {
			continue
		}
		ev := msg.EventAppeared.OriginalEvent()
		rec, _ := fromESDB(ev)
		if !after.Less(rec.Position) || system(ev) {
			continue
		}
		if err := handle(ctx, []eventstore.RecordedEvent{rec}); err != nil {
			return handlerError{err}
		}
		*after = rec.Position
	}
}

// code is the client's error code of err (ErrorCodeUnknown for other errors).
func code(err error) esdb.ErrorCode {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return esdb.ErrorCodeUnknown
}

var _ eventstore.Store = (*Store)(nil)
