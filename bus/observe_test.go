package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/bus"
)

// recordingObserver keeps what the bus reports.
type recordingObserver struct {
	mu       sync.Mutex
	attempts map[string][]int
	poisoned map[string]int
	nacked   map[string]int
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{attempts: map[string][]int{}, poisoned: map[string]int{}, nacked: map[string]int{}}
}

func (o *recordingObserver) MessageHandled(handler string, attempt int, _ error, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts[handler] = append(o.attempts[handler], attempt)
}

func (o *recordingObserver) MessagePoisoned(handler string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.poisoned[handler]++
}

func (o *recordingObserver) MessageNacked(handler string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nacked[handler]++
}

func (o *recordingObserver) snapshot(handler string) ([]int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.attempts[handler]...), o.poisoned[handler]
}

func runRouter(t *testing.T, b *bus.Bus, add func(r *message.Router)) {
	t.Helper()
	r, err := b.NewRouter("observed")
	if err != nil {
		t.Fatal(err)
	}
	add(r)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = r.Run(ctx) }()
	<-r.Running()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestObserverSeesRetriesAndPoison(t *testing.T) {
	obs := newRecordingObserver()
	cfg := testConfig(bus.TransportGoChannel, "observed", "")
	cfg.Observer = obs
	b := mustOpen(t, cfg)
	var mu sync.Mutex
	runs := 0
	runRouter(t, b, func(r *message.Router) {
		r.AddConsumerHandler("flaky", "test.flaky", b.Subscriber(), func(msg *message.Message) error {
			mu.Lock()
			defer mu.Unlock()
			runs++
			if runs < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		r.AddConsumerHandler("refusing", "test.refusing", b.Subscriber(), func(msg *message.Message) error {
			return bus.Permanent(errors.New("never"))
		})
	})
	if err := b.Publisher().Publish("test.flaky", bus.NewMessage("m-1", "t", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	if err := b.Publisher().Publish("test.refusing", bus.NewMessage("m-2", "t", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three runs of the flaky handler", func() bool { a, _ := obs.snapshot("flaky"); return len(a) == 3 })
	if a, poisoned := obs.snapshot("flaky"); a[0] != 1 || a[1] != 2 || a[2] != 3 || poisoned != 0 {
		t.Fatalf("flaky: attempts %v, poisoned %d; want 1 2 3 and none", a, poisoned)
	}
	eventually(t, "the refused message poisoned", func() bool { _, p := obs.snapshot("refusing"); return p == 1 })
	if a, _ := obs.snapshot("refusing"); len(a) != 1 {
		t.Fatalf("a permanent failure ran %v times, want once (no retries)", a)
	}
}

func TestTraceContextTravelsInMetadata(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	cfg := testConfig(bus.TransportGoChannel, "traced", "")
	cfg.Tracing = tp
	b := mustOpen(t, cfg)
	seen := make(chan trace.SpanContext, 2)
	runRouter(t, b, func(r *message.Router) {
		r.AddHandler("first", "test.first", b.Subscriber(), "test.second", b.Publisher(), func(msg *message.Message) ([]*message.Message, error) {
			seen <- trace.SpanContextFromContext(msg.Context())
			return []*message.Message{bus.NewMessage("m-2", "t", []byte("{}"))}, nil
		})
		r.AddConsumerHandler("second", "test.second", b.Subscriber(), func(msg *message.Message) error {
			seen <- trace.SpanContextFromContext(msg.Context())
			return nil
		})
	})
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	msg := bus.NewMessage("m-1", "t", []byte("{}"))
	msg.SetContext(ctx)
	if err := b.Publisher().Publish("test.first", msg); err != nil {
		t.Fatal(err)
	}
	root.End()
	if msg.Metadata.Get(bus.MetadataTraceParent) == "" {
		t.Fatal("the published message carries no traceparent")
	}
	for _, h := range []string{"first", "second"} {
		select {
		case sc := <-seen:
			if sc.TraceID() != root.SpanContext().TraceID() {
				t.Fatalf("handler %s ran in trace %s, want %s", h, sc.TraceID(), root.SpanContext().TraceID())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("handler %s did not run", h)
		}
	}
	// Work the engine does later for the conversation (by correlation id) joins it too.
	_, span := b.StartSpan(context.Background(), "later", "m-1")
	span.End()
	if span.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Fatal("a span started for the conversation later is in another trace")
	}
}

func TestNoTracingLeavesMetadataAlone(t *testing.T) {
	b := mustOpen(t, testConfig(bus.TransportGoChannel, "untraced", ""))
	ctx, span := sdktrace.NewTracerProvider().Tracer("test").Start(context.Background(), "root")
	defer span.End()
	msg := bus.NewMessage("m-1", "t", []byte("{}"))
	msg.SetContext(ctx)
	if err := b.Publisher().Publish("test.nobody", msg); err != nil {
		t.Fatal(err)
	}
	if msg.Metadata.Get(bus.MetadataTraceParent) != "" {
		t.Fatal("a bus without tracing wrote a traceparent")
	}
	if _, s := b.StartSpan(context.Background(), "x", "m-1"); s.SpanContext().IsValid() {
		t.Fatal("a bus without tracing made a real span")
	}
}
