package bus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// natsMaxAckPending bounds the messages a group's durable consumer has out unacked; past it
// JetStream waits for acks. Kept well below what a subscriber can handle within AckTimeout.
const natsMaxAckPending = 256

// natsDuplicateWindow is how long JetStream remembers message UUIDs (Nats-Msg-Id) to drop a
// republished duplicate, e.g. from an outbox forwarder retrying after a lost ack.
const natsDuplicateWindow = 2 * time.Minute

// openNATS returns the JetStream transport. Each topic is a subject with a stream of its own
// (named after the topic with '.' replaced by '_', file storage, limits retention: messages are
// kept, not removed on ack, so that every group can read them). Each consumer group is a
// durable push consumer of that stream whose deliveries go to a queue group of the same name:
// the group's subscribers compete for messages, every group gets every message, and a group
// resumes where it stopped. The bus creates the streams and consumers itself and its
// subscribers bind to them, so that a subscriber closing never deletes its group's durable
// consumer. A nacked message comes again after RedeliveryDelay; one not acked within
// AckTimeout comes again too. Publishing is watermill-nats'; subscribing is natsSubscriber's.
func openNATS(ctx context.Context, cfg Config, logger watermill.LoggerAdapter) (*transport, error) {
	connect := func(role string) (*nats.Conn, error) {
		timeout := 5 * time.Second
		if d, ok := ctx.Deadline(); ok {
			timeout = max(min(timeout, time.Until(d)), time.Millisecond)
		}
		nc, err := nats.Connect(cfg.NATSURL,
			nats.Name("policykit-"+role),
			nats.Timeout(timeout),
			nats.MaxReconnects(-1), // keep reconnecting: the broker may restart under us
		)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", redact(cfg.NATSURL), err)
		}
		return nc, nil
	}

	pubConn, err := connect("publisher")
	if err != nil {
		return nil, err
	}
	js, err := pubConn.JetStream()
	if err != nil {
		pubConn.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	prov := &natsProvisioner{js: js, ackWait: cfg.AckTimeout}
	wpub, err := wmnats.NewPublisherWithNatsConn(pubConn, wmnats.PublisherPublishConfig{
		Marshaler:         &natsMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
	if err != nil {
		pubConn.Close()
		return nil, err
	}

	newSub := func(group string) (message.Subscriber, error) {
		nc, err := connect("subscriber-" + group)
		if err != nil {
			return nil, err
		}
		js, err := nc.JetStream()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		return &natsSubscriber{
			nc:           nc,
			js:           js,
			prov:         prov,
			group:        group,
			ackWait:      cfg.AckTimeout,
			nakDelay:     cfg.RedeliveryDelay,
			closeTimeout: cfg.CloseTimeout,
			log:          logger.With(watermill.LogFields{"consumer_group": group}),
			closing:      make(chan struct{}),
		}, nil
	}
	return &transport{
		pub:           &natsPublisher{Publisher: wpub, prov: prov},
		newSubscriber: newSub,
		close:         wpub.Close,
		// The server refuses a message (payload and headers) over its max_payload.
		maxPayload: max(int(pubConn.MaxPayload())-natsHeaderRoom, 0),
	}, nil
}

// natsHeaderRoom is what a message's headers (its UUID and metadata) may take of the server's
// max_payload.
const natsHeaderRoom = 16 << 10

var _ message.Publisher = (*natsPublisher)(nil)

// natsPublisher makes sure a topic's stream exists before publishing to it: JetStream refuses
// a subject no stream captures.
type natsPublisher struct {
	*wmnats.Publisher
	prov *natsProvisioner
}

func (p *natsPublisher) Publish(topic string, msgs ...*message.Message) error {
	if _, err := p.prov.ensureStream(topic); err != nil {
		return err
	}
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		// Perhaps the stream was deleted behind our back: look again next time.
		p.prov.streams.Delete(topic)
		return err
	}
	return nil
}

// natsProvisioner creates streams and durable consumers.
type natsProvisioner struct {
	js      nats.JetStreamContext
	ackWait time.Duration
	streams sync.Map // topic -> stream name, for streams known to exist
}

func natsStreamName(topic string) string { return strings.ReplaceAll(topic, ".", "_") }

// ensureStream returns the name of the topic's stream, creating the stream if needed.
func (p *natsProvisioner) ensureStream(topic string) (string, error) {
	if name, ok := p.streams.Load(topic); ok {
		return name.(string), nil
	}
	name := natsStreamName(topic)
	info, err := p.js.StreamInfo(name)
	if errors.Is(err, nats.ErrStreamNotFound) {
		// Creating a stream with the same configuration again is a no-op, so concurrent
		// creators agree.
		info, err = p.js.AddStream(&nats.StreamConfig{
			Name:       name,
			Subjects:   []string{topic},
			Storage:    nats.FileStorage,
			Retention:  nats.LimitsPolicy,
			Duplicates: natsDuplicateWindow,
		})
	}
	if err != nil {
		return "", fmt.Errorf("stream %s for topic %s: %w", name, topic, err)
	}
	if !slices.Contains(info.Config.Subjects, topic) {
		// "a.b" and "a_b" would share a stream name.
		return "", fmt.Errorf("stream %s exists for subjects %v, not for topic %s", name, info.Config.Subjects, topic)
	}
	p.streams.Store(topic, name)
	return name, nil
}

// ensureConsumer creates (or updates) the durable push consumer of group on topic's stream.
// Because the consumer exists before watermill-nats subscribes, nats.go binds to it and will
// not delete it when the subscription ends.
func (p *natsProvisioner) ensureConsumer(topic, group string) error {
	stream, err := p.ensureStream(topic)
	if err != nil {
		return err
	}
	cfg := &nats.ConsumerConfig{
		Durable:        group,
		DeliverSubject: "_policykit.deliver." + stream + "." + group,
		DeliverGroup:   group,
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        p.ackWait,
		MaxAckPending:  natsMaxAckPending,
		FilterSubject:  topic,
		ReplayPolicy:   nats.ReplayInstantPolicy,
	}
	if _, err := p.js.AddConsumer(stream, cfg); err != nil {
		// It exists with another configuration (say, another AckWait): update what can be.
		if _, uerr := p.js.UpdateConsumer(stream, cfg); uerr != nil {
			return fmt.Errorf("consumer %s on stream %s: %w", group, stream, errors.Join(err, uerr))
		}
	}
	return nil
}

// natsEncodedKeysHeader lists (comma-separated) the metadata keys whose values travel base64
// encoded, because NATS headers cannot carry them: nats.go writes headers the way net/http
// does, turning line breaks into spaces and trimming surrounding white space.
const natsEncodedKeysHeader = "Policykit-Base64-Metadata"

// natsMarshaler is watermill-nats' NATSMarshaler (payload as the body, UUID and metadata as
// headers) with metadata values that headers would alter sent base64 encoded, so that every
// value comes back exactly as it was sent. A reader in another language decodes the values of
// the keys listed in the Policykit-Base64-Metadata header.
type natsMarshaler struct{ inner wmnats.NATSMarshaler }

var _ wmnats.MarshalerUnmarshaler = (*natsMarshaler)(nil)

func (m *natsMarshaler) Marshal(topic string, msg *message.Message) (*nats.Msg, error) {
	nm, err := m.inner.Marshal(topic, msg)
	if err != nil {
		return nil, err
	}
	var encoded []string
	for k, v := range msg.Metadata {
		if textproto.TrimString(v) != v || strings.ContainsAny(v, "\r\n") {
			nm.Header.Set(k, base64.StdEncoding.EncodeToString([]byte(v)))
			encoded = append(encoded, k)
		}
	}
	if len(encoded) > 0 {
		slices.Sort(encoded)
		nm.Header.Set(natsEncodedKeysHeader, strings.Join(encoded, ","))
	}
	return nm, nil
}

func (m *natsMarshaler) Unmarshal(nm *nats.Msg) (*message.Message, error) {
	msg, err := m.inner.Unmarshal(nm)
	if err != nil {
		return nil, err
	}
	keys := msg.Metadata.Get(natsEncodedKeysHeader)
	delete(msg.Metadata, natsEncodedKeysHeader)
	if keys == "" {
		return msg, nil
	}
	for _, k := range strings.Split(keys, ",") {
		v, err := base64.StdEncoding.DecodeString(msg.Metadata.Get(k))
		if err != nil {
			return nil, fmt.Errorf("metadata %s: base64: %w", k, err)
		}
		msg.Metadata.Set(k, string(v))
	}
	return msg, nil
}
