package kurrent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/eventstore"
)

// prefixed shows a shared store as if it held only the streams named with prefix, which
// are shown without it: the contract suite expects an empty store, and a real server keeps
// what earlier subtests wrote.
type prefixed struct {
	s      eventstore.Store
	prefix string
}

func newPrefixed(_ *testing.T, s eventstore.Store, prefix string) *prefixed {
	return &prefixed{s: s, prefix: prefix}
}

func (p *prefixed) mine(evs []eventstore.RecordedEvent) []eventstore.RecordedEvent {
	var out []eventstore.RecordedEvent
	for _, e := range evs {
		if name, ok := strings.CutPrefix(e.Stream, p.prefix); ok {
			e.Stream = name
			out = append(out, e)
		}
	}
	return out
}

func (p *prefixed) AppendMulti(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	renamed := make([]eventstore.StreamAppend, len(appends))
	for i, a := range appends {
		a.Stream = p.name(a.Stream)
		renamed[i] = a
	}
	return p.s.AppendMulti(ctx, renamed)
}

// name prefixes a stream name; the empty name stays empty so that it is still refused.
func (p *prefixed) name(stream string) string {
	if stream == "" {
		return ""
	}
	return p.prefix + stream
}

func (p *prefixed) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.EventData) (eventstore.AppendResult, error) {
	return p.s.Append(ctx, p.name(stream), expected, events)
}

func (p *prefixed) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, limit int) ([]eventstore.RecordedEvent, error) {
	evs, err := p.s.ReadStream(ctx, p.name(stream), dir, from, limit)
	return p.mine(evs), err
}

func (p *prefixed) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	if limit <= 0 {
		return p.s.ReadAll(ctx, after, limit)
	}
	var out []eventstore.RecordedEvent
	for len(out) < limit {
		page, err := p.s.ReadAll(ctx, after, 1000)
		if err != nil || len(page) == 0 {
			return out, err
		}
		after = page[len(page)-1].Position
		out = append(out, p.mine(page)...)
	}
	return out[:limit], nil
}

func (p *prefixed) Subscribe(ctx context.Context, after eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	return p.s.Subscribe(ctx, after, func(ctx context.Context, evs []eventstore.RecordedEvent) error {
		if mine := p.mine(evs); len(mine) > 0 {
			return handle(ctx, mine)
		}
		return nil
	})
}
