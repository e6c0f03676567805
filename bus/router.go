package bus

import (
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// NewRouter returns a Watermill router with the standard middlewares, outermost first:
//
//   - with Config.Observer or Config.Tracing: a span per message continuing the trace its
//     metadata names, and a report of each message handed back to the transport;
//   - CorrelationID: produced messages get the handled message's correlation_id;
//   - causation: produced messages get causation_id = the handled message's UUID (unless set);
//   - PoisonQueue: a message whose handler still fails after the retries is published to
//     TopicPoison (with reason_poisoned, topic_poisoned, handler_poisoned metadata) and acked;
//     if that publish fails too, the message is nacked and the transport delivers it again;
//   - a log line for each message on its way to the poison queue;
//   - Retry: the handler runs again after Config.Retry's exponential backoff, unless the error
//     is Permanent;
//   - with Config.Observer: a report of each run of the handler;
//   - Recoverer: a panicking handler becomes a failing one.
//
// Add handlers with b.Subscriber() (or another group's subscriber) and b.Publisher(), then
// Run it. The Bus closes it in Close; closing it earlier is fine.
func (b *Bus) NewRouter(name string) (*message.Router, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: b.cfg.CloseTimeout},
		b.wmLog.With(watermill.LogFields{"router": name}))
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", name, err)
	}
	poison, err := middleware.PoisonQueue(b.pub, TopicPoison)
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", name, err)
	}
	if b.cfg.Observer != nil || b.tracing != nil {
		r.AddMiddleware(b.instrument)
	}
	r.AddMiddleware(middleware.CorrelationID, causation, poison, b.logPoisoned)
	if b.cfg.Retry.MaxRetries > 0 {
		r.AddMiddleware(middleware.Retry{
			MaxRetries:      b.cfg.Retry.MaxRetries,
			InitialInterval: b.cfg.Retry.InitialInterval,
			Multiplier:      b.cfg.Retry.Multiplier,
			MaxInterval:     b.cfg.Retry.MaxInterval,
			// A retry must not outlive the message's ack deadline.
			MaxElapsedTime: b.cfg.AckTimeout / 2,
			ShouldRetry:    func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
			Logger:         b.wmLog,
		}.Middleware)
	}
	if b.cfg.Observer != nil {
		r.AddMiddleware(b.observeAttempt)
	}
	r.AddMiddleware(middleware.Recoverer)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, ErrClosed
	}
	b.routers = append(b.routers, r)
	return r, nil
}

// causation sets causation_id on every produced message that has none to the UUID of the
// message being handled.
func causation(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		produced, err := h(msg)
		for _, p := range produced {
			if p.Metadata.Get(MetadataCausationID) == "" {
				p.Metadata.Set(MetadataCausationID, msg.UUID)
			}
		}
		return produced, err
	}
}

// logPoisoned logs a message that failed for good, before PoisonQueue takes it away.
func (b *Bus) logPoisoned(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		produced, err := h(msg)
		if err != nil {
			ctx := msg.Context()
			b.log.Warn("bus: handler failed, message goes to the poison queue",
				"message_uuid", msg.UUID,
				"message_type", MessageType(msg),
				"topic", message.SubscribeTopicFromCtx(ctx),
				"handler", message.HandlerNameFromCtx(ctx),
				"error", err)
			if b.cfg.Observer != nil {
				b.cfg.Observer.MessagePoisoned(message.HandlerNameFromCtx(ctx))
			}
		}
		return produced, err
	}
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a malformed payload, an unknown
// message type): a Router handler returning it skips the retries and its message goes to the
// poison queue at once. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was made by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
