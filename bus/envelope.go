package bus

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

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

// AppendJSON appends the envelope's JSON to b: what json.Marshal writes, with Data as it is
// (the log holds it as valid JSON) instead of compacted. The forwarder encodes every event of
// the log this way; json.Marshal spent more on checking Data again than on the rest.
func (e EventEnvelope) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, e.ID.String()...)
	b = append(b, `","position":`...)
	b = appendJSONString(b, e.Position)
	b = append(b, `,"global_position":`...)
	b = strconv.AppendInt(b, e.GlobalPosition, 10)
	b = append(b, `,"stream":`...)
	b = appendJSONString(b, e.Stream)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, e.Version, 10)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"recorded_at":"`...)
	b = e.RecordedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.CausationID != nil {
		b = append(b, `,"causation_id":"`...)
		b = append(b, e.CausationID.String()...)
		b = append(b, '"')
	}
	if e.CorrelationID != nil {
		b = append(b, `,"correlation_id":"`...)
		b = append(b, e.CorrelationID.String()...)
		b = append(b, '"')
	}
	b = append(b, `,"data":`...)
	if len(e.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Data...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json escapes it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
