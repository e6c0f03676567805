// Package bus is PolicyKit's message bus: Watermill publishers, subscribers and routers over
// one of four transports chosen by configuration (POLICYKIT_BUS): the in-process GoChannel
// (the embedded default), Postgres (watermill-sql), NATS JetStream (watermill-nats publishes,
// natsSubscriber reads) and RabbitMQ (watermill-amqp).
//
// Every transport gives the same contract, checked by the suite in bus/bustest: messages keep
// their UUID, payload and metadata; delivery is at least once (a nacked or unacked message
// comes again, so handlers must be idempotent); subscribers in one consumer group compete for
// a topic's messages and every group gets every message; on the durable transports a group
// gets the messages published while it was away. GoChannel is the exception where noted: it is
// in-process only, keeps nothing, and has no consumer groups.
//
// Topics, message types, payloads and metadata keys are a contract with adapters in other
// processes; they are documented in docs/bus.md and named in topics.go.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Bus is an open connection to the configured transport. Its methods are safe for concurrent
// use. The Bus owns everything it hands out: Close releases them, and closing them yourself
// (as a Router does with its handlers' publishers and subscribers when it stops) does nothing.
type Bus struct {
	cfg     Config
	log     *slog.Logger
	wmLog   watermill.LoggerAdapter
	tr      *transport
	pub     message.Publisher
	sub     message.Subscriber
	gate    gate       // publish and subscribe fail once it is closed
	mu      sync.Mutex // guards closing and the owned lists
	closing bool
	// owned, closed by Close in this order: routers, subscribers, then the transport.
	routers []*message.Router
	subs    []message.Subscriber
	// maxBytes is MaxMessageBytes.
	maxBytes int
	// tracing is nil unless Config.Tracing is set.
	tracing *tracing
}

// transport is what each backend provides to the Bus.
type transport struct {
	// pub publishes physical (namespaced) topics.
	pub message.Publisher
	// newSubscriber returns a subscriber in a consumer group.
	newSubscriber func(group string) (message.Subscriber, error)
	// close releases the publisher and whatever else the transport holds; it runs after
	// every subscriber is closed.
	close func() error
	// maxPayload is the largest payload the transport carries (0: no bound of its own).
	maxPayload int
}

// Open connects to the transport cfg names (after filling its zero fields with defaults and
// validating it) and returns a Bus whose Subscriber is in cfg.ConsumerGroup. It also
// provisions the poison topic for that group, so that poisoned messages are kept on the
// durable transports until someone reads them. A nil logger discards logs.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Bus, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("transport", cfg.Transport)
	// Watermill reports routine lifecycle steps at info; they are debug detail for us.
	wmLog := newLevelledLogger(logger, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})

	var (
		tr  *transport
		err error
	)
	switch cfg.Transport {
	case TransportGoChannel:
		tr = openGoChannel(wmLog)
	case TransportPostgres:
		tr, err = openPostgres(cfg, wmLog)
	case TransportNATS:
		tr, err = openNATS(ctx, cfg, wmLog)
	case TransportAMQP:
		tr, err = openAMQP(cfg, wmLog)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s bus: %w", cfg.Transport, err)
	}

	b := &Bus{cfg: cfg, log: logger, wmLog: wmLog, tr: tr, tracing: newTracing(cfg.Tracing)}
	b.maxBytes = cfg.MaxMessageBytes
	if tr.maxPayload > 0 && tr.maxPayload < b.maxBytes {
		b.maxBytes = tr.maxPayload
	}
	b.pub = namespacedPublisher{ns: cfg.Namespace, pub: tr.pub, gate: &b.gate, maxBytes: b.maxBytes, tracing: b.tracing}
	b.sub, err = b.NewSubscriber(cfg.ConsumerGroup)
	if err == nil {
		err = b.Initialize(TopicPoison)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open %s bus: %w", cfg.Transport, err), b.Close())
	}
	return b, nil
}

// MaxMessageBytes is the largest payload Publisher sends: Config.MaxMessageBytes, or less
// when the transport's own bound is lower (NATS: the server's max_payload, less room for
// headers). A larger message is refused with ErrTooLarge.
func (b *Bus) MaxMessageBytes() int { return b.maxBytes }

// Config returns the configuration the bus runs with (defaults filled in).
func (b *Bus) Config() Config { return b.cfg }

// Transport returns the transport's name (one of the Transport* constants).
func (b *Bus) Transport() string { return b.cfg.Transport }

// Publisher publishes to logical topics (the namespace is added on the wire). Publish returns
// once the transport has the message: stored in Postgres, acknowledged by JetStream, confirmed
// by RabbitMQ, or handed to the in-process subscribers.
func (b *Bus) Publisher() message.Publisher { return b.pub }

// Subscriber subscribes in the bus's consumer group (Config.ConsumerGroup).
func (b *Bus) Subscriber() message.Subscriber { return b.sub }

// NewSubscriber returns a subscriber in another consumer group: use it when one process hosts
// several independent consumers of a topic (e.g. the engine and a projector), each of which must
// see every message. On GoChannel every subscriber already sees every message and the group is
// ignored. The Bus closes it.
func (b *Bus) NewSubscriber(group string) (message.Subscriber, error) {
	if !groupRule.MatchString(group) {
		return nil, fmt.Errorf("consumer group %q: want 1 to 64 letters, digits, '_' or '-'", group)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, ErrClosed
	}
	raw, err := b.tr.newSubscriber(group)
	if err != nil {
		return nil, fmt.Errorf("subscriber for group %s: %w", group, err)
	}
	b.subs = append(b.subs, raw)
	return namespacedSubscriber{ns: b.cfg.Namespace, sub: raw, gate: &b.gate}, nil
}

// Initialize provisions topics for the bus's consumer group without consuming: the NATS
// stream and durable consumer, the RabbitMQ exchange, queue and binding, the Postgres tables.
// From then on the group keeps the topics' messages even before it first subscribes. That
// matters on RabbitMQ, where a message published before a group's queue exists never reaches
// that group. It does nothing on GoChannel.
func (b *Bus) Initialize(topics ...string) error {
	init, ok := b.sub.(message.SubscribeInitializer)
	if !ok {
		return nil
	}
	for _, t := range topics {
		if err := init.SubscribeInitialize(t); err != nil {
			return fmt.Errorf("initialize %s: %w", t, err)
		}
	}
	return nil
}

// ErrClosed is returned by a Bus that has been closed.
var ErrClosed = errors.New("bus closed")

// ErrTooLarge: a message is larger than the transport carries (Bus.MaxMessageBytes). Sending
// it again will not help: it is refused before anything is sent.
var ErrTooLarge = errors.New("message too large for the bus")

// Close stops every Router made by NewRouter (waiting up to Config.CloseTimeout for running
// handlers), closes every subscriber (their channels close; unacked messages will be
// delivered again), then the publisher and the connections. It is idempotent; a Postgres pool
// given in Config stays open.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil
	}
	b.closing = true
	routers, subs := b.routers, b.subs
	b.mu.Unlock()

	var errs []error
	// Routers first, while handlers can still publish what they produce.
	for _, r := range routers {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close router: %w", err))
		}
	}
	b.gate.close() // waits for publishes and subscribes under way
	for _, s := range subs {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close subscriber: %w", err))
		}
	}
	if err := b.tr.close(); err != nil {
		errs = append(errs, fmt.Errorf("close %s transport: %w", b.cfg.Transport, err))
	}
	return errors.Join(errs...)
}
