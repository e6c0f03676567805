package eventstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// PrepareAppend checks an append request against the rules every backend enforces and returns
// the events to write. Backends call it before touching storage, so a request it rejects
// writes nothing.
//
// The rules, each failing with an error that wraps ErrInvalid:
//   - stream is non-empty valid UTF-8 without NUL bytes;
//   - events is non-empty;
//   - every Type is non-empty valid UTF-8 without NUL bytes;
//   - every SchemaVersion is >= 0;
//   - every Data is valid UTF-8 JSON whose strings contain no NUL character (\u0000), which
//     is what Postgres jsonb can store;
//   - no event ID appears twice in the batch.
//
// The returned slice is a copy of events in which every uuid.Nil ID is replaced by a fresh
// random UUID. Such an event has no stable idempotency key: retrying the same request appends
// it again. events itself is not modified.
func PrepareAppend(stream string, events []EventData) ([]EventData, error) {
	if err := checkName("stream name", stream); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: no events to append", ErrInvalid)
	}
	out := make([]EventData, len(events))
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		if err := checkName("event type", e.Type); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if e.SchemaVersion < 0 {
			return nil, fmt.Errorf("%w: event %d: negative schema version %d", ErrInvalid, i, e.SchemaVersion)
		}
		if err := checkJSON(e.Data); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if e.ID == uuid.Nil {
			e.ID = uuid.New()
		}
		if _, dup := seen[e.ID]; dup {
			return nil, fmt.Errorf("%w: event %d: id %s appears twice in the batch", ErrInvalid, i, e.ID)
		}
		seen[e.ID] = struct{}{}
		out[i] = e
	}
	return out, nil
}

func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrInvalid, what, s)
	}
	return nil
}

const nulEscape = `\u0000`

func checkJSON(data json.RawMessage) error {
	if !json.Valid(data) || !utf8.Valid(data) {
		return fmt.Errorf("%w: data is not valid JSON", ErrInvalid)
	}
	if !bytes.Contains(data, []byte(nulEscape)) {
		return nil
	}
	// Rare case: look at the decoded strings, since `\\u0000` is an escaped backslash.
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: data is not valid JSON: %v", ErrInvalid, err)
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: data contains a NUL character", ErrInvalid)
		}
	}
}

// PrepareAppendMulti validates a multi-stream append: at least one part, distinct streams,
// each part valid for PrepareAppend, and no event id used twice across parts. It returns the
// parts with their events prepared.
func PrepareAppendMulti(appends []StreamAppend) ([]StreamAppend, error) {
	if len(appends) == 0 {
		return nil, fmt.Errorf("%w: no streams to append to", ErrInvalid)
	}
	out := make([]StreamAppend, len(appends))
	streams := make(map[string]bool, len(appends))
	ids := map[[16]byte]bool{}
	for i, a := range appends {
		if streams[a.Stream] {
			return nil, fmt.Errorf("%w: stream %q appears twice in one multi-stream append", ErrInvalid, a.Stream)
		}
		streams[a.Stream] = true
		evs, err := PrepareAppend(a.Stream, a.Events)
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", a.Stream, err)
		}
		for _, e := range evs {
			if ids[e.ID] {
				return nil, fmt.Errorf("%w: event id %s used twice in one multi-stream append", ErrInvalid, e.ID)
			}
			ids[e.ID] = true
		}
		out[i] = StreamAppend{Stream: a.Stream, Expected: a.Expected, Events: evs}
	}
	return out, nil
}
