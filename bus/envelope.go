package bus

import (
	"encoding/json"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/eventstore"
)

// EventEnvelope is the JSON payload of every message on TopicEvents: one stored event with
// every envelope field, in the same shape as a line of `policykit events export`. The message
// UUID equals ID, and the message metadata repeats Type (message_type), CorrelationID and
// CausationID so that consumers can route and skip without decoding.
//
// Consumers must accept unknown fields and unknown types (forward compatibility), and must be
// idempotent by ID: delivery is at least once.
type EventEnvelope struct {
	ID             uuid.UUID       `json:"id"`
	Position       string          `json:"position"`        // "commit:seq", the log order
	GlobalPosition int64           `json:"global_position"` // unique, increasing in append order
	Stream         string          `json:"stream"`          // e.g. "proposal-<id>"
	Version        int64           `json:"version"`         // 1-based position in the stream
	Type           string          `json:"type"`            // e.g. "proposal.vote_cast"
	SchemaVersion  int             `json:"schema_version"`  // version of Data's shape for Type
	RecordedAt     time.Time       `json:"recorded_at"`     // RFC 3339, UTC
	CausationID    *uuid.UUID      `json:"causation_id,omitempty"`
	CorrelationID  *uuid.UUID      `json:"correlation_id,omitempty"`
	Data           json.RawMessage `json:"data"` // the event's own JSON
}

// NewMessage returns a message with the given UUID (use the command or event id, so that a
// redelivered message can be recognised) and payload, its message_type metadata set.
func NewMessage(id, messageType string, payload []byte) *message.Message {
	msg := message.NewMessage(id, payload)
	if messageType != "" {
		msg.Metadata.Set(MetadataMessageType, messageType)
	}
	return msg
}

// MessageType returns the message_type metadata of msg ("" when unset).
func MessageType(msg *message.Message) string { return msg.Metadata.Get(MetadataMessageType) }

// CausationID returns the causation_id metadata of msg ("" when unset).
func CausationID(msg *message.Message) string { return msg.Metadata.Get(MetadataCausationID) }

// CorrelationID returns the correlation_id metadata of msg ("" when unset).
func CorrelationID(msg *message.Message) string { return msg.Metadata.Get(MetadataCorrelationID) }

// EnvelopeOf is the envelope of a stored event.
func EnvelopeOf(ev eventstore.RecordedEvent) EventEnvelope {
	env := EventEnvelope{
		ID: ev.ID, Position: ev.Position.String(), GlobalPosition: ev.GlobalPosition, Stream: ev.Stream,
		Version: ev.Version, Type: ev.Type, SchemaVersion: ev.SchemaVersion, RecordedAt: ev.RecordedAt.UTC(), Data: ev.Data,
	}
	if ev.CausationID != uuid.Nil {
		c := ev.CausationID
		env.CausationID = &c
	}
	if ev.CorrelationID != uuid.Nil {
		c := ev.CorrelationID
		env.CorrelationID = &c
	}
	return env
}

// MarshalCompactless is json.Marshal's encoding of the envelope, but for Data, which it
// writes as it is (the log holds it as valid JSON) instead of compacting it. The forwarder
// encodes every event of the log this way; json.Marshal spent more on checking Data again
// than on the rest.
func (e EventEnvelope) MarshalCompactless() ([]byte, error) {
	data := e.Data
	e.Data = nil
	b, err := json.Marshal(e) // Data is the last field: it ends in "data":null}
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-len("null}")]
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b = append(b, data...)
	return append(b, '}'), nil
}
