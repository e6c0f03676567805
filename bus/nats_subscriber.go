package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	watermillsync "github.com/ThreeDotsLabs/watermill/pubsub/sync"
	"github.com/nats-io/nats.go"
)

var (
	_ message.Subscriber           = (*natsSubscriber)(nil)
	_ message.SubscribeInitializer = (*natsSubscriber)(nil)
)

// natsSubscriber reads a consumer group's durable JetStream consumers, one per topic.
//
// It is ours, not watermill-nats': both of that module's subscribers close a subscription's
// output channel as soon as the context ends, while a NATS callback may still be about to send
// on it, and the send panics in a goroutine nobody can recover ("send on closed channel" on
// shutdown). Here one goroutine per subscription takes messages from a synchronous NATS
// subscription, hands them out, settles them and, once it has stopped, closes the channel: no
// send can follow the close.
type natsSubscriber struct {
	nc           *nats.Conn // this subscriber's own connection
	js           nats.JetStreamContext
	prov         *natsProvisioner
	group        string
	ackWait      time.Duration // how long a handed-out message may stay unsettled
	nakDelay     time.Duration // JetStream redelivers a nacked message after it
	closeTimeout time.Duration
	log          watermill.LoggerAdapter
	unmarshaler  natsMarshaler

	mu      sync.Mutex // guards closed and adding to running
	closed  bool
	closing chan struct{}
	running sync.WaitGroup // one per live subscription
}

// SubscribeInitialize provisions the topic's stream and the group's durable consumer.
func (s *natsSubscriber) SubscribeInitialize(topic string) error {
	return s.prov.ensureConsumer(topic, s.group)
}

// Subscribe binds to the group's durable consumer of topic (creating it if needed) and returns
// the channel of its messages. The channel closes once ctx ends or the subscriber closes, after
// the last message handed out is settled or given back.
func (s *natsSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := s.prov.ensureConsumer(topic, s.group); err != nil {
		return nil, err
	}
	// Bound to a consumer it did not create, nats.go leaves the consumer (and with it the
	// group's place in the stream) in place when the subscription ends.
	sub, err := s.js.QueueSubscribeSync(topic, s.group,
		nats.Bind(natsStreamName(topic), s.group), nats.ManualAck())
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s as %s: %w", topic, s.group, err)
	}
	out := make(chan *message.Message)
	s.running.Add(1)
	go s.consume(ctx, topic, sub, out)
	return out, nil
}

// consume is the only sender on out, and closes it when it returns.
func (s *natsSubscriber) consume(ctx context.Context, topic string, sub *nats.Subscription, out chan<- *message.Message) {
	defer s.running.Done()
	defer close(out)
	fields := watermill.LogFields{"topic": topic}
	defer func() {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			s.log.Error("Cannot unsubscribe", err, fields)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()

	for {
		m, err := sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, nats.ErrBadSubscription), errors.Is(err, nats.ErrConnectionClosed):
			s.log.Error("Subscription ended", err, fields)
			return
		case err != nil:
			// A slow-consumer notice, say: what was dropped comes again after AckWait.
			s.log.Error("Cannot take the next message", err, fields)
			continue
		}
		s.handle(ctx, m, out, fields)
	}
}

// handle hands one message out and settles it with JetStream as the consumer of out does.
func (s *natsSubscriber) handle(ctx context.Context, m *nats.Msg, out chan<- *message.Message, fields watermill.LogFields) {
	msg, err := s.unmarshaler.Unmarshal(m)
	if err != nil {
		// It cannot be read however often it comes: stop its redelivery.
		s.log.Error("Cannot unmarshal message, terminating it", err, fields)
		if err := m.Term(); err != nil {
			s.log.Error("Cannot terminate message", err, fields)
		}
		return
	}
	fields = fields.Add(watermill.LogFields{"message_uuid": msg.UUID})
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)

	select {
	case out <- msg:
	case <-ctx.Done():
		s.giveBack(m, fields)
		return
	}

	timeout := time.NewTimer(s.ackWait)
	defer timeout.Stop()
	select {
	case <-msg.Acked():
		if err := m.AckSync(); err != nil {
			s.log.Error("Cannot ack; the message will come again", err, fields)
		}
	case <-msg.Nacked():
		if err := m.NakWithDelay(s.nakDelay); err != nil {
			s.log.Error("Cannot nak; the message will come again after AckWait", err, fields)
		}
	case <-timeout.C:
		// JetStream delivers it again once its own AckWait passes.
		s.log.Info("Message not settled within AckWait", fields)
	case <-ctx.Done():
		s.giveBack(m, fields)
	}
}

// giveBack returns a message at once, so that another subscriber of the group can take it
// without waiting for AckWait.
func (s *natsSubscriber) giveBack(m *nats.Msg, fields watermill.LogFields) {
	if err := m.Nak(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		s.log.Error("Cannot give the message back; it will come again after AckWait", err, fields)
	}
}

// Close ends every subscription, waits (up to the close timeout) for their channels to close,
// and drains the connection. It is idempotent.
func (s *natsSubscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()

	var errs []error
	if watermillsync.WaitGroupTimeout(&s.running, s.closeTimeout) {
		errs = append(errs, fmt.Errorf("subscriptions of group %s still running after %s", s.group, s.closeTimeout))
	}
	if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("drain subscriber connection: %w", err))
	}
	return errors.Join(errs...)
}
