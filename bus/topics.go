package bus

import (
	"errors"
	"fmt"
	"regexp"
)

// Topics. These names are a contract with adapters running in other processes: docs/bus.md
// documents every topic, the messages on it and their payloads. Never rename one; add a new
// topic (or a new message type on a topic) instead.
const (
	// TopicEvents carries every event appended to the event store, one message per event, in
	// the JSON envelope of EventEnvelope. The message UUID is the event id.
	TopicEvents = "policykit.events"

	// TopicCommands is the prefix of the command topics: each command travels on its own
	// topic, CommandTopic(name), so that a handler subscribes to exactly the commands it
	// handles.
	TopicCommands = "policykit.commands"

	// TopicProposeAction carries ProposeAction commands (from platform adapters).
	TopicProposeAction = TopicCommands + ".propose_action"
	// TopicCastVote carries CastVote commands (from platform adapters).
	TopicCastVote = TopicCommands + ".cast_vote"
	// TopicRecordEffectResult carries RecordEffectResult commands: an adapter's report that
	// it performed (or failed to perform) an effect. TopicEffectResults is the same topic.
	TopicRecordEffectResult = TopicCommands + ".record_effect_result"

	// TopicEffects is the prefix of the per-platform effect topics, EffectsTopic(platform):
	// the engine publishes EffectRequested there and the platform's adapter performs it.
	TopicEffects = "policykit.effects"

	// TopicEffectResults is where adapters reply to effect requests. It is the
	// record_effect_result command topic: the reply is a command to the engine.
	TopicEffectResults = TopicRecordEffectResult

	// TopicPoison receives the messages a Router handler could not process after its retries
	// (see Config.Retry), with the reason in the reason_poisoned metadata.
	TopicPoison = "policykit.poison"
)

// CommandTopic returns the topic of the command with the given snake_case name, e.g.
// CommandTopic("cast_vote") == TopicCastVote.
func CommandTopic(name string) string { return TopicCommands + "." + name }

// EffectsTopic returns the topic on which the engine requests effects of platform (e.g.
// "slack" gives "policykit.effects.slack").
func EffectsTopic(platform string) string { return TopicEffects + "." + platform }

// Metadata keys set on bus messages. Metadata values are strings on every transport.
const (
	// MetadataCorrelationID is Watermill's correlation id key: the id of the conversation a
	// message belongs to (the first command or platform event that started it). Router
	// handlers copy it from the message they handle to the messages they produce.
	MetadataCorrelationID = "correlation_id"

	// MetadataCausationID is the id of the message (or event) that directly caused this one.
	// Router handlers set it on produced messages to the UUID of the handled message when the
	// handler has not set it.
	MetadataCausationID = "causation_id"

	// MetadataMessageType names the payload's type, e.g. "proposal.vote_cast" for an event or
	// "cast_vote" for a command, so that a consumer can skip types it does not know without
	// decoding the payload.
	MetadataMessageType = "message_type"
)

// ErrInvalidTopic is returned (wrapped) for a topic name that breaks the naming rule.
var ErrInvalidTopic = errors.New("invalid topic")

// topicRule: dot-separated segments of letters, digits, '_' and '-', each starting with a
// letter or a digit. This is the intersection of what every transport accepts: NATS subjects
// (dots separate tokens; no spaces or wildcards), AMQP exchange and queue names, and
// watermill-sql table names.
var topicRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)*$`)

// maxTopicLen bounds topic names, namespace included: AMQP names are at most 255 bytes, and a
// queue is named "<topic>_<group>" with a group of up to 64 bytes.
const maxTopicLen = 180

// ValidateTopic reports whether topic follows the naming rule of docs/bus.md.
func ValidateTopic(topic string) error {
	if len(topic) > maxTopicLen {
		return fmt.Errorf("%w: %q is longer than %d bytes", ErrInvalidTopic, topic, maxTopicLen)
	}
	if !topicRule.MatchString(topic) {
		return fmt.Errorf("%w: %q: want dot-separated segments of letters, digits, '_' and '-'", ErrInvalidTopic, topic)
	}
	return nil
}
