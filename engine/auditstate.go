package engine

import (
	"container/list"
	"context"
	"fmt"
	"iter"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// streamCache keeps the decoded events of the most recently used community, action and
// proposal streams, up to max streams, for the auditor to fold the state before a
// decision. Events are added in log order as the auditor reads them (apply); a stream it
// no longer keeps is read again from the store when a decision needs it, up to the
// decision. So memory is bounded by max streams, not by the log, and a stream's state is
// built from the same events whether it was kept or read again.
type streamCache struct {
	store   eventstore.Store // nil: a stream that is not kept is empty
	max     int
	recent  *list.List // of *cachedStream, most recently used first
	streams map[string]*list.Element
}

type cachedStream struct {
	stream string
	events []domain.Event
}

func newStreamCache(store eventstore.Store, max int) *streamCache {
	return &streamCache{store: store, max: max, recent: list.New(), streams: map[string]*list.Element{}}
}

// apply adds an event read from the log to its stream, when the stream is kept or starts
// with it. An event of a stream that was dropped is left out: the stream is read again
// when needed.
func (c *streamCache) apply(ev eventstore.RecordedEvent) {
	switch domain.StreamCategory(ev.Stream) {
	case domain.CategoryCommunity, domain.CategoryAction, domain.CategoryProposal:
	default:
		return
	}
	if el, ok := c.streams[ev.Stream]; ok {
		cs := el.Value.(*cachedStream)
		cs.events = append(cs.events, decodeForFold(ev))
		c.recent.MoveToFront(el)
		return
	}
	if ev.Version == 1 {
		c.keep(ev.Stream, []domain.Event{decodeForFold(ev)})
	}
}

func (c *streamCache) keep(stream string, evs []domain.Event) {
	c.streams[stream] = c.recent.PushFront(&cachedStream{stream: stream, events: evs})
	for c.recent.Len() > c.max {
		last := c.recent.Back()
		c.recent.Remove(last)
		delete(c.streams, last.Value.(*cachedStream).stream)
	}
}

// before returns the events of stream that precede decision d in the log. Every event
// before d has been applied, and none of d's, so a kept stream is already right; a stream
// that d starts is empty; any other is read from the store up to d's first event.
func (c *streamCache) before(ctx context.Context, stream string, d Decision) ([]domain.Event, error) {
	if el, ok := c.streams[stream]; ok {
		c.recent.MoveToFront(el)
		return el.Value.(*cachedStream).events, nil
	}
	for _, ev := range d.Events {
		if ev.Stream == stream && ev.Version == 1 {
			return nil, nil
		}
	}
	if c.store == nil {
		return nil, nil
	}
	first := d.Events[0].Position
	var evs []domain.Event
	for ev, err := range streamEvents(ctx, c.store, stream) {
		if err != nil {
			return nil, err
		}
		if !ev.Position.Less(first) {
			break
		}
		evs = append(evs, decodeForFold(ev))
	}
	c.keep(stream, evs)
	return evs, nil
}

// decodeForFold decodes an event to fold it; one this build cannot read folds as unknown.
func decodeForFold(ev eventstore.RecordedEvent) domain.Event {
	e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		return &domain.UnknownEvent{Type: ev.Type, SchemaVersion: ev.SchemaVersion, Data: ev.Data}
	}
	return e
}

// stateBefore builds the aggregates as they stood just before a decision.
type stateBefore struct {
	cache *streamCache
	d     Decision
}

func (s stateBefore) community(ctx context.Context, id string) (*domain.Community, error) {
	evs, err := s.cache.before(ctx, domain.CommunityStream(id), s.d)
	return domain.NewCommunityFromEvents(evs), err
}

func (s stateBefore) action(ctx context.Context, id string) (*domain.ActionRecord, error) {
	evs, err := s.cache.before(ctx, domain.ActionStream(id), s.d)
	return domain.NewActionRecordFromEvents(evs), err
}

func (s stateBefore) proposal(ctx context.Context, id string) (*domain.Proposal, error) {
	evs, err := s.cache.before(ctx, domain.ProposalStream(id), s.d)
	return domain.NewProposalFromEvents(evs), err
}

// streamEvents yields the events of a stream in order, reading a page at a time. A read
// error is yielded once, with a zero event, and ends the sequence.
func streamEvents(ctx context.Context, store eventstore.Store, stream string) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		for from := int64(1); ; {
			evs, err := store.ReadStream(ctx, stream, eventstore.Forward, from, readPage)
			if err != nil {
				yield(eventstore.RecordedEvent{}, fmt.Errorf("read %s: %w", stream, err))
				return
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			if len(evs) < readPage {
				return
			}
			from = evs[len(evs)-1].Version + 1
		}
	}
}

// MergeStreams yields the events of some streams in log order (by Position), as the
// global log would show them with every other stream's events left out. It reads the
// streams (ReadStream), a page of each at a time, never the global log. A read error is
// yielded once, with a zero event, and ends the sequence.
//
// The streams are read as committed: where the log holds events back until older
// transactions end (see eventstore.HeldReader), a stream may already show an event that
// the log does not yet.
func MergeStreams(ctx context.Context, store eventstore.Store, streams ...string) iter.Seq2[eventstore.RecordedEvent, error] {
	return func(yield func(eventstore.RecordedEvent, error) bool) {
		type cursor struct {
			stream string
			buf    []eventstore.RecordedEvent
			next   int64
			done   bool
		}
		var cs []*cursor
		seen := map[string]bool{}
		for _, s := range streams {
			if !seen[s] {
				seen[s] = true
				cs = append(cs, &cursor{stream: s, next: 1})
			}
		}
		fill := func(c *cursor) error {
			if len(c.buf) > 0 || c.done {
				return nil
			}
			evs, err := store.ReadStream(ctx, c.stream, eventstore.Forward, c.next, readPage)
			if err != nil {
				return fmt.Errorf("read %s: %w", c.stream, err)
			}
			c.done = len(evs) < readPage
			if len(evs) > 0 {
				c.next = evs[len(evs)-1].Version + 1
			}
			c.buf = evs
			return nil
		}
		for {
			var first *cursor
			for _, c := range cs {
				if err := fill(c); err != nil {
					yield(eventstore.RecordedEvent{}, err)
					return
				}
				if len(c.buf) > 0 && (first == nil || c.buf[0].Position.Less(first.buf[0].Position)) {
					first = c
				}
			}
			if first == nil {
				return
			}
			ev := first.buf[0]
			first.buf = first.buf[1:]
			if !yield(ev, nil) {
				return
			}
		}
	}
}
