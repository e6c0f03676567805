// Package engine loads aggregates from the event store, runs the evaluation loop on them and
// appends what it decides with optimistic concurrency. Commands that change a community
// (create it, apply a starter kit, import a policy) go through the same load-decide-append
// cycle.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

const readPage = 1000

// ReadStream returns every event of a stream in order (none for a missing stream).
func ReadStream(ctx context.Context, store eventstore.Store, stream string) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for from := int64(1); ; {
		evs, err := store.ReadStream(ctx, stream, eventstore.Forward, from, readPage)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		out = append(out, evs...)
		if len(evs) < readPage {
			return out, nil
		}
		from = evs[len(evs)-1].Version + 1
	}
}

// readStream folds every event of a stream through apply. A missing stream applies nothing.
func readStream(ctx context.Context, store eventstore.Store, stream string, apply func(domain.Event)) error {
	evs, err := ReadStream(ctx, store, stream)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return fmt.Errorf("read %s@%d: %w", stream, ev.Version, err)
		}
		apply(e)
	}
	return nil
}

// foldAfter folds the events of a stream after version through apply, in order: what a
// cached aggregate at that version has not seen yet. A gap in the versions read is an error.
func foldAfter(ctx context.Context, store eventstore.Store, stream string, version int64, apply func(domain.Event)) error {
	for {
		evs, err := store.ReadStream(ctx, stream, eventstore.Forward, version+1, readPage)
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		for _, ev := range evs {
			if ev.Version != version+1 {
				return fmt.Errorf("read %s: event %d follows version %d", stream, ev.Version, version)
			}
			e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil {
				return fmt.Errorf("read %s@%d: %w", stream, ev.Version, err)
			}
			apply(e)
			version = ev.Version
		}
		if len(evs) < readPage {
			return nil
		}
	}
}

// LoadCommunity folds a community's stream. A community that does not exist is NotFound.
func LoadCommunity(ctx context.Context, store eventstore.Store, id string) (*domain.Community, error) {
	c := &domain.Community{}
	if err := readStream(ctx, store, domain.CommunityStream(id), c.Apply); err != nil {
		return nil, err
	}
	if !c.Created() {
		return nil, domain.NotFound("community %q", id)
	}
	return c, nil
}

// LoadAction folds an action's stream (an empty record when it does not exist).
func LoadAction(ctx context.Context, store eventstore.Store, id string) (*domain.ActionRecord, error) {
	r := &domain.ActionRecord{}
	return r, readStream(ctx, store, domain.ActionStream(id), r.Apply)
}

// LoadProposal folds a proposal's stream. A proposal that was never opened is NotFound.
func LoadProposal(ctx context.Context, store eventstore.Store, id string) (*domain.Proposal, error) {
	p := &domain.Proposal{}
	if err := readStream(ctx, store, domain.ProposalStream(id), p.Apply); err != nil {
		return nil, err
	}
	if !p.Opened() {
		return nil, domain.NotFound("proposal %q", id)
	}
	return p, nil
}

// Meta ties appended events to what caused them.
type Meta struct {
	// CausationID is the id of the message or event that caused the append. With it, event
	// ids are derived (from it, the stream and the version), so that retrying the same
	// decision after a crash appends nothing twice.
	CausationID   uuid.UUID
	CorrelationID uuid.UUID
}

// Append encodes events and appends them to stream at the expected version (0: a new
// stream). A conflict is returned as eventstore.ErrConcurrency for the caller to retry.
func Append(ctx context.Context, store eventstore.Store, stream string, expected int64, events []domain.Event, meta Meta) error {
	if len(events) == 0 {
		return nil
	}
	data, err := encode(stream, expected, events, meta)
	if err != nil {
		return err
	}
	if _, err := store.Append(ctx, stream, eventstore.Exact(expected), data); err != nil {
		return fmt.Errorf("append %s: %w", stream, err)
	}
	return nil
}

// encode turns domain events into store events with derived ids (see Meta).
func encode(stream string, expected int64, events []domain.Event, meta Meta) ([]eventstore.EventData, error) {
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, v, raw, err := domain.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		id := uuid.New()
		if meta.CausationID != uuid.Nil {
			id = derivedEventID(meta.CausationID, stream, expected+int64(i)+1)
		}
		data[i] = eventstore.EventData{
			ID: id, Type: typ, SchemaVersion: v, Data: raw,
			CausationID: meta.CausationID, CorrelationID: meta.CorrelationID,
		}
	}
	return data, nil
}

// derivedEventID names the event at stream@version caused by cause (a name-based UUID with
// the cause as namespace).
func derivedEventID(cause uuid.UUID, stream string, version int64) uuid.UUID {
	return uuid.NewSHA1(cause, []byte(stream+"@"+strconv.FormatInt(version, 10)))
}

// maxAttempts bounds how often a command is decided again after losing a version race.
const maxAttempts = 10

// UpdateCommunity loads a community, decides with it and appends the result, again from a
// fresh load when another writer got there first. decide may be called several times. A
// decide that takes several steps may apply its events to c as it goes (each step must see
// the last); one that does not leaves c alone and UpdateCommunity applies them.
func UpdateCommunity(ctx context.Context, store eventstore.Store, id string, meta Meta, decide func(c *domain.Community) ([]domain.Event, error)) (*domain.Community, error) {
	var last error
	for range maxAttempts {
		c := &domain.Community{}
		if err := readStream(ctx, store, domain.CommunityStream(id), c.Apply); err != nil {
			return nil, err
		}
		expected := c.Version
		evs, err := decide(c)
		if err != nil {
			return nil, err
		}
		err = Append(ctx, store, domain.CommunityStream(id), expected, evs, meta)
		if err == nil {
			if c.Version == expected { // decide did not apply its events itself
				for _, e := range evs {
					c.Apply(e)
				}
			}
			return c, nil
		}
		if !errors.Is(err, eventstore.ErrConcurrency) {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("community %s: gave up after %d version conflicts: %w", id, maxAttempts, last)
}
