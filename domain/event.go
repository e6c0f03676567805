package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// Event is a fact of the domain. Every event is a value of one of the structs of the
// events_*.go files, with json tags and an explicit, stable type name (the Event* constants).
// Events carry what is needed to route them (Meta) and the time they happened, but not the
// envelope fields (event id, stream, version, position, causation and correlation ids), which
// belong to the store.
type Event interface {
	// EventType is the stored type name, e.g. "community.created".
	EventType() string
	// Meta returns the routing ids and the time of the event.
	Meta() EventMeta
}

// EventMeta routes an event: the community it belongs to and, where relevant, its proposal
// and action. At is when it happened (the `now` of the decision that produced it).
type EventMeta struct {
	CommunityID string
	ProposalID  string
	ActionID    string
	At          time.Time
}

// CommunityHeader starts every event of a community stream.
type CommunityHeader struct {
	CommunityID string `json:"community_id"`
	// ActionID is the constitution action whose execution made this change, if any.
	ActionID string    `json:"action_id,omitempty"`
	At       time.Time `json:"at"`
}

// Meta implements Event for the embedding event.
func (h CommunityHeader) Meta() EventMeta {
	return EventMeta{CommunityID: h.CommunityID, ActionID: h.ActionID, At: h.At}
}

// ProposalHeader starts every event of a proposal stream.
type ProposalHeader struct {
	CommunityID string    `json:"community_id"`
	ProposalID  string    `json:"proposal_id"`
	At          time.Time `json:"at"`
}

// Meta implements Event for the embedding event.
func (h ProposalHeader) Meta() EventMeta {
	return EventMeta{CommunityID: h.CommunityID, ProposalID: h.ProposalID, At: h.At}
}

// ActionHeader starts every event of an action stream.
type ActionHeader struct {
	CommunityID string    `json:"community_id"`
	ActionID    string    `json:"action_id"`
	At          time.Time `json:"at"`
}

// Meta implements Event for the embedding event.
func (h ActionHeader) Meta() EventMeta {
	return EventMeta{CommunityID: h.CommunityID, ActionID: h.ActionID, At: h.At}
}

// UnknownEvent is what Unmarshal returns for a type it does not know, or for a schema version
// newer than it knows: the event stays readable (and re-marshals unchanged) so that an older
// binary can read a newer log. Aggregates ignore it when applying.
type UnknownEvent struct {
	Type          string
	SchemaVersion int
	Data          json.RawMessage
}

// EventType returns the stored type name.
func (e *UnknownEvent) EventType() string { return e.Type }

// Meta reads the routing fields the data has under their usual names (community_id,
// proposal_id, action_id, at); missing or malformed fields stay empty.
func (e *UnknownEvent) Meta() EventMeta {
	var m struct {
		CommunityID string    `json:"community_id"`
		ProposalID  string    `json:"proposal_id"`
		ActionID    string    `json:"action_id"`
		At          time.Time `json:"at"`
	}
	_ = json.Unmarshal(e.Data, &m)
	return EventMeta{CommunityID: m.CommunityID, ProposalID: m.ProposalID, ActionID: m.ActionID, At: m.At}
}

// Upcaster maps the JSON of one event type at schema version v to version v+1.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// eventSpec is one entry of the registry: the type name, its current schema version, a
// decoder into the event's struct, and upcasters by the version they upcast from.
type eventSpec struct {
	typ       string
	version   int
	decode    func(data []byte) (Event, error)
	upcasters map[int]Upcaster
}

// entry describes event type T stored under typ at current schema version version.
func entry[T Event](typ string, version int) eventSpec {
	// Only values decoded into interfaces hold numbers, so a struct without interfaces decodes
	// the same with json.Unmarshal, which takes half the time of decodeJSON's Decoder (event
	// decoding is most of a replay's own work). A fault goes through decodeJSON again, for its
	// message.
	plain := !holdsInterface(reflect.TypeFor[T]())
	return eventSpec{
		typ:     typ,
		version: version,
		decode: func(data []byte) (Event, error) {
			var e T
			if plain {
				if json.Unmarshal(data, &e) == nil {
					return e, nil
				}
				e = *new(T)
			}
			if err := decodeJSON(data, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}

// withUpcaster adds the upcaster of the entry's type from schema version from to from+1.
// When an event's shape changes, raise its version in the registry and add the upcaster of
// the old version next to it.
func (s eventSpec) withUpcaster(from int, up Upcaster) eventSpec {
	m := make(map[int]Upcaster, len(s.upcasters)+1)
	for k, v := range s.upcasters {
		m[k] = v
	}
	m[from] = up
	s.upcasters = m
	return s
}

func buildRegistry(entries ...eventSpec) map[string]eventSpec {
	r := make(map[string]eventSpec, len(entries))
	for _, e := range entries {
		if _, dup := r[e.typ]; dup {
			panic("domain: event type registered twice: " + e.typ)
		}
		r[e.typ] = e
	}
	return r
}

// EventTypes lists every known event type name, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// SchemaVersion returns the current schema version of an event type, or 0 when unknown.
func SchemaVersion(typ string) int {
	if s, ok := registry[typ]; ok {
		return s.version
	}
	return 0
}

// Marshal encodes an event for the store: its type name, current schema version and JSON.
// An *UnknownEvent is passed through unchanged. An event whose type is not registered is an
// Invalid error.
func Marshal(e Event) (typ string, schemaVersion int, data []byte, err error) {
	if e == nil {
		return "", 0, nil, Invalid("marshal: nil event")
	}
	if u, ok := e.(*UnknownEvent); ok {
		return u.Type, u.SchemaVersion, append([]byte(nil), u.Data...), nil
	}
	typ = e.EventType()
	spec, ok := registry[typ]
	if !ok {
		return "", 0, nil, Invalid("marshal: event type %q is not registered", typ)
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("marshal %s: %w", typ, &Error{Code: CodeInvalid, Msg: err.Error()})
	}
	return typ, spec.version, data, nil
}

// Unmarshal decodes a stored event. It never panics:
//   - an unknown type, or a schema version newer than the registered one, gives an
//     *UnknownEvent and no error (forward compatibility);
//   - an older schema version is upcast step by step to the current one first (a version
//     <= 0 is read as 1); a missing upcaster is an Invalid error;
//   - malformed JSON for a known type is an error wrapping ErrInvalid.
//
// Known events are returned as values (e.g. domain.VoteCast, not *domain.VoteCast).
func Unmarshal(typ string, schemaVersion int, data []byte) (Event, error) {
	spec, ok := registry[typ]
	if !ok || schemaVersion > spec.version {
		return &UnknownEvent{Type: typ, SchemaVersion: schemaVersion, Data: append(json.RawMessage(nil), data...)}, nil
	}
	if schemaVersion <= 0 {
		schemaVersion = 1
	}
	raw := json.RawMessage(data)
	for v := schemaVersion; v < spec.version; v++ {
		up, ok := spec.upcasters[v]
		if !ok {
			return nil, Invalid("unmarshal %s: no upcaster from schema version %d", typ, v)
		}
		next, err := up(raw)
		if err != nil {
			return nil, fmt.Errorf("unmarshal %s: upcast from version %d: %w", typ, v, asInvalid(err))
		}
		raw = next
	}
	e, err := spec.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("unmarshal %s: %w", typ, &Error{Code: CodeInvalid, Msg: err.Error()})
	}
	return e, nil
}

// asInvalid keeps a domain error as it is and wraps anything else as Invalid.
func asInvalid(err error) error {
	if ErrorCode(err) != "" {
		return err
	}
	return &Error{Code: CodeInvalid, Msg: err.Error()}
}
