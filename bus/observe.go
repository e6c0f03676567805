package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Observer is told how the messages of every Router made by NewRouter fare, for metrics.
// Its methods must be safe for concurrent use and quick: they run in the handlers' path.
type Observer interface {
	// MessageHandled reports one run of a handler on a message: attempt counts from 1, and
	// is above 1 when the Router's retry runs the handler again.
	MessageHandled(handler string, attempt int, err error, took time.Duration)
	// MessagePoisoned reports a message that failed for good and goes to the poison topic.
	MessagePoisoned(handler string)
	// MessageNacked reports a message handed back to the transport, which delivers it again.
	MessageNacked(handler string)
}

// MetadataTraceParent carries the W3C trace context of the span that published a message
// (when tracing is on), so that what a message causes joins the same trace.
const MetadataTraceParent = "traceparent"

// propagator reads and writes the W3C trace context in message metadata.
var propagator = propagation.TraceContext{}

// metadataCarrier is message metadata as an OpenTelemetry text map.
type metadataCarrier message.Metadata

func (c metadataCarrier) Get(key string) string { return message.Metadata(c).Get(key) }
func (c metadataCarrier) Set(key, v string)     { message.Metadata(c).Set(key, v) }
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// tracing is the bus's part in following a decision across it: handlers' spans continue the
// trace named in a message's metadata, and published messages name the span they were
// published in. A decision also crosses the event log (the engine appends, its forwarder
// publishes what was appended), where no trace context is kept; the bus remembers, by
// correlation id, the last span of each conversation it saw, so that the forwarded messages
// of a conversation continue its trace when the forwarder runs in the process that handled
// the conversation's command.
type tracing struct {
	tracer trace.Tracer
	mu     sync.Mutex
	recent map[string]trace.SpanContext
	order  []string // insertion order of recent, oldest first
}

// maxRemembered bounds the conversations whose span the bus remembers.
const maxRemembered = 4096

func newTracing(tp trace.TracerProvider) *tracing {
	if tp == nil {
		return nil
	}
	return &tracing{tracer: tp.Tracer("github.com/policykit-go/policykit/bus"), recent: map[string]trace.SpanContext{}}
}

func (t *tracing) remember(correlation string, sc trace.SpanContext) {
	if correlation == "" || !sc.IsValid() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.recent[correlation]; !ok {
		if len(t.order) >= maxRemembered {
			delete(t.recent, t.order[0])
			t.order = t.order[1:]
		}
		t.order = append(t.order, correlation)
	}
	t.recent[correlation] = sc
}

func (t *tracing) lookup(correlation string) trace.SpanContext {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recent[correlation]
}

// inject writes into m's metadata the trace context of the span in m's context, or else the
// remembered span of m's conversation.
func (t *tracing) inject(m *message.Message) {
	if t == nil || m.Metadata.Get(MetadataTraceParent) != "" {
		return
	}
	ctx := m.Context()
	if !trace.SpanContextFromContext(ctx).IsValid() {
		sc := t.lookup(CorrelationID(m))
		if !sc.IsValid() {
			return
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	if m.Metadata == nil {
		m.Metadata = message.Metadata{}
	}
	propagator.Inject(ctx, metadataCarrier(m.Metadata))
}

// StartSpan starts a span of the conversation with the given correlation id, the child of the
// span in ctx or else of the conversation's last span the bus saw (see Config.Tracing); the
// caller ends it. Without tracing it returns ctx and a span that records nothing.
func (b *Bus) StartSpan(ctx context.Context, name, correlation string) (context.Context, trace.Span) {
	if b == nil || b.tracing == nil {
		return ctx, noop.Span{}
	}
	t := b.tracing
	if !trace.SpanContextFromContext(ctx).IsValid() {
		if sc := t.lookup(correlation); sc.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	ctx, span := t.tracer.Start(ctx, name)
	t.remember(correlation, span.SpanContext())
	return ctx, span
}

// conversation is the correlation id of what msg causes: its own, or else its UUID (as the
// engine names the events a command causes).
func conversation(msg *message.Message) string {
	if c := CorrelationID(msg); c != "" {
		return c
	}
	return msg.UUID
}

// attemptsKey keys the counter of a message's handler runs in its context.
type attemptsKey struct{}

// instrument is the outermost router middleware: it runs each message's handling in a span
// continuing the message's trace, and reports a message handed back to the transport.
func (b *Bus) instrument(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := msg.Context()
		handler := message.HandlerNameFromCtx(ctx)
		ctx = context.WithValue(ctx, attemptsKey{}, new(atomic.Int32))
		var span trace.Span
		if t := b.tracing; t != nil {
			parent := propagator.Extract(ctx, metadataCarrier(msg.Metadata))
			if !trace.SpanContextFromContext(parent).IsValid() {
				if sc := t.lookup(conversation(msg)); sc.IsValid() {
					parent = trace.ContextWithRemoteSpanContext(parent, sc)
				}
			}
			ctx, span = t.tracer.Start(parent, handler, trace.WithSpanKind(trace.SpanKindConsumer))
			span.SetAttributes(messageAttributes(msg, message.SubscribeTopicFromCtx(ctx))...)
			t.remember(conversation(msg), span.SpanContext())
		}
		msg.SetContext(ctx)
		produced, err := h(msg)
		if span != nil {
			for _, p := range produced {
				if p.Metadata.Get(MetadataTraceParent) == "" {
					propagator.Inject(ctx, metadataCarrier(p.Metadata))
				}
			}
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}
		if err != nil && b.cfg.Observer != nil {
			b.cfg.Observer.MessageNacked(handler)
		}
		return produced, err
	}
}

// observeAttempt runs inside the retries: it reports every run of the handler.
func (b *Bus) observeAttempt(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		start := time.Now()
		produced, err := h(msg)
		attempt := 1
		if n, ok := msg.Context().Value(attemptsKey{}).(*atomic.Int32); ok {
			attempt = int(n.Add(1))
		}
		if b.cfg.Observer != nil {
			b.cfg.Observer.MessageHandled(message.HandlerNameFromCtx(msg.Context()), attempt, err, time.Since(start))
		}
		return produced, err
	}
}

func messageAttributes(msg *message.Message, topic string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "policykit-bus"),
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.message.id", msg.UUID),
		attribute.String("policykit.message_type", MessageType(msg)),
		attribute.String("policykit.correlation_id", CorrelationID(msg)),
	}
}
