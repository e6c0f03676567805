package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

var (
	_ message.Publisher            = namespacedPublisher{}
	_ message.Subscriber           = namespacedSubscriber{}
	_ message.SubscribeInitializer = namespacedSubscriber{}
)

// wireTopic checks a logical topic and returns its name on the wire: "<ns>.<topic>", or the
// topic itself without a namespace.
func wireTopic(ns, topic string) (string, error) {
	if err := ValidateTopic(topic); err != nil {
		return "", err
	}
	if ns == "" {
		return topic, nil
	}
	t := ns + "." + topic
	if err := ValidateTopic(t); err != nil {
		return "", fmt.Errorf("with namespace %s: %w", ns, err)
	}
	return t, nil
}

// gate lets publishes and subscribes run concurrently until the Bus closes it; closing waits
// for those under way, so that no transport sees a call racing its Close.
type gate struct {
	mu     sync.RWMutex
	closed bool
}

// enter reports whether the gate is open; if so the caller must call leave.
func (g *gate) enter() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

func (g *gate) leave() { g.mu.RUnlock() }

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// namespacedPublisher validates topics and adds the namespace. Close does nothing: the Bus
// owns the transport's publisher.
type namespacedPublisher struct {
	ns   string
	pub  message.Publisher
	gate *gate
	// maxBytes bounds a message's payload (0: no bound); see Bus.MaxMessageBytes.
	maxBytes int
	// tracing, when not nil, writes each message's trace context into its metadata.
	tracing *tracing
}

func (p namespacedPublisher) Publish(topic string, msgs ...*message.Message) error {
	t, err := wireTopic(p.ns, topic)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := checkMessage(m); err != nil {
			return err
		}
		if p.maxBytes > 0 && len(m.Payload) > p.maxBytes {
			return fmt.Errorf("message %s to %s: %d bytes, over the bus's %d: %w", m.UUID, topic, len(m.Payload), p.maxBytes, ErrTooLarge)
		}
		p.tracing.inject(m)
	}
	if !p.gate.enter() {
		return ErrClosed
	}
	defer p.gate.leave()
	if err := p.pub.Publish(t, msgs...); err != nil {
		return fmt.Errorf("publish to %s: %w", t, err)
	}
	return nil
}

func (p namespacedPublisher) Close() error { return nil }

// maxUUIDLen is the longest message UUID every transport keeps (watermill-sql stores it in a
// VARCHAR(36) column).
const maxUUIDLen = 36

// ErrInvalidMessage is returned (wrapped) for a message the bus will not publish.
var ErrInvalidMessage = errors.New("invalid message")

func checkMessage(m *message.Message) error {
	switch {
	case m == nil:
		return fmt.Errorf("%w: nil", ErrInvalidMessage)
	case m.UUID == "" || len(m.UUID) > maxUUIDLen:
		return fmt.Errorf("%w: UUID %q: want 1 to %d bytes (a UUID)", ErrInvalidMessage, m.UUID, maxUUIDLen)
	}
	return nil
}

// namespacedSubscriber validates topics and adds the namespace. Close does nothing: the Bus
// owns the transport's subscriber, and a subscription ends when its context is cancelled (a
// Router cancels it when it stops) or when the Bus closes.
type namespacedSubscriber struct {
	ns   string
	sub  message.Subscriber
	gate *gate
}

func (s namespacedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	t, err := wireTopic(s.ns, topic)
	if err != nil {
		return nil, err
	}
	if !s.gate.enter() {
		return nil, ErrClosed
	}
	defer s.gate.leave()
	ch, err := s.sub.Subscribe(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", t, err)
	}
	return ch, nil
}

// SubscribeInitialize provisions the topic for the subscriber's group where the transport
// supports it (message.SubscribeInitializer).
func (s namespacedSubscriber) SubscribeInitialize(topic string) error {
	t, err := wireTopic(s.ns, topic)
	if err != nil {
		return err
	}
	if !s.gate.enter() {
		return ErrClosed
	}
	defer s.gate.leave()
	init, ok := s.sub.(message.SubscribeInitializer)
	if !ok {
		return nil
	}
	return init.SubscribeInitialize(t)
}

func (s namespacedSubscriber) Close() error { return nil }
